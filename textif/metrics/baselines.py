"""Classical baseline fusions, so every report has a floor to compare against.

Both work on luminance and keep the visible image's colour: the visible RGB image is converted
to Y'CrCb (OpenCV's full-range BT.601, as in the CDDFuse test script), its Y is combined with
the infrared grey image, and the result is converted back with the visible Cr/Cb:

* ``avg``: ``Y = (Y_vis + IR) / 2`` (pixel average);
* ``max``: ``Y = max(Y_vis, IR)`` (pixel maximum).

They correspond to the peers table's ``classic_avg`` / ``classic_max`` rows. (The reference
values in the tests use plain grey ``round((vis + ir) / 2)`` and ``max(vis, ir)`` instead.)
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import cv2
import numpy as np

from textif.core.io import read_image, write_image
from textif.metrics.errors import MetricInputError, MetricSizeError

__all__ = ["BASELINES", "fuse_baseline", "write_baselines"]


def _combine(vis_rgb: np.ndarray, ir: np.ndarray, op: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    if vis_rgb.ndim == 2:
        vis_rgb = np.repeat(vis_rgb[..., None], 3, axis=2)
    if ir.ndim == 3:
        ir = cv2.cvtColor(np.ascontiguousarray(ir, dtype=np.float32), cv2.COLOR_RGB2GRAY)
    if vis_rgb.shape[:2] != ir.shape[:2]:
        raise MetricSizeError(
            f"baseline fusion: visible image is {vis_rgb.shape[1]}x{vis_rgb.shape[0]} but infrared is "
            f"{ir.shape[1]}x{ir.shape[0]}"
        )
    ycc = cv2.cvtColor(np.ascontiguousarray(vis_rgb, dtype=np.float32), cv2.COLOR_RGB2YCrCb)
    ycc[..., 0] = op(ycc[..., 0], ir.astype(np.float32))
    return np.clip(cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB), 0.0, 1.0)


BASELINES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "avg": lambda vis, ir: _combine(vis, ir, lambda y, i: (y + i) * np.float32(0.5)),
    "max": lambda vis, ir: _combine(vis, ir, np.maximum),
}


def fuse_baseline(kind: str, vis_rgb: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """Fuse with a baseline.

    Args:
        kind: ``"avg"`` or ``"max"``.
        vis_rgb: ``(H, W, 3)`` RGB (or ``(H, W)`` grey) float in [0, 1].
        ir: ``(H, W)`` grey float in [0, 1].

    Returns:
        ``(H, W, 3)`` float32 RGB in [0, 1].
    """
    try:
        fn = BASELINES[kind]
    except KeyError:
        raise MetricInputError(f"unknown baseline {kind!r} (baselines: {', '.join(BASELINES)})") from None
    return fn(vis_rgb, ir)


def write_baselines(
    pairs: dict[str, tuple[Path, Path]], out_dir: Path, kinds: Iterable[str]
) -> dict[str, Path]:
    """Fuse every ``stem -> (vis_path, ir_path)`` with each baseline into ``out_dir/<kind>/<stem>.png``.

    Files are written atomically as 8-bit PNG. Returns ``{kind: folder}``.
    """
    kinds = list(kinds)
    for k in kinds:
        if k not in BASELINES:
            raise MetricInputError(f"unknown baseline {k!r} (baselines: {', '.join(BASELINES)})")
    folders = {}
    for k in kinds:
        folders[k] = Path(out_dir) / k
        folders[k].mkdir(parents=True, exist_ok=True)
    for stem, (vis_path, ir_path) in pairs.items():
        vis = read_image(vis_path, channels=3)
        ir = read_image(ir_path, channels=1)
        if vis.shape[:2] != ir.shape[:2]:
            raise MetricSizeError(
                f"{ir_path}: infrared image is {ir.shape[1]}x{ir.shape[0]} but {vis_path} is {vis.shape[1]}x{vis.shape[0]}"
            )
        for k in kinds:
            write_image(folders[k] / f"{stem}.png", fuse_baseline(k, vis, ir))
    return folders
