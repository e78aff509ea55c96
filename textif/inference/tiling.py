"""Stateless tiled inference: run a fusion function over overlapping tiles and blend them."""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from textif.ops.geometry import blend_window, pad_to_multiple, tile_starts

__all__ = ["padded_forward", "tiled_forward"]

FuseFn = Callable[[Tensor, Tensor], Tensor]


def padded_forward(fn: FuseFn, vis: Tensor, ir: Tensor, multiple: int) -> Tensor:
    """Pad ``vis: (B, 3, H, W)`` and ``ir: (B, 1, H, W)`` to ``multiple``, run ``fn``, crop back.
    The output has exactly the input's size."""
    v, (h, w) = pad_to_multiple(vis, multiple)
    i, _ = pad_to_multiple(ir, multiple)
    return fn(v, i)[..., :h, :w]


def tiled_forward(fn: FuseFn, vis: Tensor, ir: Tensor, *, multiple: int, tile: int, overlap: int) -> Tensor:
    """Fuse large images tile by tile; memory is bounded by the tile size.

    Args:
        fn: fuses a padded pair, ``(B, 3, h, w), (B, 1, h, w) -> (B, C, h, w)``.
        vis: ``(B, 3, H, W)``; ir: ``(B, 1, H, W)``.
        multiple: the network's size multiple (each tile is padded to it).
        tile: tile side in pixels; overlap: pixels shared by neighbouring tiles.

    Returns:
        ``(B, C, H, W)``; tiles are blended with raised-cosine windows, so no seams show.
    """
    if tile < 16:
        raise ValueError(f"tile must be at least 16 pixels, got {tile}")
    overlap = max(0, min(overlap, tile // 2))
    b, _, h, w = vis.shape
    ys, xs = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    if len(ys) == 1 and len(xs) == 1:
        return padded_forward(fn, vis, ir, multiple)
    out: Tensor | None = None
    weight = torch.zeros(1, 1, h, w, device=vis.device, dtype=torch.float32)
    for yi, y in enumerate(ys):
        for xi, x in enumerate(xs):
            th, tw = min(tile, h - y), min(tile, w - x)
            piece = padded_forward(fn, vis[..., y : y + th, x : x + tw], ir[..., y : y + th, x : x + tw], multiple).float()
            win = blend_window(
                th, tw, overlap, top=yi > 0, bottom=yi < len(ys) - 1, left=xi > 0, right=xi < len(xs) - 1,
                device=vis.device,
            )
            if out is None:
                out = torch.zeros(b, piece.shape[1], h, w, device=vis.device, dtype=torch.float32)
            out[..., y : y + th, x : x + tw] += piece * win
            weight[..., y : y + th, x : x + tw] += win
    assert out is not None
    return (out / weight).to(vis.dtype)
