"""Task-dependent loss weights alpha(t) and delta_ir(t) (paper Eq. 11 and 14).

The official Text-IF release fixes, per task, the weights of the intensity, SSIM,
gradient and colour terms: low light 8/1/10/12, overexposure 4/0/2/12, infrared low
contrast 8/1/10/12, infrared noise 6/1/10/12, with the infrared SSIM ratio
``delta_ir = 1``. The other rows below are choices made here by analogy (see
``docs/training-data.md`` for the reasons):

========================  =========  ====  ========  =====  ========
task                      intensity  ssim  gradient  color  delta_ir
========================  =========  ====  ========  =====  ========
fusion (clean)            8          1     10        12     1
low_light (official)      8          1     10        12     1
overexposure (official)   4          0     2         12     1
noise                     6          1     10        12     1
blur                      8          1     10        12     1
haze                      8          1     10        12     1
rain                      6          1     10        12     1
ir_low_contrast (offic.)  8          1     10        12     1
ir_noise (official)       6          1     10        12     1
ir_stripe                 6          1     10        12     1
========================  =========  ====  ========  =====  ========

A composite ``"a+b"`` gets the element-wise mean of its parts' rows (unless the table
has the composite itself), so the loss keeps the scale of a single task and each part
keeps half of what it asks for.
"""
from __future__ import annotations

from dataclasses import astuple, dataclass
from typing import Mapping, Sequence

import torch
from torch import Tensor

from textif.core.errors import TextIFError
from textif.data.degradations import NEUTRAL_TASK, composite_name, split_task

__all__ = ["LOSS_TERMS", "LossWeights", "TASK_WEIGHTS", "loss_weights", "weights_tensor"]

#: Column order of :func:`weights_tensor`.
LOSS_TERMS = ("intensity", "ssim", "gradient", "color", "delta_ir")


@dataclass(frozen=True)
class LossWeights:
    """Weights of one task: alpha_int, alpha_ssim, alpha_grad, alpha_color and delta_ir."""

    intensity: float
    ssim: float
    gradient: float
    color: float
    delta_ir: float = 1.0

    def as_tuple(self) -> tuple[float, float, float, float, float]:
        return astuple(self)  # type: ignore[return-value]


_BASE = LossWeights(8.0, 1.0, 10.0, 12.0, 1.0)
_NOISY = LossWeights(6.0, 1.0, 10.0, 12.0, 1.0)

#: Weights per single task (and ``"fusion"``).
TASK_WEIGHTS: dict[str, LossWeights] = {
    NEUTRAL_TASK: _BASE,
    "low_light": _BASE,
    "overexposure": LossWeights(4.0, 0.0, 2.0, 12.0, 1.0),
    "noise": _NOISY,
    "blur": _BASE,
    "haze": _BASE,
    "rain": _NOISY,
    "ir_low_contrast": _BASE,
    "ir_noise": _NOISY,
    "ir_stripe": _NOISY,
}


def loss_weights(task: str, table: Mapping[str, LossWeights] | None = None) -> LossWeights:
    """Weights of ``task`` (a name from :data:`textif.data.prompts.TASKS`; composites in any order).

    Raises:
        UnknownNameError: unknown degradation name (suggests close names).
        TextIFError: the table lacks a row the task needs.
    """
    tbl = TASK_WEIGHTS if table is None else table
    parts = split_task(task)
    key = composite_name(parts) if parts else NEUTRAL_TASK
    if key in tbl:
        return tbl[key]
    missing = [p for p in parts if p not in tbl]
    if missing or not parts:
        raise TextIFError(f"loss weight table has no row for {', '.join(missing) or key!r}")
    rows = [tbl[p].as_tuple() for p in parts]
    return LossWeights(*(sum(col) / len(rows) for col in zip(*rows)))


def weights_tensor(
    tasks: Sequence[str],
    *,
    table: Mapping[str, LossWeights] | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """``(B,)`` task names -> ``(B, 5)`` weights in the order of :data:`LOSS_TERMS`."""
    if isinstance(tasks, str):
        raise TextIFError("weights_tensor: tasks must be a sequence of task names, not one string")
    cache: dict[str, tuple[float, ...]] = {}
    rows = []
    for t in tasks:
        if t not in cache:
            cache[t] = loss_weights(t, table).as_tuple()
        rows.append(cache[t])
    out = torch.tensor(rows, device=device, dtype=dtype or torch.get_default_dtype())
    return out.reshape(len(rows), len(LOSS_TERMS))
