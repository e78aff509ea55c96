"""Padding to a multiple and tile geometry with smooth blending windows (pure tensor functions)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textif.ops.tiles import tile_starts

__all__ = ["pad_to_multiple", "PadToMultiple", "tile_starts", "blend_window"]


def pad_to_multiple(x: Tensor, multiple: int) -> tuple[Tensor, tuple[int, int]]:
    """Pad the bottom and right of ``x: (B, C, H, W)`` so that H and W are multiples of ``multiple``.

    Reflect padding is used (no artificial edges); where the pad would exceed the image
    (tiny images), edge replication is used instead. Returns the padded tensor and the
    original ``(H, W)`` to crop back to with ``y[..., :H, :W]``.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x, (h, w)
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode), (h, w)


class PadToMultiple(nn.Module):
    """Module form of :func:`pad_to_multiple`."""

    def __init__(self, multiple: int) -> None:
        super().__init__()
        self.multiple = multiple

    def forward(self, x: Tensor) -> tuple[Tensor, tuple[int, int]]:
        return pad_to_multiple(x, self.multiple)


def blend_window(
    height: int, width: int, overlap: int, *, top: bool, bottom: bool, left: bool, right: bool,
    device: torch.device | None = None, dtype: torch.dtype = torch.float32,
) -> Tensor:
    """``(1, 1, height, width)`` weights for blending a tile: a raised-cosine ramp over
    ``overlap`` pixels at each edge that borders another tile (flags True), 1 elsewhere.
    Weights stay > 0, and the blend divides by their sum, so overlaps are seamless."""

    def ramp(n: int, lo: bool, hi: bool) -> Tensor:
        w = torch.ones(n, device=device, dtype=torch.float64)
        k = min(overlap, n // 2)
        if k > 0:
            t = (torch.arange(k, device=device, dtype=torch.float64) + 0.5) / k
            r = 0.5 - 0.5 * torch.cos(torch.pi * t)
            if lo:
                w[:k] = r
            if hi:
                w[n - k :] = r.flip(0)
        return w

    wy = ramp(height, top, bottom)
    wx = ramp(width, left, right)
    return (wy[:, None] * wx[None, :]).to(dtype)[None, None]
