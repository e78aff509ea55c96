"""The video path of ``textif eval``: score fused videos (or frame sequences) against source videos.

``--vis-dir``, ``--ir-dir`` and ``--fused-dir`` may each name a video file (.mp4, .mkv, .avi, .mov,
.webm) or a folder of frames (taken in name order). Video mode starts when any of them is a video
file, or when ``--metrics`` asks for a temporal metric (``temporal_flicker``). Temporal metrics
score the whole sequence; image metrics in the list are averaged over the frames.
"""
from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any, Iterator, Optional

import typer

from textif.cli.common import fail


def wants_video(vis: Optional[Path], ir: Optional[Path], fused: Optional[list[str]], metrics: Optional[str]) -> bool:
    from textif.video.io import is_video_path

    paths = [vis, ir] + [Path(f.partition("=")[2] if "=" in f and not Path(f).exists() else f) for f in fused or []]
    if any(is_video_path(p) for p in paths if p is not None):
        return True
    if metrics:
        from textif.metrics import KIND_TEMPORAL, METRICS

        names = [m.strip().lower() for m in metrics.split(",") if m.strip()]
        return any(n in METRICS and METRICS.get(n).kind == KIND_TEMPORAL for n in names)
    return False


def _frames(path: Path, role: str) -> tuple[int, Iterator[Any]]:
    """Frame count and a one-at-a-time iterator of a video file or a frame folder."""
    from textif.video.io import VideoReadError, folder_frames, is_video_path, probe, read_frames

    if path.is_dir():
        files = sorted(folder_frames(path)[0], key=lambda f: f.name)
        return len(files), iter(files)
    if not is_video_path(path):
        raise VideoReadError(f"{role} {path}: not a video file or a folder of frames")
    return probe(path).frames, read_frames(path)


def run_video_eval(
    vis: Optional[Path], ir: Optional[Path], fused: Optional[list[str]], metrics: Optional[str],
    fmt: Optional[str], output: Optional[Path], strict: bool, title: str, quiet: bool,
) -> None:
    import warnings

    from textif.metrics import KIND_TEMPORAL, create_metric, metric_info
    from textif.metrics.errors import MetricWarning
    from textif.metrics.io import load_triplet
    from textif.metrics.temporal import FlickerMeter

    if vis is None or ir is None:
        fail("give --vis-dir and --ir-dir (the source videos or frame folders)")
    if not fused:
        fail("nothing to evaluate: give --fused-dir (a fused video or frame folder)")
    names = [metric_info(n).name for n in ([m.strip() for m in (metrics or "").split(",") if m.strip()] or ["temporal_flicker"])]
    frame_metrics = [create_metric(n) for n in names if metric_info(n).kind != KIND_TEMPORAL]
    temporal = [n for n in names if metric_info(n).kind == KIND_TEMPORAL]
    methods: list[tuple[str, Path]] = []
    for item in fused:
        name, sep, rest = item.partition("=")
        path = Path(rest) if sep and name and not Path(item).exists() else Path(item)
        name = name if sep and name and not Path(item).exists() else (path.stem if path.is_file() else path.name)
        if not path.exists():
            fail(f"--fused-dir {path}: not found")
        methods.append((name, path))

    rows: list[dict[str, Any]] = []
    for name, path in methods:
        n_f, fit = _frames(path, "fused")
        n_v, vit = _frames(vis, "visible")
        n_i, iit = _frames(ir, "infrared")
        n = min(n_f, n_v, n_i)
        if len({n_f, n_v, n_i}) > 1:
            msg = f"{name}: frame counts differ (fused {n_f}, visible {n_v}, infrared {n_i}); scoring the first {n}"
            if strict:
                fail(msg)
            typer.echo(f"warning: {msg}", err=True)
        meter = FlickerMeter()
        sums = {m.name: 0.0 for m in frame_metrics}
        counts = {m.name: 0 for m in frame_metrics}
        for k, (f, v, i) in enumerate(zip(fit, vit, iit)):
            if k >= n:
                break
            meter.add(f, vis=v, ir=i)
            if frame_metrics:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", MetricWarning)
                    t = load_triplet(f, i, v)
                    for m in frame_metrics:
                        val = m.compute(t)
                        if math.isfinite(val):
                            sums[m.name] += val
                            counts[m.name] += 1
            if not quiet:
                typer.echo(f"\rscoring {name}: frame {k + 1}/{n}", nl=False, err=True)
        if not quiet:
            typer.echo("", err=True)
        r = meter.result()
        row: dict[str, Any] = {"method": name, "frames": r.frames}
        if "temporal_flicker" in temporal:
            row.update(temporal_flicker=r.ratio, fused_change=r.fused, source_change=r.sources,
                       vis_change=r.vis, ir_change=r.ir, global_ratio=r.global_ratio)
        for m in frame_metrics:
            row[m.name] = sums[m.name] / counts[m.name] if counts[m.name] else math.nan
        rows.append(row)

    report_fmt = fmt or ({".csv": "csv", ".json": "json"}.get(output.suffix.lower(), "md") if output else "md")
    text = _render(rows, report_fmt, title, vis, ir)
    if output is not None:
        from textif.core.io import write_text_atomic

        write_text_atomic(output, text)
        if not quiet:
            typer.echo(f"wrote {output} ({len(rows)} method(s))", err=True)
    else:
        typer.echo(text, nl=False)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "nan" if not math.isfinite(v) else f"{v:.4f}"
    return str(v)


def _render(rows: list[dict[str, Any]], fmt: str, title: str, vis: Path, ir: Path) -> str:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    if fmt == "json":
        return json.dumps({"title": title, "visible": str(vis), "infrared": str(ir), "methods": rows}, indent=2,
                          default=lambda x: None) + "\n"
    if fmt == "csv":
        import csv

        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: _fmt(r.get(k, "")) for k in cols})
        return buf.getvalue()
    lines = [f"# {title}", "", f"Sources: visible `{vis}`, infrared `{ir}`.", ""]
    if "temporal_flicker" in cols:
        lines += ["temporal_flicker = mean |dF| / mean max(|dV|, |dI|) (lower is steadier; <= 1: no flicker added); "
                  "changes in grey levels per frame; global_ratio = change(F) / max(change(V), change(I)).", ""]
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "|".join("---" for _ in cols) + "|")
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(k, "")) for k in cols) + " |")
    return "\n".join(lines) + "\n"
