"""Write synthetic, texture-dense infrared-visible pairs (the dead-leaves model) as a paired folder.

    python scripts/make_dead_leaves.py --out DIR [--count 200] [--size 480 640] [--min-radius 2]
        [--max-radius 120] [--seed 0]

Why: a sigma-1.5 px blur, the size of the real blur in M3SVD, takes far more from M3SVD's frames
(21.9 dB PSNR to the sharp frame) than from any training source (29.9-36.3 dB;
``scripts/blur_headroom.py``), so training rarely shows the fine detail a deblurring network must
restore. Dead-leaves images (opaque discs with power-law radii stacked at random, each in one
colour) have edges at every scale, as natural images do, and as much fine detail as the smallest
radius allows.

Each pair shares one stack of discs, so the two images have their edges in the same places, as a
registered camera pair does: the visible image gives each disc a random colour, the infrared image
a random grey level, slightly softened (thermal optics are softer). Writes ``DIR/vis/NNNN.png`` and
``DIR/ir/NNNN.png`` atomically, with progress, and prints the blur PSNR of what it wrote (median),
to compare with ``scripts/blur_headroom.py``. Use the folder as a ``paired`` training source
(``{kind: paired, vis: DIR/vis, ir: DIR/ir}``); pairs are a pure function of ``--seed`` and their index.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def dead_leaves_labels(rng: np.random.Generator, h: int, w: int, *, min_radius: float, max_radius: float,
                       alpha: float = 3.0) -> np.ndarray:
    """A dead-leaves partition of an ``(h, w)`` image: ``(h, w)`` int64 disc labels.

    Disc radii follow a density proportional to ``r ** -alpha`` on ``[min_radius, max_radius]``
    (``alpha`` 3: scale invariant, like natural images); centres are uniform. Discs drawn first lie
    on top. Enough discs are drawn to cover the image about five times over; a pixel no disc covers
    keeps label 0 (the background).
    """
    import cv2

    if not 0 < min_radius <= max_radius:
        raise ValueError(f"need 0 < min_radius <= max_radius, got {min_radius}, {max_radius}")
    a1 = 1.0 - alpha
    # mean disc area under the radius law, to draw enough discs for about fivefold coverage
    r = np.linspace(min_radius, max_radius, 4096)
    pdf = r ** -alpha
    mean_area = np.pi * float(np.sum(pdf * r**2) / np.sum(pdf))
    n = int(5 * h * w / mean_area) + 1
    u = rng.random(n)
    radii = ((max_radius**a1 - min_radius**a1) * u + min_radius**a1) ** (1.0 / a1)
    cy, cx = rng.random(n) * h, rng.random(n) * w
    labels = np.zeros((h, w), np.float32)  # float32: cv2 draws on it; labels stay exact below 2**24
    if n >= 1 << 24:
        raise ValueError(f"{n} discs: too many for exact labels; raise min_radius")
    for k in range(n - 1, -1, -1):  # back to front: the first disc is painted last, on top
        cv2.circle(labels, (int(round(cx[k])), int(round(cy[k]))), max(1, int(round(radii[k]))), float(k + 1), -1)
    return labels.astype(np.int64)


def dead_leaves_pair(rng: np.random.Generator, h: int, w: int, *, min_radius: float = 2.0,
                     max_radius: float = 120.0) -> tuple[np.ndarray, np.ndarray]:
    """One pair: ``(vis (h, w, 3), ir (h, w))``, float32 in [0, 1], sharing one stack of discs."""
    import cv2

    labels = dead_leaves_labels(rng, h, w, min_radius=min_radius, max_radius=max_radius)
    n = int(labels.max()) + 1
    colours = rng.random((n, 3)).astype(np.float32)
    grey = rng.random(n).astype(np.float32)
    vis = cv2.GaussianBlur(colours[labels], (0, 0), 0.5)  # a camera's own slight softness, no aliasing
    ir = cv2.GaussianBlur(grey[labels], (0, 0), 1.0)
    return np.clip(vis, 0, 1), np.clip(ir, 0, 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--size", type=int, nargs=2, default=[480, 640], metavar=("H", "W"))
    ap.add_argument("--min-radius", type=float, default=2.0)
    ap.add_argument("--max-radius", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    if a.count < 1 or min(a.size) < 16:
        print("error: --count must be >= 1 and --size at least 16 x 16", file=sys.stderr)
        return 2
    if not 0 < a.min_radius <= a.max_radius:
        print(f"error: need 0 < --min-radius <= --max-radius, got {a.min_radius:g}, {a.max_radius:g}", file=sys.stderr)
        return 2

    from tqdm import tqdm

    sys.path.insert(0, str(ROOT / "scripts"))
    from blur_headroom import blur_psnr

    from textif.core.io import to_gray, write_image

    out = Path(a.out)
    (out / "vis").mkdir(parents=True, exist_ok=True)
    (out / "ir").mkdir(parents=True, exist_ok=True)
    h, w = a.size
    psnr = []
    for i in tqdm(range(a.count), desc="dead-leaves pairs", unit="pair"):
        rng = np.random.default_rng([a.seed, i])  # each pair a pure function of (seed, index)
        vis, ir = dead_leaves_pair(rng, h, w, min_radius=a.min_radius, max_radius=a.max_radius)
        write_image(out / "vis" / f"{i:04d}.png", vis)
        write_image(out / "ir" / f"{i:04d}.png", ir)
        psnr.append(blur_psnr(to_gray(vis).astype(np.float64), 1.5))
    print(f"wrote {a.count} pairs to {out}; PSNR of a sigma-1.5 blur of the visible images: median "
          f"{np.median(psnr):.1f} dB (M3SVD 21.9, training sources 29.9-36.3; scripts/blur_headroom.py)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
