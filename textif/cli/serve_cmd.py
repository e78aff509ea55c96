"""``textif serve``: the interactive web app (Gradio) on localhost."""
from __future__ import annotations

from typing import Optional

import typer

from textif.cli.common import fail, user_errors
from textif.cli.fuse_cmd import Device


def serve(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Preset name or checkpoint folder (default: the shipped model)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0 to accept other machines)."),
    port: int = typer.Option(7860, "--port", help="Port to listen on."),
    device: Device = typer.Option(Device.auto, "--device", help="Where to run the model."),
    max_upload_mb: float = typer.Option(50.0, "--max-upload-mb", help="Largest upload accepted, in megabytes."),
    max_megapixels: float = typer.Option(12.0, "--max-megapixels", help="Most pixels per input image, in millions."),
    concurrency: int = typer.Option(1, "--concurrency", help="Fusions run at the same time (others wait in the queue)."),
    queue_size: int = typer.Option(16, "--queue-size", help="Requests that may wait in the queue."),
    cache_size: int = typer.Option(32, "--cache-size", help="Fused results kept for repeated requests (0: no cache)."),
    tile: Optional[int] = typer.Option(None, "--tile", help="Fuse in tiles of N pixels (automatic for large images)."),
    text_encoder_path: Optional[str] = typer.Option(None, "--text-encoder-path", help="Local folder of the CLIP text encoder."),
    allow_untrained: bool = typer.Option(False, "--allow-untrained", hidden=True),
) -> None:
    """Start the interactive web app (fuse, change the sentence, look again) and print its address."""
    if not 0 < port < 65536:
        fail(f"--port must be between 1 and 65535, got {port}")
    if tile is not None and tile < 64:
        fail(f"--tile must be at least 64 pixels, got {tile}")
    try:
        import gradio  # noqa: F401
    except ImportError:
        fail('the web app needs Gradio: pip install "textif[web]"')
    with user_errors():
        from textif.web.app import WebLimits, serve as run

        limits = WebLimits(
            max_upload_mb=max_upload_mb, max_pixels=int(max_megapixels * 1_000_000), concurrency=concurrency,
            queue_size=queue_size, cache_items=cache_size,
        )
        from textif.inference.fuser import DEFAULT_MODEL, load

        typer.echo(f"loading model {model or DEFAULT_MODEL + ' (default)'} ...", err=True)

        fuser = load(model, device=device.value, text_encoder_path=text_encoder_path, allow_untrained=allow_untrained)
        if not fuser.checkpoint.trained and not allow_untrained:
            typer.echo(
                f"warning: model {fuser.checkpoint.name!r} has no trained weights; the page will say so and refuse "
                "to fuse (serve a trained checkpoint with --model DIR)",
                err=True,
            )
        run(fuser, host=host, port=port, limits=limits, tile=tile, block=True)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
