"""Temporal stabilisation of per-frame fusion: smooth the low-frequency part of what the model adds.

Per-frame fusion treats every frame on its own, so the brightness and contrast that the network
puts into a region can wobble from one frame to the next although the scene hardly changes. The
stabiliser takes the model's correction of the visible frame, ``R_t = F_t - V_t`` (fused minus
visible, ``(1, 3, H, W)``), keeps its high frequencies (edges and detail, which must follow the
frame) and replaces its low-frequency part (a ``grid``-times downsampled copy) by an exponential
moving average over time:

    L_t   = down(R_t)                       low-frequency correction, (1, 3, H/grid, W/grid)
    S_t   = a * L_t + (1 - a) * S_(t-1)     S_0 = L_0; reset at a scene change
    out_t = F_t + up(S_t - L_t)

A scene change (the mean absolute change of the downsampled sources above ``scene_cut``) resets
the average so that nothing of the previous scene leaks into the new one. The state is one small
tensor per clip: memory does not grow with the length of the video.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["StabilizerConfig", "TemporalStabilizer", "stabilize_step"]


@dataclass(frozen=True)
class StabilizerConfig:
    """Settings of :class:`TemporalStabilizer`.

    Attributes:
        alpha: weight of the current frame in the moving average (1 = no smoothing; smaller = steadier
            but slower to follow real changes of lighting).
        grid: downsampling factor that defines "low frequency" (pixels per cell of the smoothed grid).
        scene_cut: mean absolute change (0..1) of the downsampled sources between two frames above
            which the average restarts (a cut or a sudden change of scene).
    """

    alpha: float = 0.35
    grid: int = 16
    scene_cut: float = 0.12

    def __post_init__(self) -> None:
        if not 0 < self.alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {self.alpha}")
        if self.grid < 1:
            raise ValueError(f"grid must be at least 1, got {self.grid}")


def _down(x: Tensor, grid: int) -> Tensor:
    """Area average over ``grid`` x ``grid`` cells (partial cells at the border included)."""
    h, w = x.shape[-2:]
    size = (max(1, -(-h // grid)), max(1, -(-w // grid)))
    return F.adaptive_avg_pool2d(x, size)


def _up(x: Tensor, size: tuple[int, int]) -> Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def stabilize_step(
    fused: Tensor, vis: Tensor, state: Optional[Tensor], *, alpha: float, grid: int
) -> tuple[Tensor, Tensor]:
    """One step of the stabiliser.

    Args:
        fused: ``(1, C, H, W)`` float in [0, 1], this frame's fusion.
        vis: ``(1, C, H, W)`` (or ``(1, 1, H, W)``) float in [0, 1], this frame's visible input.
        state: the moving average ``(1, C, h, w)`` of the previous frames, or ``None`` to start.
        alpha: weight of this frame in the average.
        grid: low-frequency cell size in pixels.

    Returns:
        ``(out, state)``: the stabilised frame ``(1, C, H, W)`` clamped to [0, 1] (the input's device
        and dtype) and the new state.
    """
    low = _down(fused - vis, grid)
    new = low if state is None or state.shape != low.shape else alpha * low + (1.0 - alpha) * state
    out = fused + _up(new - low, tuple(fused.shape[-2:]))
    return out.clamp_(0.0, 1.0), new


class TemporalStabilizer(torch.nn.Module):
    """Stateful stabiliser for one clip: call it on every frame in order; :meth:`reset` between clips.

    ``forward(fused, vis, ir=None) -> out``: ``fused``/``vis`` ``(1, 3, H, W)``, ``ir`` ``(1, 1, H, W)``,
    float in [0, 1]. :attr:`scene_changed` tells whether the last frame started a new scene.
    """

    def __init__(self, config: StabilizerConfig | None = None) -> None:
        super().__init__()
        self.config = config or StabilizerConfig()
        self.state: Optional[Tensor] = None
        self._prev_src: Optional[Tensor] = None
        self.scene_changed = False

    def reset(self) -> None:
        self.state = None
        self._prev_src = None
        self.scene_changed = False

    def observe(self, vis: Tensor, ir: Optional[Tensor] = None) -> bool:
        """Look at this frame's sources; return (and remember) whether a new scene starts here."""
        c = self.config
        src = _down(vis.float().mean(1, keepdim=True), c.grid)
        if ir is not None:
            src = torch.cat([src, _down(ir.float().mean(1, keepdim=True), c.grid)], 1)
        prev, self._prev_src = self._prev_src, src
        self.scene_changed = prev is None or prev.shape != src.shape or float((src - prev).abs().mean()) > c.scene_cut
        return self.scene_changed

    def forward(self, fused: Tensor, vis: Tensor, ir: Optional[Tensor] = None, *, observed: bool = False) -> Tensor:
        if not observed:
            self.observe(vis, ir)
        if self.scene_changed:
            self.state = None
        out, self.state = stabilize_step(fused, vis.expand_as(fused), self.state, alpha=self.config.alpha,
                                         grid=self.config.grid)
        return out
