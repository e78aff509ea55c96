"""``textif export``: write a model as an ONNX file (dynamic size, the text embedding as an input)."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from textif.cli.common import fail, user_errors


class ExportFormat(str, Enum):
    onnx = "onnx"


def export(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Preset name or checkpoint folder (default: the shipped model)."),
    fmt: ExportFormat = typer.Option(ExportFormat.onnx, "--format", help="Output format."),
    output: Path = typer.Option(..., "-o", "--output", help="Output file, e.g. model.onnx."),
    opset: int = typer.Option(17, "--opset", help="ONNX opset (17 runs in ONNX Runtime >= 1.14 on CPU and CUDA)."),
    allow_untrained: bool = typer.Option(False, "--allow-untrained", hidden=True),
) -> None:
    """Export a fusion model to ONNX: inputs vis (B,3,H,W), ir (B,1,H,W), text (B,D); any H, W that are
    multiples of the model's size multiple (textif pads for you when it runs the file).

    Run the file with `textif fuse --model model.onnx` or `textif.load("model.onnx")`; any sentence works,
    since the text embedding is an input."""
    if output.is_dir():
        fail(f"{output}: is a folder; give a file name such as {output / 'model.onnx'}")
    if output.suffix.lower() != ".onnx":
        fail(f"{output}: an ONNX file name must end in .onnx")
    if opset < 14:
        fail(f"--opset must be at least 14, got {opset}")
    with user_errors():
        from textif.models.hub import resolve_model
        from textif.runtime.onnx_backend import export_onnx
        from textif.runtime.base import ModelInfo

        from textif.inference.fuser import DEFAULT_MODEL

        name = model or DEFAULT_MODEL
        ckpt = resolve_model(name)
        if not ckpt.trained and not allow_untrained:
            from textif.core.errors import UntrainedModelError

            raise UntrainedModelError(
                f"model {ckpt.name!r} has no trained weights, so its export would only produce noise; "
                "export a trained checkpoint folder with --model DIR (see `textif models`)"
            )
        meta = {"textif.name": ckpt.name, "textif.text_encoder": ckpt.text_encoder, "textif.trained": str(ckpt.trained)}
        info = ModelInfo.from_folder(ckpt.path) if ckpt.path is not None else None
        if info is not None:
            meta["textif.weights_sha256"] = info.weights_key
        out = export_onnx(ckpt.model, output, opset=opset, metadata=meta, name=ckpt.name)
    typer.echo(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MB, opset {opset}, dynamic height and width)")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
