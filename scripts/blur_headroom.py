"""How much fine detail each data source holds: what a Gaussian blur removes from its visible images.

    python scripts/blur_headroom.py [--data ../shared/data] [--sigma 1.5] [--per-source 25] [--downscale 1 2]

For up to ``--per-source`` visible images of every training source and of M3SVD (validation), the
PSNR of the luminance blurred by a Gaussian of ``--sigma`` pixels against the sharp luminance
(data range 1). A low PSNR means the blur removes much: the source has dense fine texture, which a
deblurring network needs to see in training. ``--downscale 2`` also measures the images after a
2x area downscale first. Images are drawn with a fixed seed, so the figures repeat.
"""
from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {  # name -> folder of visible images under the data root
    "RoadScene/vis (training and val)": "RoadScene/vis",
    "TNO/vis (training)": "TNO/vis",
    "DRMF/train/vis (training)": "DRMF/train/vis",
    "EMS/train/vis (training)": "EMS/train/vis",
    "M3SVD/vis (validation)": "M3SVD/vis",
}


def blur_psnr(gray: np.ndarray, sigma: float) -> float:
    """PSNR (dB, data range 1) of ``gray`` ``(H, W)`` float in [0, 1] blurred by a Gaussian of
    ``sigma`` pixels against ``gray`` itself; ``inf`` for a flat image."""
    import cv2

    mse = float(np.mean((gray - cv2.GaussianBlur(gray, (0, 0), sigma)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1 / mse)


def source_figures(folder: Path, sigma: float, n: int, downscale: int, seed: int = 0) -> list[float]:
    """The blur PSNR of up to ``n`` images of ``folder`` (a fixed random choice)."""
    import cv2

    from textif.core.io import read_image, to_gray

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg", ".bmp", ".tif"})
    files = random.Random(seed).sample(files, min(n, len(files)))
    out = []
    for f in files:
        y = to_gray(read_image(f)).astype(np.float64)
        if downscale > 1:
            y = cv2.resize(y, (y.shape[1] // downscale, y.shape[0] // downscale), interpolation=cv2.INTER_AREA)
        out.append(blur_psnr(y, sigma))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--sigma", type=float, default=1.5)
    ap.add_argument("--per-source", type=int, default=25)
    ap.add_argument("--downscale", type=int, nargs="+", default=[1])
    a = ap.parse_args(argv)
    print(f"| source | downscale | images | PSNR of a sigma-{a.sigma:g} blur, median (dB) | range |")
    print("|---|---:|---:|---:|---|")
    for d in a.downscale:
        for name, rel in SOURCES.items():
            folder = Path(a.data) / rel
            if not folder.is_dir():
                print(f"| {name} | {d} | 0 | missing: {folder} | |")
                continue
            ps = source_figures(folder, a.sigma, a.per_source, d)
            print(f"| {name} | {d} | {len(ps)} | {np.median(ps):.1f} | {min(ps):.1f}–{max(ps):.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
