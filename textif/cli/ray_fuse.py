"""``textif fuse --engine ray``: folder fusion on a Ray cluster (see :mod:`textif.distributed`)."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

import typer

from textif.cli.common import fail, user_errors

# options of ``textif fuse`` that are not keyword arguments of ``textif.load``; every other option
# (device, precision, tile, tile_overlap, text_encoder_path, allow_untrained, and any added later)
# is passed on to ``textif.load`` in each worker, as the single-process path does
_NOT_LOAD_OPTIONS = {
    "vis", "ir", "vis_dir", "ir_dir", "output", "text", "model", "bit_depth", "overwrite", "resize_ir_to_vis",
    "quiet", "engine", "address", "workers", "gpus_per_worker", "batch_size", "codec", "crf", "fps", "sync", "stabilize",
}


def load_kwargs_from_options(options: dict[str, Any]) -> dict[str, Any]:
    """The ``textif.load`` keywords among the parsed options of ``textif fuse`` (enums as their values)."""
    out = {}
    for key, value in options.items():
        if key in _NOT_LOAD_OPTIONS or key.startswith("_"):
            continue
        out[key] = value.value if isinstance(value, Enum) else value
    return out


def fuse_with_ray(options: dict[str, Any]) -> None:
    """Run ``textif fuse`` in folder mode on Ray. ``options``: the command's local variables; only
    the parameters of ``textif fuse`` are used."""
    import inspect

    from textif.cli.fuse_cmd import fuse

    o = {k: v for k, v in options.items() if k in inspect.signature(fuse).parameters}
    if o["vis_dir"] is None or o["ir_dir"] is None:
        fail("--engine ray fuses folders: give --vis-dir and --ir-dir")
    output = Path(o["output"])
    quiet = bool(o["quiet"])
    with user_errors():
        from textif.distributed.ray_engine import fuse_folder, require_ray

        require_ray()
        try:
            report = fuse_folder(
                o["vis_dir"], o["ir_dir"], output, o["text"], model=o["model"], overwrite=o["overwrite"],
                bit_depth=o["bit_depth"], resize_ir_to_vis=o["resize_ir_to_vis"], progress=not quiet,
                address=o["address"], workers=o["workers"], gpus_per_worker=o["gpus_per_worker"],
                batch_size=o["batch_size"], **load_kwargs_from_options(o),
            )
        except KeyboardInterrupt:
            typer.echo(f"interrupted: finished pairs are in {output}; run the same command again to fuse the rest", err=True)
            raise typer.Exit(130) from None
    n = len(report.written)
    rate = f" ({n / report.seconds:.2f} pairs/s)" if n and report.seconds > 0 else ""
    typer.echo(
        f"fused {n} pair{'s' if n != 1 else ''} into {output} in {report.seconds:.1f} s on {report.workers} Ray "
        f"worker{'s' if report.workers != 1 else ''}{rate}"
        + (f", skipped {len(report.skipped)} existing (use --overwrite)" if report.skipped else "")
        + (f", {len(report.failed)} failed" if report.failed else "")
        + f"; manifest: {report.manifest}"
    )
    if report.failed:
        typer.echo("failed:", err=True)
        for _, msg in report.failed:
            typer.echo(f"  {msg}", err=True)
        raise typer.Exit(1)
