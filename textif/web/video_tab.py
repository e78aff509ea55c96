"""The web app's Video tab: fuse a short visible/infrared clip pair into an H.264 MP4.

The clips are checked before any fusion (upload size, length in frames and seconds, pixels per
frame, then the pairing rules of :func:`textif.video.fuse_video`); every problem is one line on the
page that names the uploaded file, never a server path or a stack trace. Fusion goes through the
same model lock as the image tab, one clip at a time.
"""
from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textif.core.errors import TextIFError
from textif.data.prompts import NEUTRAL_PROMPT

if TYPE_CHECKING:  # pragma: no cover
    from textif.web.app import FusionService

__all__ = ["VideoLimits", "VideoService", "add_video_tab"]


@dataclass(frozen=True)
class VideoLimits:
    """What the Video tab accepts: clip length (frames and seconds) and pixels per frame."""

    max_frames: int = 300
    max_seconds: float = 20.0
    max_pixels: int = 640 * 512


class VideoService:
    """Checks and fuses one uploaded clip pair (free of Gradio; see :meth:`fuse`)."""

    def __init__(self, images: "FusionService", limits: VideoLimits | None = None) -> None:
        self.images = images  # the image tab's service: fuser, upload limits, output folder, model lock
        self.limits = limits or VideoLimits()
        self._lock = getattr(images, "_lock", threading.Lock())

    def fuse(self, vis: Any, ir: Any, text: str | None, resize_ir_to_vis: bool = False) -> tuple[Path, str]:
        """Fuse an uploaded pair of clips; return ``(fused.mp4, status markdown)``.

        Raises :class:`~textif.core.errors.TextIFError` with a one-line message.
        """
        from textif.video import fuse_video, open_source
        from textif.video.io import require_av
        from textif.web.app import WebInputError, _safe_stem

        t0 = time.perf_counter()
        svc = self.images
        fv, fi, prompt = svc.take_request(vis, ir, text, "video")
        require_av()
        names = {str(fv[0]): f"'{fv[1]}'", str(fi[0]): f"'{fi[1]}'"}
        lim = self.limits
        try:
            srcs = []
            for (path, name), role in ((fv, "visible"), (fi, "infrared")):
                self._check_file(path, name, role)
                s = open_source(_with_video_suffix(path, name), role)
                if s.width * s.height > lim.max_pixels:
                    raise WebInputError(
                        f"the {role} video '{name}' is {s.width}×{s.height}; this server accepts at most "
                        f"{lim.max_pixels / 1e6:.3g} MP per frame"
                    )
                secs = float(s.frames / s.fps) if s.fps else 0.0
                if s.frames > lim.max_frames or secs > lim.max_seconds:
                    raise WebInputError(
                        f"the {role} video '{name}' is {s.frames} frames ({secs:.1f} s); this server fuses clips of at most "
                        f"{lim.max_frames} frames and {lim.max_seconds:g} s"
                    )
                srcs.append(s)
            folder = svc.out_dir / f"video-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{threading.get_ident() % 10000}"
            folder.mkdir(parents=True, exist_ok=True)
            out = folder / f"textif-{_safe_stem(fv[1])}.mp4"
            with self._lock:
                r = fuse_video(svc.fuser, srcs[0].path, srcs[1].path, out, prompt or NEUTRAL_PROMPT,
                               resize_ir_to_vis=resize_ir_to_vis, progress=False)
        except WebInputError:
            raise
        except TextIFError as e:
            raise WebInputError(_scrub(str(e), names, svc.out_dir)) from None
        status = (f"**Fused {r.frames} frames of {r.width}×{r.height} in {r.seconds:.1f} s** "
                  f"({r.frames_per_second:.2f} frames/s, {float(r.fps):g} fps H.264) · model `{svc.model}`")
        _ = t0
        return r.output, status

    def _check_file(self, path: Path, name: str, role: str) -> None:
        from textif.web.app import WebInputError

        lim = self.images.limits
        try:
            size = path.stat().st_size
        except OSError:
            raise WebInputError(f"the {role} video '{name}' is no longer available; upload it again") from None
        if size > lim.max_upload_bytes:
            raise WebInputError(
                f"the {role} video '{name}' is {size / 2**20:.1f} MB; this server accepts uploads of at most "
                f"{lim.max_upload_mb:g} MB (start it with --max-upload-mb to change)"
            )
        if size == 0:
            raise WebInputError(f"the {role} file '{name}' is empty")


def _with_video_suffix(path: Path, name: str) -> Path:
    """Uploads keep their extension; a data-URL upload may not: link it under the original name's suffix."""
    from textif.video.io import VIDEO_EXTENSIONS

    suffix = Path(name).suffix.lower()
    if path.suffix.lower() in VIDEO_EXTENSIONS or suffix not in VIDEO_EXTENSIONS:
        return path
    target = path.with_suffix(suffix)
    if not target.exists():
        os.link(path, target)
    return target


def _scrub(msg: str, names: dict[str, str], out_dir: Path) -> str:
    """Replace server paths in a message by the uploaded files' names."""
    for path, name in sorted(names.items(), key=lambda kv: -len(kv[0])):
        msg = msg.replace(path, name)
        p = Path(path)
        for suffix in (".mp4", ".mkv", ".avi", ".mov", ".webm"):
            msg = msg.replace(str(p.with_suffix(suffix)), name)
    msg = msg.replace(str(out_dir), "")
    msg = re.sub(r"(/[^\s'\"]+)+/", "", msg)  # any other folder part
    return msg.replace("--resize-ir-to-vis", "'Resize infrared to the visible size'").replace(
        "--sync shortest", "trimming the longer clip first")


def add_video_tab(service: "FusionService", limits: VideoLimits | None = None) -> VideoService:
    """Add the Video tab to the ``gr.Blocks`` being built (call inside its ``with`` block)."""
    import gradio as gr

    vsvc = VideoService(service, limits)
    lim = vsvc.limits

    def fuse(vis: Any, ir: Any, text: str | None, resize: bool) -> tuple[Any, Any, str]:
        try:
            out, status = vsvc.fuse(vis, ir, text, bool(resize))
        except TextIFError as e:
            raise gr.Error(str(e), title="Cannot fuse", print_exception=False) from None
        except Exception as e:  # noqa: BLE001 - one line on the page, details in the log
            import logging

            logging.getLogger("textif.web").exception("video fusion failed")
            first = (str(e).strip().splitlines() or [""])[0][:300]
            raise gr.Error(f"fusion failed: {type(e).__name__}: {first}", title="Fusion failed",
                           print_exception=False) from None
        return str(out), str(out), status

    with gr.Tab("Video", elem_id="video-tab"):
        gr.Markdown(
            "Fuse a short **visible** and **infrared** clip pair (same frame rate, frame count and size) into an "
            f"H.264 MP4. Limits: {lim.max_frames} frames, {lim.max_seconds:g} s, {lim.max_pixels / 1e6:.3g} MP per frame, "
            f"{service.limits.max_upload_mb:g} MB per upload."
        )
        with gr.Row(equal_height=True):
            vis_in = gr.Video(label="Visible clip", sources=["upload"], format=None, height=260, elem_id="video-vis")
            ir_in = gr.Video(label="Infrared clip", sources=["upload"], format=None, height=260, elem_id="video-ir")
            result = gr.Video(label="Fused clip", format=None, interactive=False, height=260, elem_id="video-result")
        text = gr.Textbox(label="What should the fusion fix?", value=NEUTRAL_PROMPT, lines=1,
                          max_length=service.limits.max_text_chars, elem_id="video-prompt")
        resize = gr.Checkbox(label="Resize infrared to the visible size", value=False, elem_id="video-resize")
        btn = gr.Button("Fuse video", variant="primary", elem_id="video-fuse")
        status = gr.Markdown("Ready", elem_id="video-status")
        download = gr.DownloadButton("Download fused MP4", value=None, elem_id="video-download")
        dep = btn.click(fuse, inputs=[vis_in, ir_in, text, resize], outputs=[result, download, status],
                        api_name="fuse_video", preprocess=False, concurrency_limit="default")
        dep.failure(None, None, status, js="() => 'The last video fusion did not run: see the message in the corner.'",
                    queue=False, api_visibility="private")
    return vsvc
