#!/usr/bin/env python
"""Calibrate the detector's decision thresholds on real clean images the evaluation never uses.

    python scripts/calibrate_detector.py --out checkpoints/detector-calibrated
    python scripts/calibrate_detector.py --detector checkpoints/detector-run4 --out DIR --max-false 0.05

Each type's threshold is raised (never lowered) until at most ``--max-false`` of the calibration
images without that type reach it, within every source (RoadScene training split, the TNO half
the detector trains on, EMS/train outside the hold-out; ``textif.detect.sets.calibration_images``).
The weights are copied unchanged; ``DIR/calibration.json`` (or ``--report``) records the figures. Evaluate the
result with ``scripts/eval_detector.py --detector DIR`` and ``scripts/eval_auto_text.py --detector DIR``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from textif.core.errors import TextIFError
from textif.core.io import atomic_write
from textif.detect import Detector
from textif.detect.calibration import calibrate_thresholds, image_probabilities, write_calibrated
from textif.detect.sets import calibration_images


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f} %"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--detector", type=Path, default=None, help="detector folder (default: the shipped one)")
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, required=True, help="folder for the calibrated detector")
    ap.add_argument("--max-false", type=float, default=0.05)
    ap.add_argument("--cap", type=float, default=0.99)
    ap.add_argument("--pooled", action="store_true", help="one limit over all sources instead of one per source")
    ap.add_argument("--unseen-only", action="store_true",
                    help="only the RoadScene calibration half and the TNO half (for a detector trained with "
                         "scripts/train_detector.py --keep-out-calibration)")
    ap.add_argument("--report", type=Path, default=None, help="figures as JSON (default: OUT/calibration.json)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    if not 0.0 <= args.max_false < 1.0:
        print(f"error: --max-false must be in [0, 1), got {args.max_false}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    try:
        det = Detector.load(args.detector)
    except TextIFError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    src = det.checkpoint.path
    images = calibration_images(args.data, unseen_only=args.unseen_only)
    if not images:
        print(f"error: no calibration images under {args.data}", file=sys.stderr)
        return 2
    data = image_probabilities(det, images)
    for path, msg in data.pop("failed"):
        print(f"skipped {path}: {msg}", file=sys.stderr)
    types = list(data)
    res = calibrate_thresholds({t: data[t][0] for t in types}, {t: data[t][1] for t in types}, det.checkpoint.thresholds,
                               groups=None if args.pooled else {t: data[t][2] for t in types},
                               max_false=args.max_false, cap=args.cap)
    per_source = {t: {s: {"n": n, "false_alarms_before": fb, "false_alarms_after": fa}
                      for s, (n, fb, fa) in sorted(res.per_source[t].items())} for t in types}
    print(f"{'type':16s} {'threshold':>17s} {'false alarms':>15s} {'recall':>20s}  n without / with")
    for t in types:
        fb, fa = res.false_alarms[t]
        rb, ra = res.recall[t]
        print(f"{t:16s} {res.before[t]:7.3f} -> {res.thresholds[t]:6.4f} {_pct(fb):>6s} -> {_pct(fa):>5s} "
              f"{_pct(rb):>9s} -> {_pct(ra):>6s}   {res.counts[t][0]} / {res.counts[t][1]}")
    how = "pooled" if args.pooled else "within every source"
    what = ("the RoadScene calibration half and the TNO half, unseen in training" if args.unseen_only else
            "RoadScene training split, TNO detector half, EMS/train outside the hold-out")
    note = (f"scripts/calibrate_detector.py: raised until at most {args.max_false:g} false alarms {how} on "
            f"{len(images)} real calibration images ({what}); before: {json.dumps(res.before)}")
    write_calibrated(src, args.out, res, note)
    report = {"detector": str(src), "max_false": args.max_false, "per_source": not args.pooled, "cap": args.cap,
              "images": len(images), "thresholds": res.thresholds, "before": res.before,
              "false_alarms": res.false_alarms, "recall": res.recall, "counts": res.counts,
              "false_alarms_per_source": per_source}
    rep = args.report or args.out / "calibration.json"
    atomic_write(rep, lambda p: p.write_text(json.dumps(report, indent=1) + "\n"))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
