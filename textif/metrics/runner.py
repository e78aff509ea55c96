"""Score folders of fused images against folders of source pairs (used by ``textif eval``)."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable, Optional, Sequence

from textif.core.errors import TextIFError
from textif.metrics import Metric, MetricInfo
from textif.metrics.errors import MetricWarning
from textif.metrics.io import load_image, load_triplet
from textif.metrics.report import EvalReport, MethodResult

__all__ = ["Method", "score_folders"]


class Method:
    """A named set of fused images: ``files`` maps stems to paths."""

    def __init__(self, name: str, files: dict[str, Path], folder: Optional[str] = None) -> None:
        self.name = name
        self.files = files
        self.folder = folder


def score_folders(
    pairs: dict[str, tuple[Path, Path]],
    methods: Sequence[Method],
    metrics: Sequence[Metric],
    *,
    strict: bool = False,
    on_progress: Optional[Callable[[int, int, str], None]] = None,
    title: str = "Fusion evaluation",
) -> EvalReport:
    """Score every method's fused image of every source pair with every metric.

    Args:
        pairs: ``{stem: (vis_path, ir_path)}``.
        methods: the fused images per method; stems without a file are reported as missing.
        metrics: configured :class:`Metric` objects.
        strict: raise on the first image that cannot be scored instead of recording it.
        on_progress: called as ``(done, total, label)`` after each fused image.

    Sources are read once per pair. Values that a metric leaves undefined are ``nan`` and the
    warning is kept in the method's notes.
    """
    results = [MethodResult(m.name, m.folder) for m in methods]
    for m, r in zip(methods, results):
        r.missing = [s for s in pairs if s not in m.files]
    total = sum(1 for m in methods for s in pairs if s in m.files)
    done = 0
    for stem, (vis_path, ir_path) in pairs.items():
        todo = [(m, r) for m, r in zip(methods, results) if stem in m.files]
        if not todo:
            continue
        try:
            vis = load_image(vis_path, "vis")
            ir = load_image(ir_path, "ir")
            src_error = None
        except TextIFError as e:
            if strict:
                raise
            src_error = str(e)
        for m, r in todo:
            done += 1
            if src_error is not None:
                r.errors[stem] = src_error
            else:
                try:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always", MetricWarning)
                        t = load_triplet(m.files[stem], ir, vis)
                        r.per_image[stem] = {mt.name: mt.compute(t) for mt in metrics}
                    r.notes += [f"{stem}: {w.message}" for w in caught if issubclass(w.category, MetricWarning)]
                except TextIFError as e:
                    if strict:
                        raise
                    r.errors[stem] = str(e)
            if on_progress is not None:
                on_progress(done, total, f"{m.name}/{stem}")
    infos: list[MetricInfo] = [mt.info for mt in metrics]
    return EvalReport(infos, {mt.name: mt.convention for mt in metrics}, list(pairs), results, title=title)
