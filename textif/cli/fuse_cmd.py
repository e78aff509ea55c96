"""``textif fuse``: one pair or two folders of pairs."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer

from textif.cli.common import fail, user_errors


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


class BackendOpt(str, Enum):
    auto = "auto"
    torch = "torch"
    onnx = "onnx"


class PrecisionOpt(str, Enum):
    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"


class Engine(str, Enum):
    local = "local"
    ray = "ray"


def fuse(
    vis: Optional[Path] = typer.Option(None, "--vis", help="Visible image (any size; PNG/JPEG/BMP/TIFF, 8/16-bit)."),
    ir: Optional[Path] = typer.Option(None, "--ir", help="Infrared image of the same scene and size."),
    vis_dir: Optional[Path] = typer.Option(None, "--vis-dir", help="Folder of visible images (pairs matched by file stem)."),
    ir_dir: Optional[Path] = typer.Option(None, "--ir-dir", help="Folder of infrared images."),
    output: Path = typer.Option(..., "-o", "--output", help="Output image (one pair) or output folder (folders)."),
    text: Optional[str] = typer.Option(
        None, "--text", "-t",
        help='What to repair, e.g. "the visible image is too dark". Default: neutral fusion. '
        '"auto": diagnose each pair and use the sentence `textif detect` prints (folder mode: OUTPUT/diagnosis.jsonl).',
    ),
    ir_weight: Optional[float] = typer.Option(
        None, "--ir-weight", min=0.0, max=1.0,
        help="Modality preference: 0 visible-dominant, 0.5 neutral, 1 infrared-dominant (models trained for it).",
    ),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Preset name or checkpoint folder (default: the shipped model)."),
    device: Device = typer.Option(Device.auto, "--device", help="Where to run."),
    precision: PrecisionOpt = typer.Option(PrecisionOpt.fp32, "--precision", help="fp16/bf16 only on a GPU."),
    backend: BackendOpt = typer.Option(
        BackendOpt.auto, "--backend",
        help='Engine: onnx (ONNX Runtime, pip install "textif[onnx]"), torch, or auto (onnx on the CPU when installed).',
    ),
    max_megapixels: float = typer.Option(
        100.0, "--max-megapixels", help="Refuse input images larger than this many megapixels (0: no limit)."
    ),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads (default: the backend's choice)."),
    tile: Optional[int] = typer.Option(None, "--tile", help="Fuse in tiles of N pixels (automatic for large images)."),
    tile_overlap: int = typer.Option(64, "--tile-overlap", help="Pixels shared by neighbouring tiles."),
    bit_depth: int = typer.Option(8, "--bit-depth", help="Output bit depth: 8 or 16 (PNG/TIFF)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Folder mode: replace existing outputs."),
    resize_ir_to_vis: bool = typer.Option(
        False, "--resize-ir-to-vis", help="Resize the infrared image to the visible size when they differ in resolution."
    ),
    text_encoder_path: Optional[Path] = typer.Option(None, "--text-encoder-path", help="Local folder of the CLIP text encoder."),
    allow_untrained: bool = typer.Option(False, "--allow-untrained", hidden=True),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    engine: Engine = typer.Option(Engine.local, "--engine", help="Folder mode: local (this process) or ray (a Ray cluster; textif[ray])."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray: cluster to join (auto, HOST:PORT); default: start one here."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Ray: model replicas (actors); default: as many as fit."),
    gpus_per_worker: float = typer.Option(0.0, "--gpus-per-worker", help="Ray: GPUs per worker (0.5 = two per GPU)."),
    batch_size: int = typer.Option(1, "--batch-size", help="Ray: pairs handed to a worker at a time."),
    codec: Optional[str] = typer.Option(
        None, "--codec", help="Video: h264 (default, yuv420p), ffv1 (lossless, .mkv/.avi), vp9 (.webm default), mpeg4, mjpeg."
    ),
    crf: Optional[int] = typer.Option(None, "--crf", help="Video: H.264/VP9 quality, lower is better (default 18)."),
    fps: Optional[float] = typer.Option(None, "--fps", help="Video from frame folders: frame rate of the output video."),
    sync: str = typer.Option("strict", "--sync", help="Video: strict (frame counts must agree) or shortest (fuse the common frames)."),
    stabilize: bool = typer.Option(True, "--stabilize/--no-stabilize", help="Video: temporal stabilisation of the fusion."),
) -> None:
    """Fuse an infrared and a visible image (or two folders of them, or two videos), guided by a sentence.

    Videos (.mp4, .mkv, .avi, .mov, .webm) are fused frame by frame into a video with the visible
    stream's frame rate, size and frame count; two frame folders go to a video with -o FILE.mp4 --fps N.
    """
    single = vis is not None or ir is not None
    folders = vis_dir is not None or ir_dir is not None
    if single == folders:
        fail("give either --vis and --ir (one pair) or --vis-dir and --ir-dir (folders)")
    if single and (vis is None or ir is None):
        fail("one pair needs both --vis and --ir")
    if folders and (vis_dir is None or ir_dir is None):
        fail("folder mode needs both --vis-dir and --ir-dir")
    if bit_depth not in (8, 16):
        fail(f"--bit-depth must be 8 or 16, got {bit_depth}")
    if tile is not None and tile < 64:
        fail(f"--tile must be at least 64 pixels, got {tile}")
    if max_megapixels < 0:
        fail(f"--max-megapixels must be positive (or 0 for no limit), got {max_megapixels:g}")
    if threads is not None and threads < 1:
        fail(f"--threads must be at least 1, got {threads}")
    if engine == Engine.ray:
        from textif.cli.ray_fuse import fuse_with_ray

        return fuse_with_ray(locals())
    if address is not None or workers is not None or gpus_per_worker or batch_size != 1:
        fail("--address, --workers, --gpus-per-worker and --batch-size need --engine ray")
    from textif.cli.video_fuse import video_job

    video = video_job(vis, ir, vis_dir, ir_dir, output, codec=codec, crf=crf, fps=fps, sync=sync)
    with user_errors():
        from textif.inference.fuser import check_image_file, load

        if single and video is None:  # refuse a huge pair at once, before the model is loaded
            check_image_file(vis, "visible", max_megapixels or None)
            check_image_file(ir, "infrared", max_megapixels or None)

        fuser = load(
            model, device=device.value, precision=precision.value, tile=tile, tile_overlap=tile_overlap,
            text_encoder_path=text_encoder_path, allow_untrained=allow_untrained, backend=backend.value,
            max_megapixels=max_megapixels or None, threads=threads, progress=not quiet, ir_weight=ir_weight,
        )
        if video is not None:
            clip_text: Any = text
            if _auto(text):  # diagnosed once per clip (and at scene changes), not per frame
                from textif.detect import text_resolver

                pick = text_resolver()

                def clip_text(v: Any, i: Any) -> str:
                    sentence = pick(v, i)
                    typer.echo(f"text (auto): {sentence}")
                    return sentence

            video.run(fuser, clip_text, resize_ir_to_vis=resize_ir_to_vis, stabilize=stabilize, quiet=quiet)
            return
        if single:
            assert vis is not None and ir is not None
            if output.is_dir():
                fail(f"{output}: is a folder; give an output file name such as {output / (vis.stem + '.png')}")
            if _auto(text):
                from textif.detect import fuse_file_auto

                out, diag = fuse_file_auto(fuser, vis, ir, output, bit_depth=bit_depth, resize_ir_to_vis=resize_ir_to_vis)
                typer.echo(f"text (auto): {diag.text}")
                if not quiet:
                    typer.echo(f"wrote {out}")
                return
            out = fuser.fuse_file(vis, ir, output, text, bit_depth=bit_depth, resize_ir_to_vis=resize_ir_to_vis)
            if not quiet:
                typer.echo(f"wrote {out}")
            return
        assert vis_dir is not None and ir_dir is not None
        if _auto(text):
            from textif.detect import SIDECAR, fuse_folder_auto

            report, _ = fuse_folder_auto(fuser, vis_dir, ir_dir, output, overwrite=overwrite, bit_depth=bit_depth,
                                         resize_ir_to_vis=resize_ir_to_vis, progress=not quiet)
            typer.echo(f"text (auto): per pair, recorded in {output / SIDECAR}")
        else:
            report = fuser.fuse_folder(
                vis_dir, ir_dir, output, text, overwrite=overwrite, bit_depth=bit_depth,
                resize_ir_to_vis=resize_ir_to_vis, progress=not quiet,
            )
    n = len(report.written)
    typer.echo(
        f"fused {n} pair{'s' if n != 1 else ''} into {output} in {report.seconds:.1f} s"
        + (f", skipped {len(report.skipped)} existing (use --overwrite)" if report.skipped else "")
        + (f", {len(report.failed)} failed" if report.failed else "")
    )
    if report.failed:
        typer.echo("failed:", err=True)
        for _, msg in report.failed:
            typer.echo(f"  {msg}", err=True)
        raise typer.Exit(1)


def _auto(text: Optional[str]) -> bool:
    """``--text auto``: the detector chooses the sentence (see `textif detect`)."""
    from textif.inference.fuser import is_auto

    return is_auto(text)


def register(app: typer.Typer) -> None:
    app.command("fuse")(fuse)
