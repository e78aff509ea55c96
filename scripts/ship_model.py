"""Copy a trained checkpoint folder into the package as a named model, weights in fp16.

    python scripts/ship_model.py runs/textif-small/model textif-small [--card docs/model-card.md]

Writes ``textif/weights/<name>/{config.json, model.safetensors, text_cache.safetensors, MODEL_CARD.md}``.
"""
from __future__ import annotations

import argparse
import shutil

import torch
from pathlib import Path

from textif.models.hub import WEIGHTS_DIR, from_pretrained, save_pretrained


def provenance(training: dict) -> dict:
    """A run's provenance with that of the runs it was fine-tuned from (``init_training``) and totals."""
    t = dict(training)
    init = t.get("config", {}).get("init_from")
    base = t.get("init_training")
    if base is None and init and Path(init).is_dir():
        base = provenance(from_pretrained(init).training)
        t["init_training"] = base
    if base is not None:
        t["total_steps"] = int(t.get("steps", 0)) + int(base.get("total_steps", base.get("steps", 0)))
        t["total_train_hours"] = round(
            float(t.get("train_hours", 0)) + float(base.get("total_train_hours", base.get("train_hours", 0))), 3
        )
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("name")
    ap.add_argument("--card", default=None, help="model card (Markdown) to ship beside the weights")
    a = ap.parse_args()
    ck = from_pretrained(a.checkpoint)
    training = provenance(ck.training)
    out = WEIGHTS_DIR / a.name
    save_pretrained(ck.model, out, name=a.name, text_encoder=ck.text_encoder, training=training,
                    dtype=torch.float16, text_cache=ck.text_cache)
    if a.card:
        shutil.copyfile(a.card, out / "MODEL_CARD.md")
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"shipped {a.name} to {out} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
