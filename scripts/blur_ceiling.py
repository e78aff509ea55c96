"""What classical sharpening of the blurred visible image buys after fusion: a ceiling for blur.

    python scripts/blur_ceiling.py [--model textif-fast] [--data ../shared/data] [--every 3]
        [--limit N] [--threads 2] [--json out.json]

For every ``--every``-th M3SVD frame with a blurred visible image (the real blur of the validation
set), the reference is the model's neutral fusion of the clean pair, as in
``benchmarks/eval_real.py``. The blurred pair is fused (a) with the neutral prompt, (b) with the
suggested blur prompt, and (c) neutrally after a classical, non-learned sharpening of the blurred
visible image: unsharp masks (image + amount x (image - its Gaussian blur)) and a Wiener
deconvolution with a Gaussian kernel (scikit-image). Prints the mean PSNR to the reference and the
gain over the neutral fusion per method: what a filter tuned for this blur gets without learning,
i.e. how much of issue 9's 1.5 dB target for blur a per-pixel sharpening can reach.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: name -> (kind, sigma, amount or Wiener balance)
METHODS = {
    "unsharp s1.0 x1.5": ("unsharp", 1.0, 1.5),
    "unsharp s1.5 x1.0": ("unsharp", 1.5, 1.0),
    "unsharp s1.5 x2.0": ("unsharp", 1.5, 2.0),
    "wiener s1.4 b0.01": ("wiener", 1.4, 0.01),
}


def unsharp(img: np.ndarray, sigma: float, amount: float) -> np.ndarray:
    """``img + amount * (img - GaussianBlur(img, sigma))`` clipped to [0, 1]; ``img`` ``(H, W[, C])``
    float in [0, 1]."""
    import cv2

    return np.clip(img + amount * (img - cv2.GaussianBlur(img, (0, 0), sigma)), 0, 1).astype(np.float32)


def wiener_gauss(img: np.ndarray, sigma: float, balance: float) -> np.ndarray:
    """Wiener deconvolution of each channel with a Gaussian kernel of ``sigma`` px (scikit-image)."""
    from skimage.restoration import wiener

    import cv2

    g = cv2.getGaussianKernel(2 * int(3 * sigma + 1) + 1, sigma, cv2.CV_64F)
    k = g @ g.T
    chans = img[..., None] if img.ndim == 2 else img
    out = np.stack([wiener(chans[..., c], k, balance) for c in range(chans.shape[-1])], -1)
    return np.clip(out if img.ndim == 3 else out[..., 0], 0, 1).astype(np.float32)


def sharpen(img: np.ndarray, method: str) -> np.ndarray:
    kind, sigma, p = METHODS[method]
    return unsharp(img, sigma, p) if kind == "unsharp" else wiener_gauss(img, sigma, p)


def _eval_real():
    spec = importlib.util.spec_from_file_location("eval_real", ROOT / "benchmarks" / "eval_real.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


psnr = _eval_real().psnr  # the validation's own PSNR (RGB, data range 1)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="textif-fast")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--every", type=int, default=3)
    ap.add_argument("--limit", type=int, default=0, help="at most this many frames (0: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    import textif
    from textif.core.io import read_image
    from textif.data.prompts import suggested_prompts

    root = Path(a.data) / "M3SVD"
    names = sorted(p.name for p in (root / "vis_blur").iterdir())[:: max(1, a.every)]
    if a.limit:
        names = names[: a.limit]
    fuser = textif.load(a.model, device="cpu", threads=a.threads, progress=False)
    sentence = suggested_prompts()["blur"]

    rows: dict[str, list[float]] = {"neutral": [], "suggested prompt": [], **{m: [] for m in METHODS}}
    for name in names:
        vis, blurred = read_image(root / "vis" / name, channels=3), read_image(root / "vis_blur" / name, channels=3)
        ir = read_image(root / "ir" / name, channels=1)
        ref = fuser.fuse(vis, ir)
        rows["neutral"].append(psnr(fuser.fuse(blurred, ir), ref))
        rows["suggested prompt"].append(psnr(fuser.fuse(blurred, ir, sentence), ref))
        for m in METHODS:
            rows[m].append(psnr(fuser.fuse(sharpen(blurred, m), ir), ref))
    base = float(np.mean(rows["neutral"]))
    result = {"model": a.model, "frames": names, "sentence": sentence,
              "mean_psnr": {k: float(np.mean(v)) for k, v in rows.items()},
              "gain_db": {k: float(np.mean(v)) - base for k, v in rows.items()}, "per_frame": rows}
    print(f"{len(names)} M3SVD blur frames, model {a.model}; PSNR to the neutral fusion of the clean pair\n")
    print("| fused input | PSNR (dB) | gain over neutral (dB) |\n|---|---:|---:|")
    for k in rows:
        print(f"| {k} | {result['mean_psnr'][k]:.2f} | {result['gain_db'][k]:+.2f} |")
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
