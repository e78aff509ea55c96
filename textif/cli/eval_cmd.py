"""``textif eval``: score folders of fused images, compare methods, add baselines and image grids."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from textif.cli.common import fail, stderr_is_tty, user_errors


class ReportFormat(str, Enum):
    md = "md"
    csv = "csv"
    json = "json"


_SUFFIX_FORMAT = {".md": "md", ".markdown": "md", ".csv": "csv", ".json": "json"}


def _split(text: Optional[str]) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _parse_fused(items: list[str]) -> list[tuple[str, Path]]:
    """``PATH`` or ``NAME=PATH`` -> ``(name, path)``; names must be unique."""
    out: list[tuple[str, Path]] = []
    for item in items:
        name, sep, rest = item.partition("=")
        if sep and name and not Path(item).exists():
            path = Path(rest)
        else:
            path, name = Path(item), Path(item).name or str(item)
        if not path.is_dir():
            fail(f"--fused-dir {path}: folder not found")
        if name in {n for n, _ in out}:
            fail(f"--fused-dir: two methods are named {name!r}; name them with NAME=PATH")
        out.append((name, path))
    return out


def _parse_conventions(spec: Optional[str], names: list[str]) -> dict[str, str]:
    """``cddfuse`` / ``vifb`` (for every metric that has it) and/or ``METRIC=CONV`` items."""
    from textif.metrics import metric_info

    out: dict[str, str] = {}
    items = _split(spec)
    for item in [i for i in items if "=" not in i]:  # global names first, METRIC=CONV items win
        conv = item.lower()
        hit = [n for n in names if conv in metric_info(n).conventions]
        if not hit:
            fail(f"--convention {item}: none of the selected metrics has that convention")
        for n in hit:
            out[n] = conv
    for item in [i for i in items if "=" in i]:
        key, _, value = item.partition("=")
        info = metric_info(key.strip())
        if value.strip().lower() not in info.conventions:
            fail(f"--convention {item}: {info.name} accepts {', '.join(info.conventions)}")
        out[info.name] = value.strip().lower()
    return out


def _parse_weights(items: list[str]) -> dict[str, Path]:
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            fail(f"--weights {item}: expected METRIC=PATH (e.g. musiq=/path/musiq.pt)")
        out[name.strip().lower()] = Path(path)
    return out


def _read_subset(path: Path) -> list[str]:
    if not path.is_file():
        fail(f"--subset {path}: file not found")
    stems = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            stems.append(Path(line).stem if Path(line).suffix else line)
    return stems


def eval_cmd(
    vis_dir: Optional[Path] = typer.Option(None, "--vis-dir", help="Folder of visible source images (or a video: see below)."),
    ir_dir: Optional[Path] = typer.Option(None, "--ir-dir", help="Folder of infrared source images (matched to visible by file stem)."),
    fused_dir: Optional[List[str]] = typer.Option(
        None, "--fused-dir", help="Folder of fused images of one method; repeat for several. NAME=PATH names the method."
    ),
    metrics: Optional[str] = typer.Option(
        None, "--metrics", help="Comma-separated metrics (default: all built-in: en,sd,sf,ag,mi,scd,vif,qabf,ssim,cc,mse,psnr,nabf,niqe,brisque)."
    ),
    convention: Optional[str] = typer.Option(
        None, "--convention", help="cddfuse (default), vifb, or METRIC=CONV items, e.g. 'mi=bits,ssim=mean'."
    ),
    fmt: Optional[ReportFormat] = typer.Option(None, "--format", help="Report format (default: from the -o suffix, else md)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Report file (written atomically); default: print to stdout."),
    baselines: Optional[str] = typer.Option(
        None, "--baselines", help="Also fuse and score simple baselines: avg, max (luminance with visible colour)."
    ),
    baseline_dir: Optional[Path] = typer.Option(
        None, "--baseline-dir", help="Where baseline fusions are written (default: 'baselines' next to the report)."
    ),
    grid: Optional[str] = typer.Option(None, "--grid", help="STEM[,STEM...]: write a side-by-side PNG grid (sources + each method)."),
    grid_out: Optional[Path] = typer.Option(None, "--grid-out", help="Grid PNG path (default: <report>_grid.png or eval_grid.png)."),
    grid_height: int = typer.Option(256, "--grid-height", help="Tile height of the grid in pixels."),
    subset: Optional[Path] = typer.Option(
        None, "--subset", help="Text file of image names to evaluate (one per line), e.g. splits/roadscene_val.txt."
    ),
    weights: Optional[List[str]] = typer.Option(None, "--weights", help="METRIC=PATH model file for musiq / clipiqa (torch.export .pt2 or TorchScript)."),
    per_image: bool = typer.Option(True, "--per-image/--summary-only", help="Include the per-image table (Markdown)."),
    strict: bool = typer.Option(False, "--strict", help="Fail on a missing or unscorable fused image instead of reporting it."),
    title: str = typer.Option("Fusion evaluation", "--title", help="Report title."),
    list_metrics_: bool = typer.Option(False, "--list-metrics", help="Print the metric table and exit."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or information on stderr (warnings still shown)."),
) -> None:
    """Score fused images with the field's metrics (CDDFuse conventions) and compare methods side by side.

    Videos: give video files (or frame folders with --metrics temporal_flicker) to --vis-dir, --ir-dir and
    --fused-dir; temporal_flicker (default there) scores the whole clip, image metrics are averaged over frames.
    """
    with user_errors():
        _run(**locals())


def _print_metric_table() -> None:
    from textif.metrics import list_metrics, metric_info

    typer.echo(f"{'name':9} {'column':9} {'better':7} {'range':18} {'kind':13} {'conventions':22} summary")
    for n in list_metrics():
        i = metric_info(n)
        lo, hi = i.score_range
        rng = f"[{lo:g}, {hi:g}]"
        typer.echo(f"{n:9} {i.display:9} {i.direction:7} {rng:18} {i.kind:13} {','.join(i.conventions):22} {i.summary}")


def _run(
    vis_dir, ir_dir, fused_dir, metrics, convention, fmt, output, baselines, baseline_dir, grid, grid_out,
    grid_height, subset, weights, per_image, strict, title, list_metrics_, quiet,
) -> None:
    if list_metrics_:
        _print_metric_table()
        return
    from textif.cli.video_eval import run_video_eval, wants_video

    if wants_video(vis_dir, ir_dir, fused_dir, metrics):  # videos or frame sequences
        run_video_eval(vis_dir, ir_dir, fused_dir, metrics, fmt.value if fmt else None, output, strict, title, quiet)
        return
    if vis_dir is None or ir_dir is None:
        fail("give --vis-dir and --ir-dir (the source pairs)")

    from textif.core.io import list_images
    from textif.metrics import DEFAULT_METRICS, create_metric, metric_info
    from textif.metrics.errors import MetricUnavailableError

    def note(msg: str) -> None:  # information: silenced by --quiet
        if not quiet:
            typer.echo(msg, err=True)

    def warn(msg: str) -> None:  # warnings: always on stderr
        typer.echo(f"warning: {msg}", err=True)

    # -- metrics
    names = [metric_info(n).name for n in (_split(metrics) or list(DEFAULT_METRICS))]
    if len(set(names)) != len(names):
        fail("--metrics: a metric is listed twice")
    convs = _parse_conventions(convention, names)
    wts = _parse_weights(weights or [])
    for k in wts:
        if k not in names:
            fail(f"--weights {k}=...: {k!r} is not among the selected metrics")
    metric_objs, skipped = [], []
    for n in names:
        try:
            metric_objs.append(create_metric(n, convention=convs.get(n), weights=wts.get(n)))
        except MetricUnavailableError as e:
            skipped.append(f"metric {n} skipped: {e}")
            warn(skipped[-1])
    if not metric_objs:
        fail("no metric left to compute")

    # -- report format and paths
    if fmt is not None:
        report_fmt = fmt.value
    elif output is not None:
        report_fmt = _SUFFIX_FORMAT.get(output.suffix.lower(), "md")
    else:
        report_fmt = "md"
    if output is not None and not (output.parent if str(output.parent) else Path(".")).is_dir():
        fail(f"-o {output}: folder {output.parent} does not exist")

    # -- source pairs
    vis_files, ir_files = list_images(vis_dir), list_images(ir_dir)
    stems = sorted(set(vis_files) & set(ir_files))
    only_vis = sorted(set(vis_files) - set(ir_files))
    only_ir = sorted(set(ir_files) - set(vis_files))
    if subset is not None:
        wanted = _read_subset(subset)
        absent = [s for s in wanted if s not in vis_files or s not in ir_files]
        if absent:
            msg = f"--subset {subset}: {len(absent)} name(s) without a source pair: {', '.join(absent[:5])}"
            if strict:
                fail(msg)
            warn(msg)
        stems = [s for s in wanted if s in vis_files and s in ir_files]
    elif only_vis or only_ir:
        msg = (
            f"{len(only_vis)} visible image(s) without infrared counterpart ({', '.join(only_vis[:5])}), "
            f"{len(only_ir)} infrared without visible ({', '.join(only_ir[:5])})"
        )
        if strict:
            fail(msg)
        warn("unpaired sources skipped: " + msg)
    if not stems:
        fail(f"no source pairs: no file stem is in both {vis_dir} and {ir_dir}")
    pairs = {s: (vis_files[s], ir_files[s]) for s in stems}

    # -- methods
    from textif.metrics.runner import Method, score_folders

    methods: list[Method] = []
    for name, folder in _parse_fused(list(fused_dir or [])):
        files = list_images(folder)
        hit = {s: files[s] for s in stems if s in files}
        if not hit:
            fail(f"--fused-dir {folder}: no fused image matches a source pair by file stem")
        if strict and len(hit) < len(stems):
            missing = [s for s in stems if s not in hit]
            fail(f"--fused-dir {folder}: no fused image for {len(missing)} pair(s): {', '.join(missing[:5])}")
        methods.append(Method(name, hit, str(folder)))
    kinds = _split(baselines)
    if kinds:
        from textif.metrics.baselines import BASELINES, write_baselines

        for k in kinds:
            if k not in BASELINES:
                fail(f"--baselines {k}: unknown (choose from {', '.join(BASELINES)})")
        root = baseline_dir or ((output.parent if output is not None else Path(".")) / "baselines")
        note(f"writing baseline fusions ({', '.join(kinds)}) to {root}")
        folders = write_baselines(pairs, root, kinds)
        for k in kinds:
            name = f"classic_{k}"
            if name in {m.name for m in methods}:
                fail(f"--baselines: a --fused-dir is already named {name!r}")
            methods.append(Method(name, {s: folders[k] / f"{s}.png" for s in stems}, str(folders[k])))
    if not methods:
        fail("nothing to evaluate: give --fused-dir (and/or --baselines)")

    # -- scoring
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    total = sum(len(m.files) for m in methods)
    with Progress(
        TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.description}"),
        console=Console(stderr=True), transient=True, disable=quiet or not stderr_is_tty(),
    ) as progress:
        task = progress.add_task("", total=total)
        report = score_folders(
            pairs, methods, metric_objs, strict=strict, title=title,
            on_progress=lambda done, _t, label: progress.update(task, completed=done, description=label),
        )
    report.notes += skipped
    for m in report.methods:
        if m.errors:
            warn(f"{m.name}: {len(m.errors)} image(s) not scored (first: {next(iter(m.errors.values()))})")
        if m.missing:
            warn(f"{m.name}: no fused image for {len(m.missing)} of {len(stems)} pair(s)")

    text = report.render(report_fmt, per_image=per_image)
    if output is not None:
        from textif.metrics.report import write_text_atomic

        write_text_atomic(output, text)
        note(f"wrote {output} ({len(report.methods)} method(s), {len(stems)} pair(s), {len(metric_objs)} metric(s))")
    else:
        typer.echo(text, nl=False)

    # -- grid
    if grid:
        _write_grid(_split(grid), pairs, methods, grid_out, output, grid_height, note)


def _write_grid(stems, pairs, methods, grid_out, output, height, note) -> None:
    import numpy as np

    from textif.core.io import read_image, write_image
    from textif.metrics.report import make_grid

    unknown = [s for s in stems if s not in pairs]
    if unknown:
        fail(f"--grid: {', '.join(unknown)} is not among the evaluated pairs")
    if height < 32:
        fail("--grid-height must be at least 32")
    rows = []
    for s in stems:
        vis_path, ir_path = pairs[s]
        vis = read_image(vis_path)
        tiles = [("vis", vis), ("ir", read_image(ir_path))]
        for m in methods:
            if s in m.files:
                tiles.append((m.name, read_image(m.files[s])))
            else:
                tiles.append((f"{m.name} (missing)", np.full(vis.shape[:2], 0.5, dtype=np.float32)))
        rows.append((s, tiles))
    if grid_out is None:
        grid_out = output.with_name(output.stem + "_grid.png") if output is not None else Path("eval_grid.png")
    write_image(grid_out, make_grid(rows, height=height))
    note(f"wrote {grid_out}")


def register(app: typer.Typer) -> None:
    app.command(name="eval")(eval_cmd)
