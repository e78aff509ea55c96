"""Temporal stability of a fused video: does it flicker more than its sources?

``temporal_flicker`` compares how much the fused video's luminance changes from one frame to the
next with how much the sources change, pixel by pixel:

    dX_t(p)          = |Y_t(p) - Y_(t-1)(p)|                 frame-to-frame change (grey levels 0..255)
    temporal_flicker = mean_t,p dF_t(p) / mean_t,p max(dV_t(p), dI_t(p))

``Y`` is the evaluator's grey image (:func:`textif.metrics.io.load_gray`: BT.601 luminance rounded
to integer levels). At each pixel the reference is the larger of the two sources' own change, so
motion seen by either camera is allowed for, while a change that neither source shows (a static
region whose fused brightness or texture wobbles) counts fully. A fusion that adds no flicker of
its own scores at most about 1 (taking each pixel from one source gives at most 1); above 1 the
fused video changes more than its sources do. Lower is steadier. The sources are the inputs the
fusion was given (degraded inputs included).

:class:`FlickerResult` also gives the frame-mean variant ``change(F) / max(change(V), change(I))``
(``global_ratio``, means over whole frames). It is not the metric because it penalises fusion
itself: where the two cameras see different moving edges, a fused frame holds both, so it changes
more than either source even when nothing flickers (a per-pixel maximum of the two sources, which
cannot flicker, scores about 1.2 on a moving scene).

Frames are read one at a time (:class:`FlickerMeter`), so a long video needs the memory of two
frames per stream.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np

from textif.metrics.errors import MetricInputError, MetricSizeError, MetricWarning
from textif.metrics.io import ImageLike, load_gray

__all__ = ["FlickerMeter", "FlickerResult", "frame_change", "temporal_flicker"]


@dataclass(frozen=True)
class FlickerResult:
    """The parts of the flicker ratio: mean absolute frame-to-frame change (grey levels) of each
    stream, and of the per-pixel larger source change (``sources``)."""

    fused: float
    vis: float
    ir: float
    sources: float
    frames: int

    @property
    def ratio(self) -> float:
        """``temporal_flicker``: ``fused / sources``; ``nan`` when neither source changes at all."""
        return self.fused / self.sources if self.sources > 0 else math.nan

    @property
    def global_ratio(self) -> float:
        """Frame-mean variant ``fused / max(vis, ir)`` (see the module docstring); ``nan`` for static sources."""
        ref = max(self.vis, self.ir)
        return self.fused / ref if ref > 0 else math.nan


class _Change:
    """Running mean of |Y_t - Y_(t-1)| for one stream."""

    def __init__(self, role: str) -> None:
        self.role = role
        self.prev: Optional[np.ndarray] = None
        self.total = 0.0
        self.steps = 0
        self.frames = 0

    def add(self, frame: ImageLike) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """Read one frame; return it and its absolute change from the previous frame (``None`` for the first)."""
        y = load_gray(frame, f"{self.role} frame {self.frames + 1}")
        d = None
        if self.prev is not None:
            if y.shape != self.prev.shape:
                raise MetricSizeError(
                    f"{self.role} frame {self.frames + 1} is {y.shape[1]}x{y.shape[0]}, the frames before it are "
                    f"{self.prev.shape[1]}x{self.prev.shape[0]}"
                )
            d = np.abs(y - self.prev)
            self.total += float(d.mean())
            self.steps += 1
        self.prev = y
        self.frames += 1
        return y, d

    @property
    def mean(self) -> float:
        return self.total / self.steps if self.steps else math.nan


class FlickerMeter:
    """Accumulates :func:`temporal_flicker` frame by frame (constant memory).

        meter = FlickerMeter()
        for f, v, i in zip(fused_frames, vis_frames, ir_frames):
            meter.add(f, vis=v, ir=i)
        meter.result().ratio
    """

    def __init__(self) -> None:
        self._f, self._v, self._i = _Change("fused"), _Change("visible"), _Change("infrared")
        self._src = 0.0

    def add(self, fused: ImageLike, *, vis: ImageLike, ir: ImageLike) -> None:
        """Add one frame of each stream: paths or arrays (``(H, W)`` / ``(H, W, 3)``, see :mod:`textif.metrics.io`)."""
        (yf, _), (yv, dv), (yi, di) = self._f.add(fused), self._v.add(vis), self._i.add(ir)
        if not (yf.shape == yv.shape == yi.shape):
            raise MetricSizeError(
                f"frame {self._f.frames}: fused is {yf.shape[1]}x{yf.shape[0]}, visible {yv.shape[1]}x{yv.shape[0]}, "
                f"infrared {yi.shape[1]}x{yi.shape[0]}; all three must have the same size"
            )
        if dv is not None and di is not None:
            self._src += float(np.maximum(dv, di).mean())

    @property
    def frames(self) -> int:
        return self._f.frames

    def result(self) -> FlickerResult:
        if self.frames < 2:
            raise MetricInputError(f"temporal_flicker needs at least 2 frames, got {self.frames}")
        return FlickerResult(self._f.mean, self._v.mean, self._i.mean, self._src / self._f.steps, self.frames)


def frame_change(frames: Iterable[ImageLike], role: str = "video") -> float:
    """Mean absolute frame-to-frame change of the luminance of ``frames`` (grey levels 0..255).

    ``frames``: paths or arrays, read one at a time; at least two.
    """
    c = _Change(role)
    for f in frames:
        c.add(f)
    if c.frames < 2:
        raise MetricInputError(f"{role}: frame_change needs at least 2 frames, got {c.frames}")
    return c.mean


def temporal_flicker(fused: Iterable[ImageLike], ir: Iterable[ImageLike], vis: Iterable[ImageLike]) -> float:
    """Temporal flicker of a fused video relative to its sources (lower is steadier; about 1 or less
    means no flicker added by the fusion).

    ``mean |dF| / mean max(|dV|, |dI|)``: the mean absolute frame-to-frame difference of the fused
    luminance (BT.601, rounded grey levels 0..255) over pixels and frame steps, divided by the mean
    of the larger of the two sources' differences at each pixel (see :mod:`textif.metrics.temporal`). The three sequences are iterables of frames (paths or arrays), read one
    at a time; they must have the same length (at least 2) and frame size. Returns ``nan`` with a
    :class:`~textif.metrics.errors.MetricWarning` when neither source changes at all.
    """
    meter = FlickerMeter()
    it_f, it_v, it_i = iter(fused), iter(vis), iter(ir)
    sentinel = object()
    while True:
        f, v, i = next(it_f, sentinel), next(it_v, sentinel), next(it_i, sentinel)
        ended = [f is sentinel, v is sentinel, i is sentinel]
        if all(ended):
            break
        if any(ended):
            n = meter.frames
            names = [k for k, e in zip(("fused", "visible", "infrared"), ended) if e]
            raise MetricInputError(f"temporal_flicker: the {' and '.join(names)} sequence ends after {n} frame(s), the others go on")
        meter.add(f, vis=v, ir=i)  # type: ignore[arg-type]
    r = meter.result()
    if not math.isfinite(r.ratio):
        warnings.warn("temporal_flicker: neither source changes between frames; the ratio is undefined (nan)",
                      MetricWarning, stacklevel=2)
    return r.ratio
