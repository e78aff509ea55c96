"""Stateless tiled inference: run a fusion function over overlapping tiles and blend them.

Works on numpy arrays (the file and ONNX Runtime path, which never imports torch) and on torch
tensors (kept on their device); the tile geometry and blending are the same for both.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from textif.ops.tiles import tile_starts

__all__ = ["padded_forward", "tiled_forward", "tile_grid", "pad_to_multiple_np"]

FuseFn = Callable[[Any, Any], Any]


def _is_numpy(x: Any) -> bool:
    return isinstance(x, np.ndarray)


def pad_to_multiple_np(x: np.ndarray, multiple: int) -> np.ndarray:
    """numpy twin of :func:`textif.ops.geometry.pad_to_multiple` (bottom/right; reflect, or edge
    replication when the pad exceeds the image): ``(B, C, H, W) -> (B, C, H', W')``."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x
    mode = "reflect" if ph < h and pw < w else "edge"
    return np.pad(x, ((0, 0), (0, 0), (0, ph), (0, pw)), mode=mode)


def padded_forward(fn: FuseFn, vis: Any, ir: Any, multiple: int) -> Any:
    """Pad ``vis: (B, 3, H, W)`` and ``ir: (B, 1, H, W)`` to ``multiple``, run ``fn``, crop back.
    The output has exactly the input's size. Arrays are numpy or torch (the same kind comes back)."""
    h, w = vis.shape[-2:]
    if _is_numpy(vis):
        v, i = pad_to_multiple_np(vis, multiple), pad_to_multiple_np(ir, multiple)
    else:
        from textif.ops.geometry import pad_to_multiple

        v, _ = pad_to_multiple(vis, multiple)
        i, _ = pad_to_multiple(ir, multiple)
    return fn(v, i)[..., :h, :w]


def tile_grid(h: int, w: int, tile: int, overlap: int) -> tuple[list[int], list[int]]:
    """Tile start rows and columns for an ``h x w`` image (one tile each way when it fits)."""
    if tile < 16:
        raise ValueError(f"tile must be at least 16 pixels, got {tile}")
    overlap = max(0, min(overlap, tile // 2))
    return tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)


def _ramp(n: int, overlap: int, lo: bool, hi: bool) -> np.ndarray:
    w = np.ones(n, dtype=np.float64)
    k = min(overlap, n // 2)
    if k > 0:
        t = (np.arange(k, dtype=np.float64) + 0.5) / k
        r = 0.5 - 0.5 * np.cos(math.pi * t)
        if lo:
            w[:k] = r
        if hi:
            w[n - k :] = r[::-1]
    return w


def _window(th: int, tw: int, overlap: int, top: bool, bottom: bool, left: bool, right: bool) -> np.ndarray:
    """``(th, tw)`` float32 raised-cosine blending weights (as :func:`textif.ops.geometry.blend_window`)."""
    return (_ramp(th, overlap, top, bottom)[:, None] * _ramp(tw, overlap, left, right)[None, :]).astype(np.float32)


def tiled_forward(fn: FuseFn, vis: Any, ir: Any, *, multiple: int, tile: int, overlap: int,
                  progress: bool | str = False) -> Any:
    """Fuse large images tile by tile; memory is bounded by the tile size.

    Args:
        fn: fuses a padded pair, ``(B, 3, h, w), (B, 1, h, w) -> (B, C, h, w)``.
        vis: ``(B, 3, H, W)``; ir: ``(B, 1, H, W)`` (numpy arrays or torch tensors).
        multiple: the network's size multiple (each tile is padded to it).
        tile: tile side in pixels; overlap: pixels shared by neighbouring tiles.
        progress: show a progress bar over the tiles (a string is its description).

    Returns:
        ``(B, C, H, W)`` float32 of the input's kind; tiles are blended with raised-cosine
        windows, so no seams show. Only the output and one weight plane are held at full size.
    """
    overlap = max(0, min(overlap, tile // 2))
    b, _, h, w = vis.shape
    ys, xs = tile_grid(h, w, tile, overlap)
    if len(ys) == 1 and len(xs) == 1:
        return padded_forward(fn, vis, ir, multiple)
    numpy = _is_numpy(vis)
    if not numpy:
        import torch
    out: Any = None
    weight = np.zeros((h, w), np.float32) if numpy else torch.zeros(h, w, device=vis.device, dtype=torch.float32)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(ys) * len(xs), desc=progress if isinstance(progress, str) else "tiles", unit="tile",
                   leave=False, dynamic_ncols=True)
    try:
        for yi, y in enumerate(ys):
            for xi, x in enumerate(xs):
                th, tw = min(tile, h - y), min(tile, w - x)
                piece = padded_forward(fn, vis[..., y : y + th, x : x + tw], ir[..., y : y + th, x : x + tw], multiple)
                win = _window(th, tw, overlap, yi > 0, yi < len(ys) - 1, xi > 0, xi < len(xs) - 1)
                if numpy:
                    if out is None:
                        out = np.zeros((b, piece.shape[1], h, w), np.float32)
                    out[..., y : y + th, x : x + tw] += piece * win
                else:
                    win = torch.from_numpy(win).to(vis.device)
                    if out is None:
                        out = torch.zeros(b, piece.shape[1], h, w, device=vis.device, dtype=torch.float32)
                    out[..., y : y + th, x : x + tw] += piece.float() * win
                weight[y : y + th, x : x + tw] += win
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    out /= weight
    return out if numpy else out.to(vis.dtype)
