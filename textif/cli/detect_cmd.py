"""``textif detect``: what is wrong with a pair (or two folders of pairs), and the sentence textif would use."""
from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from textif.cli.common import fail, user_errors


class Format(str, Enum):
    text = "text"
    json = "json"


def detect(
    vis: Optional[Path] = typer.Option(None, "--vis", help="Visible image."),
    ir: Optional[Path] = typer.Option(None, "--ir", help="Infrared image."),
    vis_dir: Optional[Path] = typer.Option(None, "--vis-dir", help="Folder of visible images (pairs matched by file stem)."),
    ir_dir: Optional[Path] = typer.Option(None, "--ir-dir", help="Folder of infrared images."),
    output: Optional[Path] = typer.Option(
        None, "-o", "--output", help="Folder mode: JSON-lines file to write (one object per pair, with its name)."
    ),
    fmt: Format = typer.Option(Format.text, "--format", "-f", help="One pair: text (readable) or json."),
    detector: Optional[Path] = typer.Option(None, "--detector", help="Detector folder (default: the shipped one)."),
    threshold: Optional[float] = typer.Option(
        None, "--threshold", min=0.0, max=1.0,
        help="Report degradations above this probability (default: the detector's calibrated per-type thresholds).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Diagnose degradations (type, probability, severity in [0, 1]) per modality and print the sentence
    `textif fuse --text auto` would use. An empty list means clean."""
    single = vis is not None or ir is not None
    folders = vis_dir is not None or ir_dir is not None
    if single == folders:
        fail("give either --vis and --ir (one pair) or --vis-dir and --ir-dir (folders)")
    if single and (vis is None or ir is None):
        fail("one pair needs both --vis and --ir")
    if folders and (vis_dir is None or ir_dir is None):
        fail("folder mode needs both --vis-dir and --ir-dir")
    if folders and output is None:
        fail("folder mode needs -o FILE.jsonl")
    with user_errors():
        from textif.detect import Detector, diagnose_folder

        det = Detector.load(detector, threshold=threshold)
        if single:
            assert vis is not None and ir is not None
            d = det.diagnose(vis, ir)
            if fmt == Format.json:
                typer.echo(json.dumps(d.to_dict()))
            else:
                typer.echo(d.summary())
                typer.echo(f"text: {d.text}")
            return
        assert vis_dir is not None and ir_dir is not None and output is not None
        if output.is_dir():
            fail(f"{output}: is a folder; give a file name such as {output / 'diagnosis.jsonl'}")
        from textif.core.io import write_text_atomic

        res = diagnose_folder(vis_dir, ir_dir, detector=det, progress=not quiet)
        write_text_atomic(output, "".join(json.dumps(d.to_dict()) + "\n" for d in res.diagnoses))
    n = len(res.diagnoses)
    degraded = sum(not d.clean for d in res.diagnoses)
    typer.echo(f"diagnosed {n} pair{'s' if n != 1 else ''} ({degraded} degraded) into {output} in {res.seconds:.1f} s"
               + (f", {len(res.failed)} failed" if res.failed else ""))
    if res.failed:
        typer.echo("failed:", err=True)
        for _, msg in res.failed:
            typer.echo(f"  {msg}", err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("detect")(detect)
