"""Fusion metrics in the style of pyiqa: ``create_metric(name)``, ``list_metrics()``.

>>> import textif
>>> qabf = textif.create_metric("qabf")
>>> qabf.lower_better, qabf.score_range, qabf.needs_sources
(False, (0.0, 1.0), True)
>>> qabf("fused.png", ir="ir.png", vis="vis.png")          # doctest: +SKIP
0.4878

Images are read with the field's grey-level convention (:mod:`textif.metrics.io`); every metric
is a plain function of ``(H, W)`` float64 grey levels in :mod:`textif.metrics.reference` or
:mod:`textif.metrics.noref`, with a docstring giving its definition and source. The default
``convention="cddfuse"`` reproduces the CDDFuse evaluator that the field's tables use; other
conventions are listed in each :class:`MetricInfo` and in ``docs/evaluation.md``.

``musiq`` and ``clipiqa`` are not implementations of those models: they run a model file that
you supply (``create_metric("musiq", weights=FILE)``, CLI ``--weights musiq=FILE``) and are not
among :data:`DEFAULT_METRICS`; textif ships no network or weights for them
(:class:`~textif.metrics.noref.ExportedIQA`).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from textif.core.registry import Registry
from textif.metrics import noref, reference, temporal
from textif.metrics.errors import (
    MetricError,
    MetricInputError,
    MetricSizeError,
    MetricUnavailableError,
    MetricWarning,
)
from textif.metrics.io import ImageLike, Triplet, load_triplet

__all__ = [
    "METRICS",
    "DEFAULT_METRICS",
    "Metric",
    "MetricInfo",
    "MetricError",
    "MetricInputError",
    "MetricSizeError",
    "MetricUnavailableError",
    "MetricWarning",
    "create_metric",
    "list_metrics",
    "metric_info",
    "evaluate_pair",
]

INF = math.inf

KIND_FUSED = "fused"  # statistics of the fused image alone (EN, SD, SF, AG)
KIND_SOURCES = "sources"  # compares the fused image with both sources
KIND_NOREF = "no-reference"  # learned/natural-scene no-reference quality models
KIND_TEMPORAL = "temporal"  # scores a whole video (sequences of fused and source frames)
KINDS = (KIND_FUSED, KIND_SOURCES, KIND_NOREF, KIND_TEMPORAL)


@dataclass(frozen=True)
class MetricInfo:
    """What the metric table knows about one metric.

    Attributes:
        name: registry key (lower case), e.g. ``"qabf"``.
        display: column title, e.g. ``"Qabf"``.
        func: the implementing function (see its docstring for the definition and source).
        lower_better: ``True``/``False``, or ``None`` for values reported without a preferred
            direction (MSE and PSNR against the sources, as in the peers' tables).
        score_range: ``(low, high)`` of the default convention (``inf`` when unbounded).
        kind: ``"fused"`` (fused image only), ``"sources"`` (needs ``ir`` and ``vis``),
            ``"no-reference"`` (learned/NSS quality models on the fused image) or ``"temporal"``
            (a video: sequences of fused and source frames).
        conventions: accepted ``convention=`` values, the default first.
        ranges: score ranges of the non-default conventions that differ.
        needs_weights: the metric needs a user-given weights file.
        summary: one line for tables.
    """

    name: str
    display: str
    func: Callable[..., float]
    lower_better: Optional[bool]
    score_range: tuple[float, float]
    kind: str
    conventions: tuple[str, ...] = ("cddfuse",)
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    needs_weights: bool = False
    summary: str = ""

    @property
    def needs_sources(self) -> bool:
        return self.kind in (KIND_SOURCES, KIND_TEMPORAL)

    @property
    def default_convention(self) -> str:
        return self.conventions[0]

    @property
    def direction(self) -> str:
        """``"higher"``, ``"lower"`` or ``"none"``."""
        return "none" if self.lower_better is None else ("lower" if self.lower_better else "higher")

    def range_for(self, convention: Optional[str] = None) -> tuple[float, float]:
        conv = (convention or self.default_convention).lower()
        return tuple(self.ranges.get(conv, self.score_range))  # type: ignore[return-value]


METRICS: Registry[MetricInfo] = Registry("metric")


def _add(info: MetricInfo) -> None:
    METRICS.add(info.name, info)


_add(MetricInfo("en", "EN", reference.entropy, False, (0.0, 8.0), KIND_FUSED,
                summary="entropy of the grey-level histogram (bits)"))
_add(MetricInfo("sd", "SD", reference.standard_deviation, False, (0.0, 127.5), KIND_FUSED,
                summary="standard deviation of the grey levels (contrast)"))
_add(MetricInfo("sf", "SF", reference.spatial_frequency, False, (0.0, INF), KIND_FUSED,
                conventions=("cddfuse", "vifb"), summary="spatial frequency (row/column differences)"))
_add(MetricInfo("ag", "AG", reference.average_gradient, False, (0.0, INF), KIND_FUSED,
                conventions=("cddfuse", "vifb"), summary="average gradient (sharpness)"))
_add(MetricInfo("mi", "MI", reference.mutual_information, False, (0.0, 2 * math.log(256)), KIND_SOURCES,
                conventions=("cddfuse", "bits", "vifb"), ranges={"bits": (0.0, 16.0)},
                summary="MI(F,IR) + MI(F,VIS), nats"))
_add(MetricInfo("scd", "SCD", reference.scd, False, (-2.0, 2.0), KIND_SOURCES,
                summary="sum of the correlations of differences"))
_add(MetricInfo("vif", "VIF", reference.vif, False, (0.0, INF), KIND_SOURCES,
                summary="VIFp(IR,F) + VIFp(VIS,F), LIVE pixel-domain VIF"))
_add(MetricInfo("qabf", "Qabf", reference.qabf, False, (0.0, 1.0), KIND_SOURCES,
                summary="edge-information preservation (Xydeas-Petrovic)"))
_add(MetricInfo("ssim", "SSIM", reference.ssim, False, (-2.0, 2.0), KIND_SOURCES,
                conventions=("cddfuse", "mean", "vifb"), ranges={"mean": (-1.0, 1.0)},
                summary="SSIM(F,IR) + SSIM(F,VIS)"))
_add(MetricInfo("cc", "CC", reference.cc, False, (-1.0, 1.0), KIND_SOURCES,
                summary="mean correlation coefficient with the sources"))
_add(MetricInfo("mse", "MSE", reference.mse, None, (0.0, 65025.0), KIND_SOURCES,
                summary="mean squared error to the sources (no direction)"))
_add(MetricInfo("psnr", "PSNR", reference.psnr, None, (0.0, INF), KIND_SOURCES,
                conventions=("cddfuse", "peak255"), summary="10 log10(max(F)^2 / MSE), dB (no direction)"))
_add(MetricInfo("nabf", "Nabf", reference.nabf, True, (0.0, 1.0), KIND_SOURCES,
                summary="fusion artifacts, Kumar's modified Nabf on 0-255 grey levels"))
_add(MetricInfo("niqe", "NIQE", noref.niqe, True, (0.0, INF), KIND_NOREF,
                conventions=("pyiqa",), summary="natural image quality evaluator (LIVE model)"))
_add(MetricInfo("brisque", "BRISQUE", noref.brisque, True, (-INF, INF), KIND_NOREF,
                conventions=("pyiqa",), summary="BRISQUE, LIVE SVR (about 0-100)"))
_add(MetricInfo("musiq", "MUSIQ", noref.ExportedIQA, False, (0.0, 100.0), KIND_NOREF,
                conventions=("user-weights",), needs_weights=True,
                summary="runs YOUR model file (--weights musiq=FILE); no MUSIQ model ships"))
_add(MetricInfo("clipiqa", "CLIP-IQA", noref.ExportedIQA, False, (0.0, 1.0), KIND_NOREF,
                conventions=("user-weights",), needs_weights=True,
                summary="runs YOUR model file (--weights clipiqa=FILE); no CLIP-IQA model ships"))
_add(MetricInfo("temporal_flicker", "Flicker", temporal.temporal_flicker, True, (0.0, INF), KIND_TEMPORAL,
                summary="fused frame-to-frame luminance change / per-pixel larger source change (video)"))

#: Canonical order of the metric columns (the built-in metrics scored by default).
DEFAULT_METRICS: tuple[str, ...] = (
    "en", "sd", "sf", "ag", "mi", "scd", "vif", "qabf", "ssim", "cc", "mse", "psnr", "nabf", "niqe", "brisque",
)
_ORDER = DEFAULT_METRICS + ("musiq", "clipiqa")


def metric_info(name: str) -> MetricInfo:
    """The :class:`MetricInfo` of ``name`` (unknown names raise with a "did you mean" hint)."""
    return METRICS.get(name)


def list_metrics(kind: Optional[str] = None, *, include_weighted: bool = True) -> list[str]:
    """Names of the registered metrics in table order, optionally of one ``kind``.

    ``kind``: ``"fused"``, ``"sources"``, ``"no-reference"`` or ``"temporal"``; ``include_weighted=False`` leaves
    out the metrics that need a user-given weights file (MUSIQ, CLIP-IQA).
    """
    if kind is not None and kind not in KINDS:
        raise MetricInputError(f"unknown metric kind {kind!r} (kinds: {', '.join(KINDS)})")
    names = [n for n in _ORDER if n in METRICS] + [n for n in METRICS.names() if n not in _ORDER]
    out = []
    for n in names:
        info = METRICS.get(n)
        if kind is not None and info.kind != kind:
            continue
        if info.needs_weights and not include_weighted:
            continue
        out.append(n)
    return out


class Metric:
    """A configured metric, callable on files or arrays (pyiqa style).

    ``metric(fused, ir=..., vis=...)`` returns a float; ``ir`` and ``vis`` are required when
    :attr:`needs_sources` is true and ignored otherwise. Paths are read with the evaluator's
    convention; arrays follow :mod:`textif.metrics.io`. Sizes must match
    (:class:`MetricSizeError`); undefined values are ``nan`` with a :class:`MetricWarning`.
    """

    def __init__(self, info: MetricInfo, convention: Optional[str] = None, weights: Optional[str | os.PathLike] = None):
        conv = (convention or info.default_convention).lower()
        if conv not in info.conventions:
            raise MetricInputError(
                f"metric {info.name!r}: unknown convention {convention!r} (options: {', '.join(info.conventions)})"
            )
        self.info = info
        self.convention = conv
        self._model = None
        if info.needs_weights:
            self._model = info.func(info.name, weights)
        elif weights is not None:
            raise MetricInputError(f"metric {info.name!r} takes no weights file")

    name = property(lambda self: self.info.name)
    display = property(lambda self: self.info.display)
    lower_better = property(lambda self: self.info.lower_better)
    kind = property(lambda self: self.info.kind)
    needs_sources = property(lambda self: self.info.needs_sources)

    @property
    def score_range(self) -> tuple[float, float]:
        return self.info.range_for(self.convention)

    def compute(self, t: Triplet) -> float:
        """Score an already loaded :class:`~textif.metrics.io.Triplet`."""
        info = self.info
        if info.kind == KIND_TEMPORAL:
            raise MetricInputError(f"metric {info.name!r} scores a video: call it on sequences of frames, not one image")
        if info.needs_weights:
            return self._model(t.fused_rgb01)  # type: ignore[misc]
        if info.kind == KIND_NOREF:
            return float(info.func(t.fused))
        kw: dict[str, Any] = {}
        if len(info.conventions) > 1:
            kw["convention"] = self.convention
        if info.kind == KIND_FUSED:
            return float(info.func(t.fused, **kw))
        if t.ir is None or t.vis is None:
            raise MetricInputError(f"metric {info.name!r} compares with the sources: pass ir= and vis=")
        return float(info.func(t.fused, t.ir, t.vis, **kw))

    def __call__(self, fused: ImageLike, ir: Optional[ImageLike] = None, vis: Optional[ImageLike] = None) -> float:
        if self.needs_sources and (ir is None or vis is None):
            raise MetricInputError(f"metric {self.name!r} compares with the sources: pass ir= and vis=")
        if self.kind == KIND_TEMPORAL:  # sequences of frames (paths or arrays), read one at a time
            return float(self.info.func(fused, ir, vis))
        if not self.needs_sources:
            ir = vis = None  # not read
        return self.compute(load_triplet(fused, ir, vis))

    def __repr__(self) -> str:
        return (
            f"Metric({self.name!r}, convention={self.convention!r}, lower_better={self.lower_better}, "
            f"score_range={self.score_range}, kind={self.kind!r})"
        )


def create_metric(name: str, convention: Optional[str] = None, weights: Optional[str | os.PathLike] = None) -> Metric:
    """Create a metric by name (``list_metrics()`` gives the names).

    Args:
        name: e.g. ``"qabf"``, ``"ssim"``, ``"niqe"`` (case-insensitive).
        convention: one of the metric's :attr:`MetricInfo.conventions` (default ``"cddfuse"``).
        weights: weights file, only for the metrics that need one (MUSIQ, CLIP-IQA).

    Raises:
        UnknownNameError: no such metric (the message suggests close names).
        MetricInputError: unknown convention.
        MetricUnavailableError: a weights file is needed and missing.
    """
    return Metric(METRICS.get(name), convention=convention, weights=weights)


def evaluate_pair(
    fused: ImageLike,
    ir: Optional[ImageLike] = None,
    vis: Optional[ImageLike] = None,
    metrics: Iterable[str | Metric] = DEFAULT_METRICS,
    conventions: Optional[Mapping[str, str]] = None,
) -> dict[str, float]:
    """Score one fused image with several metrics, reading each image once.

    ``metrics`` may hold names or :class:`Metric` objects; ``conventions`` maps names to
    conventions. Metrics that need the sources are skipped when ``ir``/``vis`` are not given.
    Returns ``{name: value}`` in the given order.
    """
    conventions = {k.lower(): v for k, v in (conventions or {}).items()}
    objs: Sequence[Metric] = [
        m if isinstance(m, Metric) else create_metric(m, convention=conventions.get(str(m).lower())) for m in metrics
    ]
    objs = [m for m in objs if m.kind != KIND_TEMPORAL]  # a video metric does not score one image
    have_sources = ir is not None and vis is not None
    t = load_triplet(fused, ir if have_sources else None, vis if have_sources else None)
    return {m.name: m.compute(t) for m in objs if have_sources or not m.needs_sources}
