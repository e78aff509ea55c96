"""Write a model card from a checkpoint's provenance and ``benchmarks/eval_model.py``'s outputs.

    python scripts/model_card.py textif/weights/textif-small docs/model-eval -o docs/model-card.md \
        --package-copy textif/weights/textif-small/MODEL_CARD.md
"""
from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def _configs() -> tuple[tuple[Path, dict], ...]:
    import yaml

    return tuple((f, yaml.safe_load(f.read_text()) or {}) for f in sorted((REPO / "configs").glob("*.yaml")))


def _config_file(cfg: dict) -> str:
    """The config in ``configs/`` that trains into the same ``out_dir`` from the same start."""
    found = [(f, c) for f, c in _configs() if c.get("out_dir") == cfg.get("out_dir")]
    found.sort(key=lambda fc: fc[1].get("init_from") != cfg.get("init_from"))
    if found:
        return f"configs/{found[0][0].name}"
    return f"<config with out_dir {cfg.get('out_dir')}>"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("eval_dir")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--package-copy", default=None,
                    help="also write a copy with links rewritten for its folder (e.g. textif/weights/textif-small/MODEL_CARD.md)")
    a = ap.parse_args()
    meta = json.loads((Path(a.checkpoint) / "config.json").read_text())
    t = meta["training"]
    cfg = t.get("config", {})
    report = (Path(a.eval_dir) / "report.md").read_text()
    rel = Path(a.eval_dir).name
    report = report.replace("](compare_", f"]({rel}/compare_")
    data = "\n".join(
        f"- `{s.get('kind')}`: {s.get('vis') or s.get('root')}" + (f" + {s['ir']}" if s.get("ir") else "")
        + (f", excluding `{s['exclude']}`" if s.get("exclude") else "") + (f", repeated ×{s['repeat']}" if s.get("repeat", 1) > 1 else "")
        for s in t.get("data", [])
    )
    stages = ""
    chain = []
    node = t
    while node:
        chain.append(node)
        node = node.get("init_training")
    if len(chain) > 1:
        parts = []
        outs = {str(Path(st.get("config", {}).get("out_dir", "")) / "model"): i + 1 for i, st in enumerate(reversed(chain))}

        def weights_text(w: dict | None) -> str:
            extra = {k: v for k, v in (w or {}).items() if v != 1}
            return ("uniform except " + ", ".join(f"{k} ×{v}" for k, v in extra.items())) if extra else "uniform"

        def teacher_text(c: dict) -> str:
            src = c.get("teacher") or c.get("init_from")
            return f"stage-{outs[src]} model" if src in outs else f"model `{src}`"

        for i, st in enumerate(reversed(chain)):
            c = st.get("config", {})
            parts.append(
                f"{i + 1}. {st.get('steps')} steps {'from scratch' if i == 0 else 'of fine-tuning'} "
                f"(loss weights `{c.get('loss_weights', 'paper')}`, lr {c.get('optim', {}).get('lr')}, "
                f"keep_prob {c.get('data', {}).get('keep_prob')}, degradation sampling "
                f"{weights_text(c.get('data', {}).get('degradation_weights'))}"
                + (f", mismatched prompts {c['data']['mismatch_prob']}" if c.get("data", {}).get("mismatch_prob") else "")
                + (f", consistency weight {c['consistency_weight']} to the frozen {teacher_text(c)}"
                   if c.get("consistency_weight") else "")
                + f"; {st.get('train_hours')} h)"
            )
        stages = (
            "Stages:\n\n" + "\n".join(parts) + f"\n\nIn all {t.get('total_steps')} steps, {t.get('total_train_hours')} h of "
            f"training-step wall time on 2 CPU threads (about {2 * float(t.get('total_train_hours', 0)):.1f} CPU-hours).\n\n"
        )
    reproduce = "\n".join(f"{i + 1}. `textif train --config {_config_file(st.get('config', {}))}`"
                          for i, st in enumerate(reversed(chain)))
    d = cfg.get("data", {})
    o = cfg.get("optim", {})
    mismatch = (f"; then {round(100 * d['mismatch_prob'])} % of all samples get a prompt naming a degradation the input "
                "does not have, with the input as reference" if d.get("mismatch_prob") else "")
    card = f"""# Model card: {meta['name']}

The default model of textif: the `{meta['name']}` preset ({meta['parameters'] / 1e6:.2f} M parameters), trained
from scratch with the paper's losses on the project's shared data (then fine-tuned, see the stages), text encoder `{meta['text_encoder']['name']}`
({meta['text_encoder']['dim']}-d, frozen, not part of the weights). Weights are stored in fp16.

## Training

{stages}| | |
|---|---|
| steps (last stage) | {t.get('steps')} (batch {t.get('batch_size')}, {t.get('crop')}×{t.get('crop')} random crops, {t.get('world_size', 1)} process) |
| time (last stage) | {t.get('train_hours')} h of training-step wall time |
| hardware | {t.get('hardware')} (shared with other work during the run) |
| optimiser | AdamW, lr {o.get('lr')}, weight decay {o.get('weight_decay')}, {o.get('warmup_steps')} warm-up steps, cosine decay to {o.get('min_lr_ratio')}× |
| samples | {round(100 * (1 - d.get('degrade_prob', 0)))} % clean pairs with a neutral prompt; {round(100 * d.get('degrade_prob', 0))} % synthetic degradations, of which {round(100 * d.get('composite_prob', 0))} % composites and {round(100 * d.get('keep_prob', 0))} % paired with a neutral prompt and the degraded images as references ("fuse as is"){mismatch}; EMS real degraded/clean pairs |
| torch | {t.get('torch')} |

Data (`../shared/data`; RoadScene validation split never used for training):

{data}

Why these stages: [training-history.md](training-history.md).

Reproduce, one stage after the other (each starts from the previous stage's `model/` folder):

{reproduce}

## Evaluation

Produced by `python benchmarks/eval_model.py` (figures measured on the development machine, CPU).

{report}

## Limits

- Trained for a short time on a CPU, on small public sets (a few hundred pairs): restoration of
  strong degradations is partial; check the images above.
- Text is understood through a frozen sentence encoder: phrasings far from the training bank
  (see the held-out column) may be followed less reliably. `benchmarks/prompt_understanding.py`
  measures the encoder alone: MiniLM puts 74–97 % of unseen *training-style* sentences nearest
  their own degradation type, but only 22–78 % of the held-out wordings (blur 38 %, mostly taken
  for overexposure; visible noise 22 %; infrared noise 25 %, taken for low contrast).
- Research data (RoadScene/FLIR, TNO, MSRS, LLVIP, M3SVD, EMS): research use; cite the datasets.
"""
    Path(a.output).write_text(card)
    print(f"wrote {a.output}")
    if a.package_copy:
        # the copy shipped beside the weights links back into docs/
        up = Path(*[".."] * len(Path(a.package_copy).resolve().parent.relative_to(REPO).parts), Path(a.output).resolve().parent.relative_to(REPO))
        copy = card.replace(f"]({rel}/", f"]({up.as_posix()}/{rel}/").replace("](training-history.md)", f"]({up.as_posix()}/training-history.md)")
        Path(a.package_copy).write_text(copy)
        print(f"wrote {a.package_copy}")


if __name__ == "__main__":
    main()
