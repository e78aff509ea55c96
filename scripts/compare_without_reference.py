#!/usr/bin/env python
"""Before/after strip for a real degraded pair that has no clean counterpart (e.g. EMS/test
``vis_OE``, overexposed visible images): visible, infrared, neutral fusion, fusion with a sentence.

    python scripts/compare_without_reference.py --vis ../shared/data/EMS/test/vis_OE/00993.jpg \\
        --ir ../shared/data/EMS/test/ir/00993.jpg --text "The visible image is overexposed, please recover the highlights." \\
        -o docs/model-eval/fast-stage7/compare_overexposure_EMS-test_00993.jpg [--model NAME|DIR]

Uses the tiles and labels of ``benchmarks/eval_real.py`` so the strips look alike.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vis", type=Path, required=True)
    ap.add_argument("--ir", type=Path, required=True)
    ap.add_argument("--text", required=True)
    ap.add_argument("--model", default=None, help="preset name or checkpoint folder (default: the default model)")
    ap.add_argument("-o", "--out", type=Path, required=True, help="an image file (.png, .jpg, ...)")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    import textif
    from textif.core.io import read_image

    spec = importlib.util.spec_from_file_location("eval_real", REPO / "benchmarks" / "eval_real.py")
    eval_real = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(eval_real)

    fuser = textif.load(a.model, device="cpu", threads=a.threads, progress=False)
    vis, ir = read_image(a.vis, channels=3), read_image(a.ir, channels=1)
    neutral = fuser.fuse(vis, ir, None)
    prompted = fuser.fuse(vis, ir, a.text)
    # written atomically by textif.core.io.write_image, in the format of the suffix
    eval_real.comparison_image([vis, ir, neutral, prompted],
                               ["visible (degraded)", "infrared", "fused, neutral prompt", f'fused: "{a.text}"'], a.out)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
