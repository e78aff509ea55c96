"""Tile geometry in pure Python (no torch), shared by the torch ops and the numpy inference path."""
from __future__ import annotations

__all__ = ["tile_starts"]


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of size ``tile`` covering ``[0, length)`` with at least ``overlap``
    pixels shared between neighbours; the last tile ends exactly at ``length``."""
    if tile >= length:
        return [0]
    if not 0 <= overlap < tile:
        raise ValueError(f"tile overlap must be in [0, tile), got overlap={overlap}, tile={tile}")
    stride = tile - overlap
    n = -(-(length - tile) // stride) + 1
    if n == 1:
        return [0]
    # spread the tiles evenly so every overlap is >= the requested one
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]
