"""Evaluation results: per-image and mean ± std tables (Markdown, CSV, JSON), image grids.

Reports are written atomically (temporary file in the destination folder, then renamed), so an
interrupted run never leaves a half-written report.
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from typing import Optional, Sequence

import cv2
import numpy as np

from textif.core.io import write_text_atomic
from textif.metrics import MetricInfo

__all__ = ["MethodResult", "EvalReport", "write_text_atomic", "format_value", "format_mean_std", "make_grid"]


@dataclass
class MethodResult:
    """Scores of one method (one folder of fused images).

    ``per_image``: ``{stem: {metric: value}}`` for the images scored; ``errors``: ``{stem: message}``
    for the images that could not be scored; ``missing``: stems of source pairs without a fused
    image; ``notes``: warnings raised while scoring (e.g. undefined values).
    """

    name: str
    folder: Optional[str] = None
    per_image: dict[str, dict[str, float]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def values(self, metric: str) -> np.ndarray:
        """Finite values of ``metric`` over the scored images."""
        v = np.array([row.get(metric, math.nan) for row in self.per_image.values()], dtype=np.float64)
        return v[np.isfinite(v)]

    def summary(self, metric: str) -> tuple[float, float, int]:
        """``(mean, std, n)`` over the finite values (sample std, ddof=1; 0 for one image)."""
        v = self.values(metric)
        if v.size == 0:
            return math.nan, math.nan, 0
        return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0, int(v.size)


def _decimals(v: float) -> int:
    a = abs(v)
    return 4 if a < 100 else (2 if a < 1000 else 1)


def format_value(v: float, decimals: Optional[int] = None) -> str:
    """Fixed decimals by magnitude (4 below 100, 2 below 1000, else 1); tiny non-zero values in
    scientific notation; nan/inf spelled out."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if decimals is None:
        if v != 0 and abs(v) < 5e-4:
            return f"{v:.2e}"
        decimals = _decimals(v)
    return f"{v:.{decimals}f}"


def format_mean_std(mean: float, std: float) -> str:
    """``mean ± std`` with the std in the mean's number format."""
    if not math.isfinite(mean):
        return format_value(mean)
    if mean != 0 and abs(mean) < 5e-4:
        return f"{mean:.2e} ± {std:.1e}"
    d = _decimals(mean)
    return f"{format_value(mean, d)} ± {format_value(std, d)}"


def _arrow(info: MetricInfo) -> str:
    return {None: "·", True: "↓", False: "↑"}[info.lower_better]


def _best(values: dict[str, float], info: MetricInfo) -> set[str]:
    """Keys holding the best finite value (all ties), or none for undirected metrics."""
    if info.lower_better is None:
        return set()
    finite = {k: v for k, v in values.items() if v is not None and math.isfinite(v)}
    if len(finite) < 2:
        return set()
    target = min(finite.values()) if info.lower_better else max(finite.values())
    return {k for k, v in finite.items() if v == target}


@dataclass
class EvalReport:
    """All methods scored on the same source pairs with the same metrics."""

    metrics: list[MetricInfo]
    conventions: dict[str, str]
    pairs: list[str]
    methods: list[MethodResult]
    title: str = "Fusion evaluation"
    notes: list[str] = field(default_factory=list)  # report-wide notes, e.g. metrics skipped

    # ------------------------------------------------------------------ summaries
    def best_methods(self) -> dict[str, list[str]]:
        """``{metric: [method, ...]}`` with the best mean (ties kept); undirected metrics omitted."""
        out = {}
        for info in self.metrics:
            means = {m.name: m.summary(info.name)[0] for m in self.methods}
            best = _best(means, info)
            if best:
                out[info.name] = [m.name for m in self.methods if m.name in best]
        return out

    def _header(self) -> list[str]:
        return [f"{i.display} {_arrow(i)}" for i in self.metrics]

    # ------------------------------------------------------------------ markdown
    def to_markdown(self, per_image: bool = True) -> str:
        n_pairs = len(self.pairs)
        best = self.best_methods()
        lines = [f"# {self.title}", ""]
        conv = ", ".join(f"{k}={v}" for k, v in self.conventions.items() if v not in ("cddfuse", "pyiqa"))
        lines.append(
            f"{n_pairs} source pairs; mean ± std (sample) over the images scored; n = images scored / pairs. "
            f"↑ higher is better, ↓ lower is better, · no direction. Best mean per column in bold. "
            f"Conventions: CDDFuse evaluator{'; ' + conv if conv else ''}."
        )
        lines += ["", "| method | n | " + " | ".join(self._header()) + " |"]
        lines.append("|---|---:|" + "---:|" * len(self.metrics))
        for m in self.methods:
            cells = []
            n_scored = len(m.per_image)
            for info in self.metrics:
                mean, std, n = m.summary(info.name)
                txt = "nan" if n == 0 else format_mean_std(mean, std)
                if n and n < n_scored:
                    txt += f" (n={n})"
                if m.name in best.get(info.name, []):
                    txt = f"**{txt}**"
                cells.append(txt)
            lines.append(f"| {m.name} | {n_scored}/{n_pairs} | " + " | ".join(cells) + " |")
        notes = self._notes()
        if notes:
            lines += ["", "Notes:", ""] + [f"- {n}" for n in notes]
        if per_image:
            lines += ["", "## Per image", ""]
            multi = len(self.methods) > 1
            lines.append("| image | method | " + " | ".join(self._header()) + " |")
            lines.append("|---|---|" + "---:|" * len(self.metrics))
            for stem in self.pairs:
                rows = [(m, m.per_image.get(stem)) for m in self.methods]
                best_here = {}
                if multi:
                    for info in self.metrics:
                        vals = {m.name: (r or {}).get(info.name, math.nan) for m, r in rows if r is not None}
                        best_here[info.name] = _best(vals, info)
                for m, r in rows:
                    if r is None:
                        status = "not scored" if stem in m.errors else "missing"
                        lines.append(f"| {stem} | {m.name} ({status}) | " + " | ".join(["—"] * len(self.metrics)) + " |")
                        continue
                    cells = []
                    for info in self.metrics:
                        t = format_value(r.get(info.name, math.nan))
                        cells.append(f"**{t}**" if m.name in best_here.get(info.name, set()) else t)
                    lines.append(f"| {stem} | {m.name} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def _notes(self) -> list[str]:
        out = list(self.notes)
        for m in self.methods:
            if m.missing:
                shown = ", ".join(m.missing[:10]) + (" …" if len(m.missing) > 10 else "")
                out.append(f"{m.name}: no fused image for {len(m.missing)} pair(s): {shown}")
            for stem, err in m.errors.items():
                out.append(f"{m.name}/{stem}: not scored: {err}")
            out += [f"{m.name}: {n}" for n in m.notes]
        return out

    # ------------------------------------------------------------------ csv / json
    def to_csv(self) -> str:
        """One row per (method, image) plus ``__mean__``/``__std__`` rows per method and a ``__best__`` row."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["method", "image", "status"] + [i.display for i in self.metrics])
        for m in self.methods:
            for stem in self.pairs:
                if stem in m.per_image:
                    r = m.per_image[stem]
                    w.writerow([m.name, stem, "ok"] + [repr(float(r.get(i.name, math.nan))) for i in self.metrics])
                else:
                    status = "error: " + m.errors[stem] if stem in m.errors else "missing"
                    w.writerow([m.name, stem, status] + [""] * len(self.metrics))
        for m in self.methods:
            s = [m.summary(i.name) for i in self.metrics]
            w.writerow([m.name, "__mean__", f"n={len(m.per_image)}/{len(self.pairs)}"] + [repr(x[0]) for x in s])
            w.writerow([m.name, "__std__", ""] + [repr(x[1]) for x in s])
        best = self.best_methods()
        w.writerow(["__best__", "", ""] + [" ".join(best.get(i.name, [])) for i in self.metrics])
        return buf.getvalue()

    def to_dict(self) -> dict:
        def num(v: float):
            return None if v is None or not math.isfinite(v) else v

        return {
            "title": self.title,
            "pairs": list(self.pairs),
            "metrics": {
                i.name: {
                    "display": i.display,
                    "direction": i.direction,
                    "lower_better": i.lower_better,
                    "kind": i.kind,
                    "convention": self.conventions.get(i.name, i.default_convention),
                    "score_range": [num(x) if math.isfinite(x) else (str(x)) for x in i.range_for(self.conventions.get(i.name))],
                }
                for i in self.metrics
            },
            "methods": {
                m.name: {
                    "folder": m.folder,
                    "n": len(m.per_image),
                    "mean": {i.name: num(m.summary(i.name)[0]) for i in self.metrics},
                    "std": {i.name: num(m.summary(i.name)[1]) for i in self.metrics},
                    "per_image": {k: {n: num(v) for n, v in r.items()} for k, r in m.per_image.items()},
                    "errors": m.errors,
                    "missing": m.missing,
                    "notes": m.notes,
                }
                for m in self.methods
            },
            "best": self.best_methods(),
            "notes": list(self.notes),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def render(self, fmt: str, per_image: bool = True) -> str:
        if fmt == "md":
            return self.to_markdown(per_image=per_image)
        if fmt == "csv":
            return self.to_csv()
        if fmt == "json":
            return self.to_json()
        raise ValueError(f"unknown report format {fmt!r} (md, csv, json)")


def _tile(img: np.ndarray, height: int, label: str, label_h: int = 22) -> np.ndarray:
    """Resize ``img`` ((H, W) or (H, W, 3) in [0, 1]) to ``height`` and put ``label`` above it."""
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    h, w = img.shape[:2]
    new_w = max(1, int(round(w * height / h)))
    interp = cv2.INTER_AREA if height < h else cv2.INTER_LINEAR
    body = cv2.resize(np.ascontiguousarray(img, dtype=np.float32), (new_w, height), interpolation=interp)
    strip = np.full((label_h, new_w, 3), 30, dtype=np.uint8)  # putText draws on 8-bit images
    text, scale, font = label, 0.45, cv2.FONT_HERSHEY_SIMPLEX  # Hershey fonts: ASCII only
    while len(text) > 4 and cv2.getTextSize(text, font, scale, 1)[0][0] > new_w - 6:
        text = text[:-4] + "..."
    cv2.putText(strip, text, (4, label_h - 7), font, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return np.concatenate([strip.astype(np.float32) / 255.0, np.clip(body, 0.0, 1.0)], axis=0)


def make_grid(rows: Sequence[tuple[str, Sequence[tuple[str, np.ndarray]]]], height: int = 256, gap: int = 4) -> np.ndarray:
    """Side-by-side grid: one row per ``(stem, [(label, image), ...])``; images in [0, 1].

    Every tile is scaled to ``height`` pixels (aspect kept) under a label strip; rows are padded
    to the widest. Returns ``(H, W, 3)`` float32 RGB in [0, 1].
    """
    built = []
    for stem, tiles in rows:
        parts = []
        for i, (label, img) in enumerate(tiles):
            parts.append(_tile(img, height, f"{stem} {label}" if i == 0 else label))
            parts.append(np.ones((parts[-1].shape[0], gap, 3), dtype=np.float32))
        built.append(np.concatenate(parts[:-1], axis=1))
    width = max(r.shape[1] for r in built)
    out = []
    for r in built:
        pad = np.ones((r.shape[0], width - r.shape[1], 3), dtype=np.float32)
        out += [np.concatenate([r, pad], axis=1), np.ones((gap, width, 3), dtype=np.float32)]
    return np.concatenate(out[:-1], axis=0)
