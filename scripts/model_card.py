"""Write a model card from a checkpoint's provenance and ``benchmarks/eval_model.py``'s outputs.

    python scripts/model_card.py textif/weights/textif-small docs/model-eval -o docs/model-card.md \
        --package-copy textif/weights/textif-small/MODEL_CARD.md
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from textif.models.provenance import lineage, total_steps, total_train_hours  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("eval_dir")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--intro", default=None, help="a Markdown file with the card's opening paragraph (default: the default model's)")
    ap.add_argument("--real-eval", default=None,
                    help="benchmarks/eval_real.py's output folder (its report.md) or report file, added as a section")
    ap.add_argument("--package-copy", default=None,
                    help="also write a copy with links rewritten for its folder (e.g. textif/weights/textif-small/MODEL_CARD.md)")
    a = ap.parse_args()
    meta = json.loads((Path(a.checkpoint) / "config.json").read_text())
    t = meta["training"]
    cfg = t.get("config", {})
    report = (Path(a.eval_dir) / "report.md").read_text()
    rel = Path(os.path.relpath(a.eval_dir, Path(a.output).parent)).as_posix()  # links from the card's folder
    report = report.replace("](compare_", f"]({rel}/compare_")
    data = "\n".join(
        f"- `{s.get('kind')}`: {s.get('vis') or s.get('root')}" + (f" + {s['ir']}" if s.get("ir") else "")
        + (f", excluding `{s['exclude']}`" if s.get("exclude") else "") + (f", repeated ×{s['repeat']}" if s.get("repeat", 1) > 1 else "")
        for s in t.get("data", [])
    )
    chain = lineage(t)
    by_config = {st.get("config_file"): st.get("stage", i + 1) for i, st in enumerate(chain)}

    def weights_text(w: dict | None) -> str:
        extra = {k: v for k, v in (w or {}).items() if v != 1}
        return ("uniform except " + ", ".join(f"{k} ×{v}" for k, v in extra.items())) if extra else "uniform"

    def model_text(path: str | None, config_file: str | None) -> str:
        return f"stage-{by_config[config_file]} model" if config_file in by_config else f"model `{path}`"

    parts = []
    for i, st in enumerate(chain):
        c = st.get("config", {})
        start = "from scratch" if not st.get("init_from") else f"from the {model_text(st['init_from'], st.get('init_from_config'))}"
        before = chain[i - 1].get("config", {}).get("model") if i else None
        if before and c.get("model") != before:
            start += f", grown into `{c.get('model')}`"
        if c.get("train_only"):
            start += f", training only {', '.join(f'`{x}`' for x in c['train_only'])} (the rest frozen)"
        parts.append(
            f"{st.get('stage', i + 1)}. `{st.get('config_file')}`: {st.get('steps')} steps {start} "
            f"(loss weights `{c.get('loss_weights', 'paper')}`, lr {c.get('optim', {}).get('lr')}, "
            f"keep_prob {c.get('data', {}).get('keep_prob')}, degradation sampling "
            f"{weights_text(c.get('data', {}).get('degradation_weights'))}"
            + (f", mismatched prompts {c['data']['mismatch_prob']}" if c.get("data", {}).get("mismatch_prob") else "")
            + (f" naming absent types weighted {', '.join(f'{k} ×{v:g}' for k, v in c['data']['mismatch_weights'].items())}"
               if c.get("data", {}).get("mismatch_prob") and c.get("data", {}).get("mismatch_weights") else "")
            + (f", consistency weight {c['consistency_weight']} to the frozen "
               f"{model_text(st.get('teacher'), st.get('teacher_config'))}" if c.get("consistency_weight") else "")
            + (f", distilled from the frozen {model_text(st.get('teacher'), st.get('teacher_config'))} (weight "
               f"{c['distill_weight']}, Sobel term {c.get('distill_gradient_weight', 0.0)})" if c.get("distill_weight") else "")
            + (f", modality preference on {round(100 * c['preference']['prob'])} % of the samples"
               if (c.get("preference") or {}).get("prob") else "")
            + (f", text-embedding noise up to {c['text_noise']}" if c.get("text_noise") else "")
            + f", batch {c.get('batch_size')} of {c.get('data', {}).get('crop')}-pixel crops"
            + f"; {st.get('train_hours')} h)" + (f". Note: {st['note']}" if st.get("note") else "")
        )
    stages = (
        "Stages (from the lineage recorded in the checkpoint's `config.json`):\n\n" + "\n".join(parts)
        + f"\n\nIn all {total_steps(t)} steps, {total_train_hours(t)} h of training-step wall time on 2 CPU threads "
        f"(about {2 * total_train_hours(t):.1f} CPU-hours).\n\n"
    )
    reproduce = "\n".join(f"{st.get('stage', i + 1)}. `textif train --config {st.get('config_file')}`" for i, st in enumerate(chain))
    d = cfg.get("data", {})
    o = cfg.get("optim", {})
    mismatch = (f"; then {round(100 * d['mismatch_prob'])} % of all samples get a prompt naming a degradation the input "
                "does not have, with the input as reference" if d.get("mismatch_prob") else "")
    intro = Path(a.intro).read_text().strip() + "\n" if a.intro else f"""The default model of textif: the `{meta['name']}` preset ({meta['parameters'] / 1e6:.2f} M parameters), trained
from scratch with the paper's losses on the project's shared data (then fine-tuned, see the stages), text encoder `{meta['text_encoder']['name']}`
({meta['text_encoder']['dim']}-d, frozen, not part of the weights). Weights are stored in fp16.
"""
    real = ""
    if a.real_eval:
        real_file = Path(a.real_eval) if Path(a.real_eval).is_file() else Path(a.real_eval) / "report.md"
        real_rel = Path(os.path.relpath(real_file.parent, Path(a.output).parent)).as_posix()
        body = real_file.read_text()
        body = body.replace("](", f"]({real_rel}/").replace(f"]({real_rel}/http", "](http")
        real = "\n## Real degraded pairs (the issue-9 validation set)\n\n" + body.split("\n", 1)[1] + "\n"
    card = f"""# Model card: {meta['name']}

{intro}
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

Reproduce, one stage after the other (each config names the stage it starts from with
`init_from: {{config: ...}}` and trains into its own `runs/` folder; configs share `configs/base.yaml`):

{reproduce}

## Evaluation

Produced by `python benchmarks/eval_model.py` (figures measured on the development machine, CPU).

{report}
{real}
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
        if a.real_eval and real_rel != rel:  # (the same folder was rewritten above)
            copy = copy.replace(f"]({real_rel}/", f"]({up.as_posix()}/{real_rel}/")
        Path(a.package_copy).write_text(copy)
        print(f"wrote {a.package_copy}")


if __name__ == "__main__":
    main()
