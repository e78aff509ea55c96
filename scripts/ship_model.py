"""Copy a trained checkpoint folder into the package as a named model, weights in fp16.

    python scripts/ship_model.py runs/textif-small/model textif-small [--card docs/model-card.md]

Writes ``textif/weights/<name>/{config.json, model.safetensors, text_cache.safetensors, MODEL_CARD.md}``.
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch

from textif.models.hub import WEIGHTS_DIR, from_pretrained, save_pretrained
from textif.models.provenance import lineage, total_steps, total_train_hours


def provenance(training: dict) -> dict:
    """The run's record with its full lineage and totals (older exports nested the previous stage
    under ``init_training``; they are flattened into ``lineage``). Every other key of the export
    (e.g. ``preference``, the slider's scale) is kept as it is."""
    chain = lineage(training)
    kept = {k: v for k, v in training.items() if k != "init_training"}
    return {**kept, **chain[-1], "lineage": chain, "total_steps": total_steps(training),
            "total_train_hours": total_train_hours(training)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("name")
    ap.add_argument("--card", default=None, help="model card (Markdown) to ship beside the weights")
    ap.add_argument("--out", default=None, help="write here instead of textif/weights/<name> (e.g. a stage's fp16 weights kept in checkpoints/ to continue from next session)")
    a = ap.parse_args()
    ck = from_pretrained(a.checkpoint)
    training = provenance(ck.training)
    out = WEIGHTS_DIR / a.name if a.out is None else Path(a.out)
    save_pretrained(ck.model, out, name=a.name, text_encoder=ck.text_encoder, training=training,
                    dtype=torch.float16, text_cache=ck.text_cache)
    if a.card:
        shutil.copyfile(a.card, out / "MODEL_CARD.md")
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"shipped {a.name} to {out} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
