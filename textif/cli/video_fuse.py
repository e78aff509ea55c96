"""The video path of ``textif fuse``: video files or frame folders in, a video (or frames) out.

``fuse_cmd`` asks :func:`video_job` whether the arguments describe a video job (a video input, or
frame folders written to a video file); the options are checked before the model is loaded.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import typer

from textif.cli.common import fail

_VIDEO_OPTIONS = ("--codec", "--crf", "--fps", "--sync")


@dataclass
class VideoJob:
    vis: Path
    ir: Path
    output: Path
    codec: Optional[str]
    crf: Optional[int]
    fps: Optional[float]
    sync: str

    def run(self, fuser: Any, text: Any, *, resize_ir_to_vis: bool, stabilize: bool, quiet: bool) -> None:
        from textif.video import fuse_video

        r = fuse_video(
            fuser, self.vis, self.ir, self.output, text, fps=self.fps, codec=self.codec, crf=self.crf,
            sync=self.sync, resize_ir_to_vis=resize_ir_to_vis, stabilize=stabilize, progress=not quiet,
        )
        if quiet:
            return
        rate = f", {float(r.fps):g} fps" if r.fps else ""
        what = f"{r.codec}" if r.codec else "PNG frames"
        typer.echo(
            f"wrote {r.output} ({r.frames} frames, {r.width}x{r.height}{rate}, {what}) in {r.seconds:.1f} s "
            f"({r.frames_per_second:.2f} frames/s)"
        )
        for role, n in r.dropped.items():
            typer.echo(f"--sync shortest: left out the last {n} frame{'s' if n != 1 else ''} of the {role} input")


def video_job(
    vis: Optional[Path], ir: Optional[Path], vis_dir: Optional[Path], ir_dir: Optional[Path], output: Path,
    *, codec: Optional[str], crf: Optional[int], fps: Optional[float], sync: str,
) -> Optional[VideoJob]:
    """The video job the arguments describe, or ``None`` for image fusion (then the video-only
    options must not be given). Exits with a one-line message on a bad combination."""
    from textif.video.io import is_video_path

    single = vis is not None and ir is not None
    videos_in = single and (is_video_path(vis) or is_video_path(ir))
    frames_to_video = vis_dir is not None and ir_dir is not None and is_video_path(output)
    if not (videos_in or frames_to_video):
        given = [o for o, v in zip(_VIDEO_OPTIONS, (codec, crf, fps, sync != "strict")) if v]
        if given:
            fail(f"{', '.join(given)}: only for video (a video input, or -o a video file: .mp4, .mkv, .avi, .mov, .webm)")
        return None
    if videos_in:
        assert vis is not None and ir is not None
        if not is_video_path(output) and output.suffix:
            fail(f"-o {output}: give a video file (.mp4, .mkv, .avi, .mov, .webm) or a folder for the fused frames")
        src_vis, src_ir = vis, ir
    else:
        assert vis_dir is not None and ir_dir is not None
        src_vis, src_ir = vis_dir, ir_dir
    if crf is not None and not 0 <= crf <= 63:
        fail(f"--crf must be between 0 and 63, got {crf}")
    if fps is not None and not fps > 0:
        fail(f"--fps must be positive, got {fps}")
    if sync not in ("strict", "shortest"):
        fail(f"--sync must be strict or shortest, got {sync!r}")
    return VideoJob(src_vis, src_ir, output, codec, crf, fps, sync)
