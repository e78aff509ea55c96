"""The Text-IF fusion losses (paper Eq. 10-14), each a function plus a thin ``nn.Module``.

Shapes (all float, values in ``[0, 1]``, on any device, any floating dtype):

* ``fused``: ``(B, 3, H, W)`` RGB fusion result (``(B, 1, H, W)`` gray is accepted);
* ``ir_gt``: ``(B, 1, H, W)`` clean infrared reference;
* ``vis_gt``: ``(B, 3, H, W)`` clean visible reference (``(B, 1, H, W)`` accepted).

Design choices (documented in ``docs/training-data.md``):

* Intensity, SSIM and gradient terms compare **luminance** Y (BT.601) of the fused and
  visible images with the infrared image. Colour is constrained only by the CbCr colour
  loss, so the terms never pull against each other (the official code compares RGB with
  a luminance mask, which pulls chroma toward gray wherever the infrared is brighter).
* The gradient loss uses unnormalised 3x3 Sobel responses (``|gx|``, ``|gy|`` separately,
  replicate border) and sums the x and y L1 terms; the colour loss sums the Cb and Cr
  L1 terms. Both follow the scale of the official release so its weights carry over.
* SSIM: Gaussian window (sigma 1.5, ``window_size`` taps, 11 by default) on ``'valid'``
  positions, via :func:`kornia.metrics.ssim` with ``eps=0``.

Every function takes ``reduction``: ``"mean"`` (scalar, default), ``"sum"`` or ``"none"``
(one value per sample, ``(B,)``), so :class:`~textif.losses.TextIFLoss` can weight samples
by task.
"""
from __future__ import annotations

from typing import Literal, Mapping, Sequence, Union

import torch
from kornia.filters import spatial_gradient
from kornia.metrics import ssim as _kornia_ssim
from torch import Tensor, nn

from textif.core.errors import TextIFError
from textif.losses.weights import LOSS_TERMS, LossWeights, weights_tensor
from textif.ops.color import chroma, luminance

__all__ = [
    "LossInputError",
    "intensity_loss",
    "ssim_loss",
    "gradient_loss",
    "color_loss",
    "textif_loss",
    "preference_target",
    "IntensityLoss",
    "SSIMLoss",
    "GradientLoss",
    "ColorLoss",
    "TextIFLoss",
]

Reduction = Literal["mean", "sum", "none"]


class LossInputError(TextIFError, ValueError):
    """A loss got tensors of the wrong shape or type."""


def _check(fn: str, **tensors: Tensor) -> None:
    shapes = {}
    for name, t in tensors.items():
        if not isinstance(t, Tensor):
            raise LossInputError(f"{fn}: {name} must be a torch.Tensor, got {type(t).__name__}")
        if not t.is_floating_point():
            raise LossInputError(f"{fn}: {name} must be a floating-point tensor, got {t.dtype}")
        expect = "(B, 1, H, W)" if name == "ir_gt" else "(B, 3, H, W)"
        ok_c = (1,) if name == "ir_gt" else (1, 3)
        if t.ndim != 4 or t.shape[1] not in ok_c:
            raise LossInputError(f"{fn}: {name} must have shape {expect}, got {tuple(t.shape)}")
        shapes[name] = t.shape
    ref_name, ref = next(iter(shapes.items()))
    for name, s in shapes.items():
        if s[0] != ref[0] or s[2:] != ref[2:]:
            raise LossInputError(
                f"{fn}: {name} has batch/size {(s[0], *s[2:])}, but {ref_name} has {(ref[0], *ref[2:])}"
            )


def _reduce(per_sample: Tensor, reduction: Reduction, fn: str) -> Tensor:
    if reduction == "mean":
        return per_sample.mean()
    if reduction == "sum":
        return per_sample.sum()
    if reduction == "none":
        return per_sample
    raise LossInputError(f"{fn}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _per_sample_mean(x: Tensor) -> Tensor:
    return x.flatten(1).mean(1)


def _preference(ir_weight: float | Tensor | None, like: Tensor, fn: str) -> Tensor | None:
    """``None`` or a ``(B, 1, 1, 1)`` preference in [0, 1] on ``like``'s device and dtype."""
    if ir_weight is None:
        return None
    w = torch.as_tensor(ir_weight, dtype=like.dtype, device=like.device)
    if w.ndim > 1 or (w.ndim == 1 and w.numel() != like.shape[0]):
        raise LossInputError(f"{fn}: ir_weight must be a number or ({like.shape[0]},), got {tuple(w.shape)}")
    if bool(((w < 0) | (w > 1)).any()):
        raise LossInputError(f"{fn}: ir_weight must be in [0, 1]")
    return w.expand(like.shape[0]).reshape(-1, 1, 1, 1)


def preference_target(vis_target: Tensor, ir_target: Tensor, ir_weight: Tensor | None) -> Tensor:
    """The element-wise maximum of the two targets (the paper's, at ``ir_weight`` 0.5 or ``None``),
    moved linearly toward the visible target as ``ir_weight`` goes to 0 and toward the infrared
    target as it goes to 1. ``ir_weight``: ``(B, 1, 1, 1)`` (or ``(B, 1, 1, 1, 1)``) in [0, 1]."""
    both = torch.maximum(vis_target, ir_target)
    if ir_weight is None:
        return both
    w = ir_weight.reshape(ir_weight.shape[0], *([1] * (both.ndim - 1)))
    to_ir = (2 * w - 1).clamp(min=0)
    to_vis = (1 - 2 * w).clamp(min=0)
    return both + to_ir * (ir_target - both) + to_vis * (vis_target - both)


def intensity_loss(fused: Tensor, ir_gt: Tensor, vis_gt: Tensor, *, ir_weight: float | Tensor | None = None,
                   reduction: Reduction = "mean") -> Tensor:
    """Maximum-intensity loss (Eq. 10): ``mean |Y(fused) - max(Y(vis_gt), ir_gt)|``.

    Args:
        fused: ``(B, 3, H, W)``; ir_gt: ``(B, 1, H, W)``; vis_gt: ``(B, 3, H, W)``; in ``[0, 1]``.
        ir_weight: modality preference, a number or ``(B,)`` in ``[0, 1]`` (``None`` or 0.5: the
            paper's maximum); the target moves toward ``Y(vis_gt)`` below 0.5 and toward ``ir_gt``
            above (:func:`preference_target`).
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` (``(B,)``).
    """
    _check("intensity_loss", fused=fused, ir_gt=ir_gt, vis_gt=vis_gt)
    target = preference_target(luminance(vis_gt), ir_gt, _preference(ir_weight, fused, "intensity_loss"))
    return _reduce(_per_sample_mean((luminance(fused) - target).abs()), reduction, "intensity_loss")


def _ssim_per_sample(a: Tensor, b: Tensor, window_size: int) -> Tensor:
    h, w = a.shape[-2:]
    win = min(window_size, h, w)
    if win % 2 == 0:
        win -= 1
    if win < 3:
        raise LossInputError(f"ssim_loss: images of {h}x{w} are too small (need at least 3x3)")
    return _per_sample_mean(_kornia_ssim(a, b, win, max_val=1.0, eps=0.0, padding="valid"))


def ssim_loss(
    fused: Tensor,
    ir_gt: Tensor,
    vis_gt: Tensor,
    delta_ir: float | Tensor = 1.0,
    *,
    ir_weight: float | Tensor | None = None,
    window_size: int = 11,
    reduction: Reduction = "mean",
) -> Tensor:
    """SSIM loss (Eq. 11) on luminance: ``(1 - SSIM(Yf, Yvis)) + delta_ir * (1 - SSIM(Yf, ir))``.

    Args:
        fused: ``(B, 3, H, W)``; ir_gt: ``(B, 1, H, W)``; vis_gt: ``(B, 3, H, W)``; in ``[0, 1]``.
        delta_ir: weight of the infrared term, a number or ``(B,)`` per sample.
        ir_weight: modality preference in ``[0, 1]`` (number or ``(B,)``): the visible term is
            scaled by ``2 (1 - w)`` and the infrared one by ``2 w`` (both 1 at ``None`` or 0.5).
        window_size: odd number of Gaussian taps (sigma 1.5); shrunk for smaller images.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` (``(B,)``).
    """
    _check("ssim_loss", fused=fused, ir_gt=ir_gt, vis_gt=vis_gt)
    if not isinstance(window_size, int) or window_size < 3 or window_size % 2 == 0:
        raise LossInputError(f"ssim_loss: window_size must be an odd integer >= 3, got {window_size!r}")
    yf = luminance(fused)
    d = torch.as_tensor(delta_ir, dtype=fused.dtype, device=fused.device)
    if d.ndim > 1 or (d.ndim == 1 and d.numel() != fused.shape[0]):
        raise LossInputError(f"ssim_loss: delta_ir must be a number or ({fused.shape[0]},), got {tuple(d.shape)}")
    s_vis = _ssim_per_sample(yf, luminance(vis_gt), window_size)
    s_ir = _ssim_per_sample(yf, ir_gt, window_size)
    pw = _preference(ir_weight, fused, "ssim_loss")
    if pw is None:
        per = (1 - s_vis) + d * (1 - s_ir)
    else:
        w = pw.reshape(-1)
        per = 2 * (1 - w) * (1 - s_vis) + 2 * w * d * (1 - s_ir)
    return _reduce(per, reduction, "ssim_loss")


def _sobel_abs(y: Tensor) -> Tensor:
    """``(B, 1, H, W)`` -> ``(B, 1, 2, H, W)`` absolute unnormalised Sobel x/y responses."""
    return spatial_gradient(y, mode="sobel", order=1, normalized=False).abs()


def gradient_loss(fused: Tensor, ir_gt: Tensor, vis_gt: Tensor, *, ir_weight: float | Tensor | None = None,
                  reduction: Reduction = "mean") -> Tensor:
    """Maximum-gradient loss (Eq. 12) on luminance, per direction:
    ``sum_{d in x,y} mean | |S_d Yf| - max(|S_d Yvis|, |S_d ir|) |`` with 3x3 Sobel ``S``.

    Args:
        fused: ``(B, 3, H, W)``; ir_gt: ``(B, 1, H, W)``; vis_gt: ``(B, 3, H, W)``; in ``[0, 1]``.
        ir_weight: modality preference (as in :func:`intensity_loss`): the target gradient moves
            from the maximum toward the visible (0) or infrared (1) image's.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` (``(B,)``).
    """
    _check("gradient_loss", fused=fused, ir_gt=ir_gt, vis_gt=vis_gt)
    gf = _sobel_abs(luminance(fused))
    target = preference_target(_sobel_abs(luminance(vis_gt)), _sobel_abs(ir_gt),
                               _preference(ir_weight, fused, "gradient_loss"))
    per = (gf - target).abs().mean(dim=(1, 3, 4)).sum(dim=1)
    return _reduce(per, reduction, "gradient_loss")


def color_loss(fused: Tensor, vis_gt: Tensor, *, reduction: Reduction = "mean") -> Tensor:
    """Colour-consistency loss (Eq. 13): ``mean|Cb_f - Cb_vis| + mean|Cr_f - Cr_vis|``.

    Args:
        fused: ``(B, 3, H, W)``; vis_gt: ``(B, 3, H, W)``; in ``[0, 1]``.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` (``(B,)``).
    """
    _check("color_loss", fused=fused, vis_gt=vis_gt)
    per = (chroma(fused) - chroma(vis_gt)).abs().mean(dim=(2, 3)).sum(dim=1)
    return _reduce(per, reduction, "color_loss")


def textif_loss(
    fused: Tensor,
    ir_gt: Tensor,
    vis_gt: Tensor,
    tasks: str | Sequence[str] | Tensor,
    *,
    weights: Mapping[str, LossWeights] | None = None,
    ir_weight: float | Tensor | None = None,
    window_size: int = 11,
    reduction: Reduction = "mean",
) -> tuple[Tensor, dict[str, Tensor]]:
    """Total loss (Eq. 14) with per-sample, task-dependent weights alpha(t) and delta_ir(t).

    ``L = a_int L_int + a_ssim L_ssim(delta_ir) + a_grad L_grad + a_color L_color``
    per sample, then reduced.

    Args:
        fused: ``(B, 3, H, W)``; ir_gt: ``(B, 1, H, W)``; vis_gt: ``(B, 3, H, W)``; in ``[0, 1]``.
        tasks: one task name for the whole batch, ``B`` task names (composites ``"a+b"``
            allowed), or a ``(B, 5)`` weight tensor in the order of
            :data:`~textif.losses.weights.LOSS_TERMS`.
        weights: override table ``{task: LossWeights}`` (default
            :data:`~textif.losses.weights.TASK_WEIGHTS`).
        ir_weight: modality preference, a number or ``(B,)`` in ``[0, 1]`` (``None``: neutral, the
            paper's loss): moves the intensity, SSIM and gradient terms toward the visible (0) or
            the infrared (1) image (see :mod:`textif.data.preference`).
        window_size: SSIM window.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` (``(B,)``).

    Returns:
        ``(total, terms)``: the weighted total (differentiable) and, for logging, the
        unweighted terms ``{"intensity", "ssim", "gradient", "color"}`` reduced like the
        total and detached (``ssim`` includes ``delta_ir``).
    """
    _check("textif_loss", fused=fused, ir_gt=ir_gt, vis_gt=vis_gt)
    b = fused.shape[0]
    if isinstance(tasks, Tensor):
        w = tasks.to(device=fused.device, dtype=fused.dtype)
        if w.shape != (b, len(LOSS_TERMS)):
            raise LossInputError(f"textif_loss: weight tensor must have shape {(b, len(LOSS_TERMS))}, "
                                 f"got {tuple(w.shape)}")
    else:
        names = [tasks] * b if isinstance(tasks, str) else list(tasks)
        if len(names) != b:
            raise LossInputError(f"textif_loss: got {len(names)} tasks for a batch of {b}")
        w = weights_tensor(names, table=weights, device=fused.device, dtype=fused.dtype)
    parts = {
        "intensity": intensity_loss(fused, ir_gt, vis_gt, ir_weight=ir_weight, reduction="none"),
        "ssim": ssim_loss(fused, ir_gt, vis_gt, w[:, 4], ir_weight=ir_weight, window_size=window_size, reduction="none"),
        "gradient": gradient_loss(fused, ir_gt, vis_gt, ir_weight=ir_weight, reduction="none"),
        "color": color_loss(fused, vis_gt, reduction="none"),
    }
    total = w[:, 0] * parts["intensity"] + w[:, 1] * parts["ssim"] + w[:, 2] * parts["gradient"] \
        + w[:, 3] * parts["color"]
    terms = {k: _reduce(v.detach(), reduction, "textif_loss") for k, v in parts.items()}
    return _reduce(total, reduction, "textif_loss"), terms


class IntensityLoss(nn.Module):
    """Module form of :func:`intensity_loss`: ``forward(fused, ir_gt, vis_gt)``."""

    def __init__(self, reduction: Reduction = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, fused: Tensor, ir_gt: Tensor, vis_gt: Tensor) -> Tensor:
        return intensity_loss(fused, ir_gt, vis_gt, reduction=self.reduction)


class SSIMLoss(nn.Module):
    """Module form of :func:`ssim_loss`: ``forward(fused, ir_gt, vis_gt, delta_ir=None)``
    (``None`` uses the ``delta_ir`` given here)."""

    def __init__(self, delta_ir: float = 1.0, window_size: int = 11, reduction: Reduction = "mean") -> None:
        super().__init__()
        self.delta_ir = delta_ir
        self.window_size = window_size
        self.reduction = reduction

    def forward(self, fused: Tensor, ir_gt: Tensor, vis_gt: Tensor,
                delta_ir: Union[float, Tensor, None] = None) -> Tensor:
        d = self.delta_ir if delta_ir is None else delta_ir
        return ssim_loss(fused, ir_gt, vis_gt, d, window_size=self.window_size, reduction=self.reduction)


class GradientLoss(nn.Module):
    """Module form of :func:`gradient_loss`: ``forward(fused, ir_gt, vis_gt)``."""

    def __init__(self, reduction: Reduction = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, fused: Tensor, ir_gt: Tensor, vis_gt: Tensor) -> Tensor:
        return gradient_loss(fused, ir_gt, vis_gt, reduction=self.reduction)


class ColorLoss(nn.Module):
    """Module form of :func:`color_loss`: ``forward(fused, vis_gt)``."""

    def __init__(self, reduction: Reduction = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, fused: Tensor, vis_gt: Tensor) -> Tensor:
        return color_loss(fused, vis_gt, reduction=self.reduction)


class TextIFLoss(nn.Module):
    """Module form of :func:`textif_loss`.

    ``forward(fused, ir_gt, vis_gt, tasks) -> (total, terms)``; ``tasks`` is one task
    name, ``B`` names (for example the ``"task"`` list of a batch from
    :mod:`textif.data.datasets`) or a ``(B, 5)`` weight tensor.

    Example::

        crit = TextIFLoss()
        loss, terms = crit(fused, batch["ir_gt"], batch["vis_gt"], batch["task"])
        loss.backward()
    """

    def __init__(self, weights: Mapping[str, LossWeights] | None = None, window_size: int = 11,
                 reduction: Reduction = "mean") -> None:
        super().__init__()
        self.weights = None if weights is None else dict(weights)
        self.window_size = window_size
        self.reduction = reduction

    def forward(self, fused: Tensor, ir_gt: Tensor, vis_gt: Tensor,
                tasks: str | Sequence[str] | Tensor, ir_weight: float | Tensor | None = None,
                ) -> tuple[Tensor, dict[str, Tensor]]:
        return textif_loss(fused, ir_gt, vis_gt, tasks, weights=self.weights, ir_weight=ir_weight,
                           window_size=self.window_size, reduction=self.reduction)
