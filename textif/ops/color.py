"""Colour-space helpers on tensors (pure functions, any device and dtype).

Luminance uses the ITU-R BT.601 weights (0.299, 0.587, 0.114), the same as
:func:`textif.core.io.to_gray`, :func:`kornia.color.rgb_to_grayscale` and the Y of
:func:`kornia.color.rgb_to_ycbcr`, so gray images read from disk and luminance computed
here agree.
"""
from __future__ import annotations

import torch
from kornia.color import rgb_to_ycbcr
from torch import Tensor

__all__ = ["luminance", "chroma"]


def _check(img: Tensor, fn: str) -> None:
    if not isinstance(img, Tensor):
        raise TypeError(f"{fn}: expected a torch.Tensor, got {type(img).__name__}")
    if img.ndim < 3 or img.shape[-3] not in (1, 3):
        raise ValueError(f"{fn}: expected shape (..., 1 or 3, H, W), got {tuple(img.shape)}")


def luminance(img: Tensor) -> Tensor:
    """Luma Y of an RGB image; a 1-channel image passes through.

    Args:
        img: ``(..., 3, H, W)`` RGB or ``(..., 1, H, W)`` gray, float in ``[0, 1]``.

    Returns:
        ``(..., 1, H, W)``, same device and dtype.
    """
    _check(img, "luminance")
    if img.shape[-3] == 1:
        return img
    r, g, b = img[..., 0:1, :, :], img[..., 1:2, :, :], img[..., 2:3, :, :]
    return 0.299 * r + 0.587 * g + 0.114 * b


def chroma(img: Tensor) -> Tensor:
    """Cb and Cr of an RGB image (offset 0.5, as in :func:`kornia.color.rgb_to_ycbcr`);
    a 1-channel image has neutral chroma (0.5, 0.5).

    Args:
        img: ``(..., 3, H, W)`` or ``(..., 1, H, W)`` float in ``[0, 1]``.

    Returns:
        ``(..., 2, H, W)``, same device and dtype.
    """
    _check(img, "chroma")
    if img.shape[-3] == 1:
        return torch.full_like(img, 0.5).expand(*img.shape[:-3], 2, *img.shape[-2:]).clone()
    return rgb_to_ycbcr(img)[..., 1:3, :, :]
