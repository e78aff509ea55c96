"""``textif train``: train a model from a YAML config (resumable, multi-GPU via Lightning DDP)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from textif.cli.common import user_errors


def train(
    config: Path = typer.Option(..., "--config", "-c", help="YAML training config (see configs/)."),
    resume: Optional[str] = typer.Option(
        None, "--resume", help="Lightning checkpoint to resume from. Default: out_dir/checkpoints/last.ckpt if it exists."
    ),
    fresh: bool = typer.Option(False, "--fresh", help="Start from scratch even if a checkpoint exists."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Override the config's max_steps."),
    out_dir: Optional[str] = typer.Option(None, "--out-dir", help="Override the config's out_dir."),
    devices: Optional[str] = typer.Option(None, "--devices", help="Override devices (e.g. 2 for two processes/GPUs)."),
    accelerator: Optional[str] = typer.Option(None, "--accelerator", help="Override accelerator (cpu, gpu, auto)."),
    strategy: Optional[str] = typer.Option(None, "--strategy", help="Override strategy (e.g. ddp)."),
    threads: Optional[int] = typer.Option(
        None, "--threads", help="Override the config's CPU threads per process (e.g. 1 beside other work on a small machine)."
    ),
    max_minutes: Optional[float] = typer.Option(
        None, "--max-minutes", help="Stop after this many minutes of training (or at max_steps) and export the model."
    ),
    data_root: Optional[str] = typer.Option(
        None, "--data-root", help="Override the config's data.root (the same data in another place, e.g. on a GPU machine)."
    ),
    allow_config_change: bool = typer.Option(
        False, "--allow-config-change",
        help="Resume even if the config differs from the checkpoint's (the differing keys are recorded in the export).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train a Text-IF model; writes checkpoints, logs, validation grids and out_dir/model."""
    with user_errors():
        from textif.training.config import load_config
        from textif.training.run import train as run_train

        dev = int(devices) if devices and devices.isdigit() else devices
        cfg = load_config(config, max_steps=max_steps, out_dir=out_dir, devices=dev, accelerator=accelerator, strategy=strategy,
                          threads=threads, max_minutes=max_minutes)
        if data_root is not None:
            cfg.data.root = data_root
        export = run_train(cfg, resume=None if fresh else (resume or "auto"), progress=not quiet,
                           allow_config_change=allow_config_change)
    typer.echo(f"model written to {export}")


def register(app: typer.Typer) -> None:
    app.command("train")(train)
