"""Distillation losses: a student's output against a frozen teacher's on the same input.

:func:`distill_loss` is the plain L1 of the outputs; with ``gradient_weight > 0`` it adds the L1
of their Sobel responses (per channel, x and y), which weighs edges and fine texture -- what a
student with a coarse (pixel-unshuffle) stem loses first, and what Qabf, SF and AG measure -- more
than a pixel L1 does.
"""
from __future__ import annotations

from kornia.filters import spatial_gradient
from torch import Tensor, nn

from textif.losses.fusion import LossInputError

__all__ = ["distill_loss", "DistillLoss"]


def _sobel(x: Tensor) -> Tensor:
    return spatial_gradient(x, mode="sobel", order=1, normalized=False)


def distill_loss(student: Tensor, teacher: Tensor, *, gradient_weight: float = 0.0,
                 sample_weight: Tensor | None = None) -> Tensor:
    """``mean|student - teacher| + gradient_weight * mean|sobel(student) - sobel(teacher)|``.

    Args:
        student: ``(B, C, H, W)`` float, the output being trained (values around [0, 1]).
        teacher: ``(B, C, H, W)`` float, the target (no gradient flows into it).
        gradient_weight: weight of the Sobel term, >= 0 (0: the pixel term only).
        sample_weight: optional ``(B,)`` float weights, >= 0, one per sample: each sample's loss
            is multiplied by its weight before the batch mean (0 leaves a sample out, e.g. one that
            asks for a modality preference the teacher was not trained for). ``None``: all 1.

    Returns:
        A scalar tensor.
    """
    if not isinstance(student, Tensor) or not isinstance(teacher, Tensor):
        raise LossInputError("distill_loss: student and teacher must be torch.Tensors")
    if student.shape != teacher.shape or student.ndim != 4:
        raise LossInputError(f"distill_loss: student {tuple(student.shape)} and teacher {tuple(teacher.shape)} "
                             "must be the same (B, C, H, W) shape")
    if gradient_weight < 0:
        raise LossInputError(f"distill_loss: gradient_weight must be >= 0, got {gradient_weight}")
    if sample_weight is not None and tuple(sample_weight.shape) != (student.shape[0],):
        raise LossInputError(f"distill_loss: sample_weight must be ({student.shape[0]},), "
                             f"got {tuple(sample_weight.shape)}")
    teacher = teacher.detach()
    per = (student - teacher).abs().flatten(1).mean(1)  # (B,)
    if gradient_weight > 0:
        per = per + gradient_weight * (_sobel(student) - _sobel(teacher)).abs().flatten(1).mean(1)
    if sample_weight is not None:
        per = per * sample_weight.to(device=per.device, dtype=per.dtype)
    return per.mean()


class DistillLoss(nn.Module):
    """Module form of :func:`distill_loss`: ``forward(student, teacher)``."""

    def __init__(self, gradient_weight: float = 0.0) -> None:
        super().__init__()
        self.gradient_weight = gradient_weight

    def forward(self, student: Tensor, teacher: Tensor) -> Tensor:
        return distill_loss(student, teacher, gradient_weight=self.gradient_weight)
