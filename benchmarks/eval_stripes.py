"""Infrared stripes on real images without ground truth: how much column stripe pattern is left in
the fused image, with the neutral prompt and with the sentence that names the stripes.

The real validation set's stripe cases (EMS hold-out) have infrared images so dark (mean
0.03–0.16) that the stripes hardly reach the fusion, so PSNR there says little. The EMS/test pairs listed
with ``ir_SN`` in ``EMS/test_pairs.csv`` have visible infrared content and no clean counterpart.

Stripe index: the standard deviation, over the columns, of each column's mean horizontal
high-pass (the image minus its 9-pixel horizontal box mean), in grey levels of the luminance.
A column offset of ``d`` grey levels on a flat image gives an index of about ``d``; scene edges
average out along a column. The input's index is that of the infrared image itself.

    python benchmarks/eval_stripes.py --out docs/model-eval/stripes [--model textif-fast]

Prints one row per pair and the mean, and writes ``stripes.json`` and a crop comparison image
(infrared input | fused, neutral | fused, stripe sentence) per pair, of the window where the
infrared stripes show most (its index is reported too).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: EMS test folder -> task (the visible part of a composite pair)
FOLDER_TASKS = {"ir_SN": "ir_stripe", "vis_LL": "low_light", "vis_Rain": "rain", "vis_RN": "noise",
                "vis_Blur": "blur", "vis_OE": "overexposure", "vis_haze": "haze"}


def stripe_index(y: np.ndarray, width: int = 9) -> float:
    """Column stripe index of a luminance image.

    Args:
        y: ``(H, W)`` float in [0, 1].
        width: horizontal box width of the high-pass (odd).

    Returns:
        the standard deviation over columns of the column means of ``y - box_w(y)``, in grey
        levels (``* 255``).
    """
    import cv2

    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 2 or y.shape[1] < width:
        raise ValueError(f"stripe_index: expected (H, W) with W >= {width}, got {y.shape}")
    smooth = cv2.blur(y, (width, 1), borderType=cv2.BORDER_REFLECT)
    cols = (y - smooth).mean(axis=0)
    return float(cols.std() * 255.0)


def stripe_pairs(data: Path) -> list[tuple[str, Path, Path, str]]:
    """``(scene, vis path, ir path, task)`` for the EMS/test pairs whose infrared image has stripes."""
    table = data / "EMS" / "test_pairs.csv"
    if not table.is_file():
        raise FileNotFoundError(f"{table}: not found (the EMS test pairing table)")
    out = []
    with table.open(newline="") as fh:
        for row in csv.DictReader(fh):
            parts = row["degradation"].split("+")
            if "ir_SN" not in parts:
                continue
            tasks = [FOLDER_TASKS[p] for p in parts if p in FOLDER_TASKS]
            vis_tasks = [t for t in tasks if t != "ir_stripe"]
            task = "+".join(vis_tasks + ["ir_stripe"])
            out.append((row["scene"], data / "EMS" / "test" / row["vis_file"], data / "EMS" / "test" / row["ir_file"],
                        task))
    return out


def stripe_window(y: np.ndarray, size: int = 200) -> tuple[int, int, int]:
    """``(top, left, side)`` of the square window (on a half-side grid) where the infrared image's
    stripes show most: the largest stripe index times the window's contrast (a striped flat
    black sky counts less than a striped person). ``y``: ``(H, W)`` float in [0, 1]."""
    h, w = y.shape
    s = min(size, h, w)
    best, best_xy = -1.0, (0, 0)
    for top in range(0, h - s + 1, max(1, s // 2)):
        for left in range(0, w - s + 1, max(1, s // 2)):
            win = y[top:top + s, left:left + s]
            v = stripe_index(win) * float(win.std())
            if v > best:
                best, best_xy = v, (top, left)
    return best_xy[0], best_xy[1], s


def _crop_strip(images: list[np.ndarray], window: tuple[int, int, int], zoom: int = 2):
    """The images' (float in [0, 1], gray or RGB) crops of ``window``, zoomed, side by side."""
    from PIL import Image

    from textif.core.io import to_rgb

    top, left, s = window
    strip = Image.new("RGB", (len(images) * (s * zoom + 8) - 8, s * zoom), "white")
    for i, im in enumerate(images):
        tile = (to_rgb(im)[top:top + s, left:left + s] * 255.0 + 0.5).clip(0, 255).astype(np.uint8)
        strip.paste(Image.fromarray(tile).resize((s * zoom, s * zoom), Image.NEAREST), (i * (s * zoom + 8), 0))
    return strip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="preset name or checkpoint folder (default: the shipped model)")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "model-eval" / "stripes")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    import textif
    from textif.core.io import atomic_write, read_image, to_gray
    from textif.data.prompts import suggested_prompts

    try:
        pairs = stripe_pairs(args.data)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not pairs:
        print(f"error: no ir_SN pairs in {args.data / 'EMS' / 'test_pairs.csv'}", file=sys.stderr)
        return 2
    prompts = suggested_prompts(include_composites=True)
    fuser = textif.load(args.model, device="cpu", threads=args.threads, progress=False)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    t0 = time.perf_counter()
    print(f"{'':31s} {'whole image':^28s} {'window with the most stripes':^29s}")
    print(f"{'scene':10s} {'task':20s} {'IR input':>9s} {'neutral':>8s} {'sentence':>9s}"
          f" {'IR input':>10s} {'neutral':>8s} {'sentence':>9s}")
    for scene, vis_p, ir_p, task in pairs:
        vis, ir = read_image(vis_p, channels=3), read_image(ir_p, channels=1)
        neutral = fuser.fuse(vis, ir, None)
        fixed = fuser.fuse(vis, ir, prompts[task])
        lum = {"ir_input": ir, "neutral": to_gray(neutral), "sentence": to_gray(fixed)}
        top, left, side = win = stripe_window(ir)
        row = {"scene": scene, "task": task, "sentence": prompts[task], "ir_mean": float(ir.mean()),
               "ir_input": stripe_index(lum["ir_input"]), "neutral": stripe_index(lum["neutral"]),
               "sentence_index": stripe_index(lum["sentence"]), "window": [top, left, side],
               **{f"window_{k}": stripe_index(y[top:top + side, left:left + side]) for k, y in lum.items()}}
        rows.append(row)
        print(f"{scene:10s} {task:20s} {row['ir_input']:9.2f} {row['neutral']:8.2f} {row['sentence_index']:9.2f}"
              f" {row['window_ir_input']:10.2f} {row['window_neutral']:8.2f} {row['window_sentence']:9.2f}")
        strip = _crop_strip([ir, neutral, fixed], win)
        atomic_write(args.out / f"stripes_{scene}.png", lambda p, s=strip: s.save(p, format="PNG"))
    keys = ("ir_input", "neutral", "sentence_index", "window_ir_input", "window_neutral", "window_sentence")
    mean = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    print(f"{'mean':31s} " + " ".join(f"{mean[k]:{w}.2f}" for k, w in zip(keys, (9, 8, 9, 10, 8, 9))))
    report = {"model": args.model or "default", "pairs": rows, "mean": mean,
              "seconds": round(time.perf_counter() - t0, 1)}
    atomic_write(args.out / "stripes.json", lambda p: p.write_text(json.dumps(report, indent=1) + "\n"))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
