"""Decision thresholds of the detector, calibrated on real clean images.

The detector's probabilities are trained on synthetic degradations plus a few hundred real
degraded images; on real clean images from other cameras (dusk scenes, flat thermal images)
some types fire too often, and every false alarm makes ``--text auto`` repair what is not
there. :func:`calibrate_thresholds` raises a type's threshold until at most ``max_false`` of the
calibration images without that type exceed it, never lowering it below the detector's own.

The calibration images (:func:`textif.detect.sets.calibration_images`) are real images the
evaluation never uses: the RoadScene training split, the TNO half the detector trains on, and
the clean and degraded EMS/train scenes outside the hold-out.
"""
from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textif.core.errors import TextIFError
from textif.core.io import atomic_write

__all__ = ["CalibrationResult", "calibrate_thresholds", "image_probabilities", "write_calibrated"]


@dataclass
class CalibrationResult:
    """Thresholds and what they do on the calibration images.

    ``false_alarms[t]`` / ``recall[t]``: ``(before, after)`` shares of the calibration images
    without / with type ``t`` that reach the threshold (``None`` where there are no such images).
    """

    thresholds: dict[str, float]
    before: dict[str, float]
    false_alarms: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    recall: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # type -> (without, with)
    #: type -> source -> (images without the type, false alarms before, after); one source "all"
    #: when no groups are given
    per_source: dict[str, dict[str, tuple[int, float | None, float | None]]] = field(default_factory=dict)


def _share(x: np.ndarray, t: float) -> float | None:
    return float((x >= t).mean()) if x.size else None


def _above_share(neg: np.ndarray, max_false: float) -> float:
    """Smallest threshold on a 1e-4 grid that at most ``floor(max_false * n)`` of ``neg`` reach
    (0 if none need to be excluded)."""
    k = int(np.floor(max_false * neg.size))
    if k >= neg.size:
        return 0.0
    v = float(np.sort(neg)[::-1][k])  # the highest probability that must stay below the threshold
    t = round(math.ceil(v * 1e4) / 1e4, 4)
    while t <= v:
        t = round(t + 1e-4, 4)
    return t


def calibrate_thresholds(probs: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray],
                         current: Mapping[str, float], *, groups: Mapping[str, np.ndarray] | None = None,
                         max_false: float = 0.05, cap: float = 0.99, default: float = 0.5) -> CalibrationResult:
    """Per-type thresholds with at most ``max_false`` false alarms on the calibration images.

    Args:
        probs: type -> ``(N,)`` probabilities in [0, 1] of the calibration images of its modality.
        labels: type -> ``(N,)`` bool, True where the image shows the type.
        current: the detector's thresholds (a type missing from it uses ``default``).
        groups: type -> ``(N,)`` source names; the limit then holds within every source, so a
            small source (say, one camera's dusk scenes) is not outvoted by a large one.
        max_false: largest share of images without the type that may reach the threshold.
        cap: the threshold never goes above this (so a type can still be reported).

    Returns:
        thresholds ``max(current, the smallest t that at most floor(max_false * n) of the n
        negatives reach)`` on a 1e-4 grid (per source when ``groups`` is given), capped,
        with false alarms and recall before and after.
    """
    if not 0.0 <= max_false < 1.0:
        raise TextIFError(f"max_false must be in [0, 1), got {max_false}")
    res = CalibrationResult(thresholds={}, before={})
    for t, p in probs.items():
        p = np.asarray(p, dtype=np.float64)
        y = np.asarray(labels[t], dtype=bool)
        if p.shape != y.shape:
            raise TextIFError(f"{t}: {p.shape[0]} probabilities but {y.shape[0]} labels")
        g = np.asarray(groups[t]) if groups is not None else np.zeros(p.shape, dtype=int)
        if g.shape != p.shape:
            raise TextIFError(f"{t}: {p.shape[0]} probabilities but {g.shape[0]} group names")
        neg, pos = p[~y], p[y]
        old = float(current.get(t, default))
        by_source = {k: p[~y & (g == k)] for k in np.unique(g[~y])}
        need = max((_above_share(v, max_false) for v in by_source.values()), default=0.0)
        new = min(need, cap) if need > old else old
        res.per_source[t] = {(str(k) if groups is not None else "all"): (int(v.size), _share(v, old), _share(v, new))
                             for k, v in by_source.items()}
        res.thresholds[t] = new
        res.before[t] = old
        res.false_alarms[t] = (_share(neg, old), _share(neg, new))
        res.recall[t] = (_share(pos, old), _share(pos, new))
        res.counts[t] = (int(neg.size), int(pos.size))
    return res


def image_probabilities(detector: Any, images: Sequence[Any], *, progress: bool = True) -> dict[str, Any]:
    """Probabilities of every type for labelled images (:class:`~textif.detect.sets.LabelledImage`).

    Returns:
        ``{type: (probs (N_mod,), labels (N_mod,), sources (N_mod,))}`` per type, over the images
        of its modality,
        and ``"failed"``: ``[(path, message)]`` for images that could not be read.
    """
    from tqdm.auto import tqdm

    from textif.detect.diagnosis import _to_tensor

    cfg = detector.config
    acc: dict[str, tuple[list[float], list[bool], list[str]]] = {t: ([], [], []) for m in ("vis", "ir")
                                                                  for t in cfg.types(m)}
    failed: list[tuple[str, str]] = []
    for im in tqdm(images, desc="calibrating", unit="image", disable=not progress, dynamic_ncols=True):
        try:
            x, _ = _to_tensor(im.path, im.modality)
        except TextIFError as e:
            failed.append((str(im.path), str(e)))
            continue
        prob, _ = detector.predict(x, im.modality)
        for k, t in enumerate(cfg.types(im.modality)):
            acc[t][0].append(float(prob[0, k]))
            acc[t][1].append(t in im.types)
            acc[t][2].append(im.source)
    out: dict[str, Any] = {t: (np.asarray(p), np.asarray(y, dtype=bool), np.asarray(g)) for t, (p, y, g) in acc.items()}
    out["failed"] = failed
    return out


def write_calibrated(src: str | os.PathLike, dst: str | os.PathLike, result: CalibrationResult,
                     note: str) -> Path:
    """Copy a detector folder to ``dst`` with the calibrated thresholds (the weights are unchanged)."""
    src, dst = Path(src), Path(dst)
    meta = json.loads((src / "config.json").read_text())
    meta["thresholds"] = dict(result.thresholds)
    meta.setdefault("training", {})["thresholds"] = note
    dst.mkdir(parents=True, exist_ok=True)
    if src.resolve() != dst.resolve():
        atomic_write(dst / "model.safetensors", lambda p: shutil.copyfile(src / "model.safetensors", p))
    atomic_write(dst / "config.json", lambda p: p.write_text(json.dumps(meta, indent=2) + "\n"))
    return dst
