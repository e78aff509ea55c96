#!/usr/bin/env python
"""`--text auto` against the correct suggested prompt, with the shipped fusion model.

    PYTHONPATH=$PWD python scripts/eval_auto_text.py --out docs/detector-eval/auto_text.json

For degraded pairs with a clean counterpart (EMS/train hold-out scenes, M3SVD vis_blur /
ir_noise, DRMF/val), the reference is the neutral fusion of the clean pair; the script reports
PSNR(auto output, reference) - PSNR(output with the correct suggested prompt, reference).
For clean pairs (RoadScene val split) it reports how often auto chose the neutral prompt and
PSNR(auto output, neutral output).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from textif.core.io import read_image
from textif.data.degradations import composite_name
from textif.data.prompts import NEUTRAL_PROMPT, suggested_prompts
from textif.detect import Detector
from textif.detect.sets import EMS_FOLDERS, ems_holdout
from textif.inference.fuser import load

SUG = suggested_prompts(include_composites=True)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def degraded_cases(root: Path, m3svd_every: int) -> list[tuple[str, Path, Path, Path, Path, str]]:
    """(source, deg_vis, deg_ir, clean_vis, clean_ir, task)."""
    out = []
    for scene in sorted(ems_holdout()):
        base = root / "EMS" / "train"
        cv, ci = base / "vis" / f"{scene}.png", base / "ir" / f"{scene}.png"
        for folder, (mod, types) in EMS_FOLDERS.items():
            p = base / folder / f"{scene}.png"
            if not types or not p.is_file():
                continue
            out.append(("EMS/holdout", p if mod == "vis" else cv, p if mod == "ir" else ci, cv, ci, types[0]))
    names = sorted(p.name for p in (root / "M3SVD" / "vis").iterdir())[::m3svd_every]
    for n in names:
        m = root / "M3SVD"
        out.append(("M3SVD", m / "vis_blur" / n, m / "ir" / n, m / "vis" / n, m / "ir" / n, "blur"))
        out.append(("M3SVD", m / "vis" / n, m / "ir_noise" / n, m / "vis" / n, m / "ir" / n, "ir_stripe+ir_noise"))
    for p in sorted((root / "DRMF" / "val" / "vis").iterdir()):
        d = root / "DRMF" / "val"
        out.append(("DRMF/val", d / "vis_degraded" / p.name, d / "ir_degraded" / p.name, d / "vis" / p.name,
                    d / "ir" / p.name, "noise+ir_noise"))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--model", default=None)
    ap.add_argument("--out", type=Path, default=Path("docs/detector-eval/auto_text.json"))
    ap.add_argument("--m3svd-every", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--detector", type=Path, default=None, help="detector folder (default: the shipped one)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    fuser = load(args.model, device="cpu")
    det = Detector.load(args.detector)
    rd = lambda p, c: read_image(p, channels=c)  # noqa: E731
    ref_cache: dict[tuple[str, str], np.ndarray] = {}
    rows = []
    for src, dv, di, cv, ci, task in degraded_cases(args.data, args.m3svd_every):
        key = (str(cv), str(ci))
        if key not in ref_cache:
            ref_cache[key] = fuser.fuse(rd(cv, 3), rd(ci, 1), NEUTRAL_PROMPT)
        ref = ref_cache[key]
        v, i = rd(dv, 3), rd(di, 1)
        d = det.diagnose(v, i)
        task = composite_name(task.split("+"))
        correct = SUG[task]
        out_c = fuser.fuse(v, i, correct)
        out_a = out_c if d.text == correct else fuser.fuse(v, i, d.text)
        pa, pc = psnr(out_a, ref), psnr(out_c, ref)
        rows.append({"source": src, "pair": dv.name, "task": task, "auto": d.task, "psnr_auto": pa, "psnr_correct": pc,
                     "delta": pa - pc})
        shown = dv if dv != cv else di
        print(f"{src:12s} {shown.parent.name + '/' + shown.name:30s} true {task:22s} auto {d.task:24s} "
              f"{pa:6.2f} vs {pc:6.2f} dB", flush=True)
    summary: dict = {"degraded": {}}
    by = defaultdict(list)
    for r in rows:
        by[r["source"]].append(r)
    for s, rs in by.items():
        dl = np.array([r["delta"] for r in rs])
        summary["degraded"][s] = {"n": len(rs), "mean_delta_db": float(dl.mean()), "worst_delta_db": float(dl.min()),
                                  "within_0.5db": float(np.mean(dl >= -0.5)),
                                  "same_sentence": float(np.mean([r["auto"] == r["task"] for r in rs]))}
    clean = []
    names = (args.data / "splits" / "roadscene_val.txt").read_text().split()
    for n in names:
        v = rd(args.data / "RoadScene" / "vis" / n, 3)
        i = rd(args.data / "RoadScene" / "ir" / n, 1)
        d = det.diagnose(v, i)
        if d.text == NEUTRAL_PROMPT:
            clean.append({"pair": n, "auto": d.task, "psnr_to_neutral": float("inf")})
            continue
        a = fuser.fuse(v, i, d.text)
        ne = fuser.fuse(v, i, NEUTRAL_PROMPT)
        clean.append({"pair": n, "auto": d.task, "psnr_to_neutral": psnr(a, ne)})
    fin = [c["psnr_to_neutral"] for c in clean if np.isfinite(c["psnr_to_neutral"])]
    summary["clean_roadscene_val"] = {"n": len(clean), "neutral_chosen": float(np.mean([c["auto"] == "fusion" for c in clean])),
                                      "psnr_to_neutral_when_not_neutral_mean": float(np.mean(fin)) if fin else None,
                                      "psnr_to_neutral_when_not_neutral_min": float(np.min(fin)) if fin else None}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"model": fuser.name, "model_path": str(fuser.model_path), "detector": str(args.detector or "shipped"),
            "m3svd_every": args.m3svd_every}
    args.out.write_text(json.dumps({"meta": meta, "summary": summary, "degraded": rows, "clean": clean}, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
