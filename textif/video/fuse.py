"""Video fusion with a :class:`~textif.inference.fuser.Fuser`: streams of frame pairs, video files, frame folders.

    import textif, textif.video as tv
    fuser = textif.load()
    tv.fuse_video(fuser, "vis.mp4", "ir.mp4", "fused.mp4", text="the infrared image is noisy")
    for fused in tv.stream(fuser, zip(vis_camera, ir_camera)):   # any iterable of (vis, ir) arrays
        show(fused)

Each frame goes through ``fuser.fuse_tensor`` with the text embedded once per clip, then through
the :class:`~textif.video.stabilize.TemporalStabilizer` (on by default) so that the fused video does
not flicker more than its sources. Frames are decoded, fused and encoded one at a time: memory does
not depend on the length of the video.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Literal, Optional, Union

import numpy as np
import torch
from torch import Tensor

from textif.core.errors import SizeMismatchError, TextIFError
from textif.core.io import write_image
from textif.inference.fuser import is_auto
from textif.video.io import (
    VideoError,
    VideoInfo,
    VideoReadError,
    VideoWriter,
    folder_frames,
    is_video_path,
    probe,
    read_frames,
    require_av,
    resolve_codec,
)
from textif.video.stabilize import StabilizerConfig, TemporalStabilizer

__all__ = ["stream", "fuse_video", "VideoReport", "FramePairError", "Text", "open_source"]

#: ``text`` of a clip: a sentence, ``None`` (neutral), or a function of the first frame pair
#: ``(vis, ir) -> sentence`` that is called once per clip and again at each scene change
#: (e.g. an automatic degradation diagnosis).
Text = Union[str, None, Callable[[np.ndarray, np.ndarray], Optional[str]]]
Sync = Literal["strict", "shortest"]


class FramePairError(TextIFError):
    """Two streams that must be fused frame by frame do not pair up (rate, count or size)."""


# ----------------------------------------------------------------------------- frames <-> tensors
def _frame_tensor(x: Any, role: str, index: int, device: torch.device) -> tuple[Tensor, bool]:
    """A numpy frame ``(H, W)``/``(H, W, 3)`` (uint8, uint16 or float in [0, 1]) or a tensor
    ``(C, H, W)``/``(1, C, H, W)`` -> ``((1, C, H, W) float32 in [0, 1], gray)``."""
    where = f"{role} frame {index + 1}"
    if isinstance(x, Tensor):
        t = x[None] if x.ndim == 3 else x
        if t.ndim != 4 or t.shape[0] != 1 or t.shape[1] not in (1, 3) or not t.is_floating_point():
            raise TextIFError(f"{where}: a tensor frame must be float (1, 1|3, H, W) in [0, 1], got {tuple(x.shape)} {x.dtype}")
        return t.to(device, torch.float32).clamp(0, 1), t.shape[1] == 1
    a = np.asarray(x)
    if a.ndim == 3 and a.shape[2] in (1, 4):
        a = a[..., :1][..., 0] if a.shape[2] == 1 else a[..., :3]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
        raise TextIFError(f"{where}: a frame must be (H, W) or (H, W, 3), got {a.shape}")
    if a.dtype == np.uint8:
        t = torch.from_numpy(np.ascontiguousarray(a)).to(device, torch.float32).div_(255.0)
    elif a.dtype == np.uint16:
        t = torch.from_numpy(a.astype(np.float32)).to(device).div_(65535.0)
    elif np.issubdtype(a.dtype, np.floating):
        f = a.astype(np.float32)
        if not np.isfinite(f).all() or f.min() < -1e-3 or f.max() > 1 + 1e-3:
            raise TextIFError(f"{where}: a float frame must hold finite values in [0, 1]")
        t = torch.from_numpy(np.ascontiguousarray(f)).to(device).clamp_(0, 1)
    else:
        raise TextIFError(f"{where}: unsupported dtype {a.dtype} (use uint8, uint16 or float in [0, 1])")
    t = t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]
    return t.contiguous(), t.shape[1] == 1


def _luma(x: Tensor) -> Tensor:
    w = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def _frame_like(out: Tensor, like: Any, gray: bool) -> Any:
    """``(1, 3, H, W)`` float in [0, 1] -> the kind and dtype of the input frame ``like``."""
    if gray:
        out = _luma(out)
    if isinstance(like, Tensor):
        return out if like.ndim == 4 else out[0]
    arr = out[0].permute(1, 2, 0).cpu().numpy()
    if arr.shape[2] == 1:
        arr = arr[..., 0]
    dt = np.asarray(like).dtype
    if dt == np.uint8:
        return np.round(arr * 255.0).astype(np.uint8)
    if dt == np.uint16:
        return np.round(arr * 65535.0).astype(np.uint16)
    return arr.astype(dt if np.issubdtype(dt, np.floating) else np.float32)


# ----------------------------------------------------------------------------- streaming
def stream(
    fuser: Any,
    pairs: Iterable[tuple[Any, Any]],
    text: Text = None,
    *,
    resize_ir_to_vis: bool = False,
    stabilize: bool | StabilizerConfig = True,
    names: tuple[str, str] = ("visible", "infrared"),
) -> Iterator[Any]:
    """Fuse an iterable of ``(vis, ir)`` frame pairs, yielding each fused frame as soon as it is ready.

    Args:
        fuser: a loaded :class:`~textif.inference.fuser.Fuser` (its public ``embed`` and ``fuse_tensor``
            are used; any backend that offers them works).
        pairs: any iterable (a generator from two live cameras, ``zip`` of two readers, a list...) of
            ``(vis, ir)``: numpy ``(H, W, 3)``/``(H, W)`` uint8, uint16 or float in [0, 1], or float
            tensors ``(1, C, H, W)``. Colour infrared is reduced to its luminance.
        text: a sentence, ``None`` (neutral), or ``f(vis, ir) -> sentence`` called on the first pair
            and at each scene change; ``"auto"`` uses the fuser's ``text_resolver`` (the degradation
            detector, for a fuser from :func:`textif.load`) that way. The sentence is encoded once
            (per scene), never per frame.
        resize_ir_to_vis: resize infrared frames to the visible size when they differ in resolution;
            otherwise a size difference raises :class:`~textif.core.errors.SizeMismatchError`.
        stabilize: smooth the low-frequency part of the fusion over time (``True``: default settings,
            a :class:`~textif.video.stabilize.StabilizerConfig`, or ``False`` for plain per-frame fusion).
        names: how the two streams are named in error messages.

    Yields:
        Fused frames of the kind and dtype of each visible frame (``(H, W, 3)``; ``(H, W)`` when the
        visible frame is gray).
    """
    device = getattr(fuser, "device", torch.device("cpu"))
    stab = None
    if stabilize:
        stab = TemporalStabilizer(stabilize if isinstance(stabilize, StabilizerConfig) else None)
    emb: Optional[Tensor] = None
    if is_auto(text):
        text = fuser.auto_text_resolver()
    detector = text if callable(text) else None
    size: Optional[tuple[int, int]] = None
    for k, pair in enumerate(pairs):
        try:
            vis, ir = pair
        except (TypeError, ValueError):
            raise TextIFError(f"item {k + 1} of the stream is not a (visible, infrared) pair") from None
        v, gray = _frame_tensor(vis, names[0], k, device)
        i, _ = _frame_tensor(ir, names[1], k, device)
        if i.shape[1] == 3:
            i = _luma(i)
        v3 = v.expand(-1, 3, -1, -1)
        hw = tuple(v3.shape[-2:])
        if size is not None and hw != size:
            raise FramePairError(
                f"{names[0]} frame {k + 1} is {hw[1]}x{hw[0]}, the frames before it are {size[1]}x{size[0]}"
            )
        size = hw  # type: ignore[assignment]
        if i.shape[-2:] != v3.shape[-2:]:
            if not resize_ir_to_vis:
                raise SizeMismatchError(
                    f"size mismatch: {names[0]} is {hw[1]}x{hw[0]} but {names[1]} is {i.shape[-1]}x{i.shape[-2]} "
                    f"(frame {k + 1}; use --resize-ir-to-vis if they differ only in resolution)"
                )
            i = torch.nn.functional.interpolate(i, size=hw, mode="bilinear", align_corners=False, antialias=True)
        new_scene = stab.observe(v3, i) if stab is not None else k == 0
        if emb is None or (detector is not None and new_scene):
            sentence = detector(np.asarray(vis), np.asarray(ir)) if detector is not None else text
            emb = fuser.embed(sentence)
        out = fuser.fuse_tensor(v3, i, emb)
        if stab is not None:
            out = stab(out.float(), v3.to(out.device, torch.float32), i, observed=True)
        yield _frame_like(out, vis, gray)


# ----------------------------------------------------------------------------- sources
@dataclass
class _Source:
    """One input stream: a video file or a folder of frames."""

    path: Path
    role: str
    frames: int
    width: int
    height: int
    fps: Optional[Fraction]  # None for a frame folder
    files: Optional[list[Path]] = None
    info: Optional[VideoInfo] = None

    @property
    def label(self) -> str:
        return f"{self.role} {self.path}"

    def read(self, gray: bool) -> Iterator[np.ndarray]:
        if self.files is None:
            return read_frames(self.path, gray=gray)
        _, it = folder_frames(self.path, gray=gray)
        return it


def open_source(path: str | os.PathLike, role: str) -> _Source:
    """Probe a video file or a frame folder (count, size, rate) without decoding every frame."""
    p = Path(path)
    if p.is_dir():
        files, it = folder_frames(p)
        first = next(it)
        h, w = first.shape[:2]
        return _Source(p, role, len(files), w, h, None, files)
    if not is_video_path(p):
        if not p.exists():
            raise VideoReadError(f"{p}: file not found")
        raise VideoReadError(f"{p}: not a video file (use .mp4, .mkv, .avi, .mov or .webm) or a folder of frames")
    info = probe(p)
    return _Source(p, role, info.frames, info.width, info.height, info.fps, None, info)


def _fps_text(fps: Fraction) -> str:
    return f"{float(fps):.3f}".rstrip("0").rstrip(".")


def _pair_sources(vis: _Source, ir: _Source, sync: Sync, resize_ir_to_vis: bool) -> int:
    """Check that two streams pair up frame by frame; return the number of frames to fuse."""
    if sync not in ("strict", "shortest"):
        raise TextIFError(f"--sync: unknown mode {sync!r} (use strict or shortest)")
    if vis.fps is not None and ir.fps is not None and abs(float(vis.fps) - float(ir.fps)) > 1e-4 * float(vis.fps):
        raise FramePairError(
            f"frame rates differ: {vis.label} is {_fps_text(vis.fps)} fps but {ir.label} is {_fps_text(ir.fps)} fps "
            "(convert one to the other's rate first)"
        )
    if (vis.width, vis.height) != (ir.width, ir.height) and not resize_ir_to_vis:
        raise SizeMismatchError(
            f"size mismatch: {vis.label} is {vis.width}x{vis.height} but {ir.label} is {ir.width}x{ir.height} "
            "(use --resize-ir-to-vis if they differ only in resolution)"
        )
    if vis.frames != ir.frames:
        if sync != "shortest":
            raise FramePairError(
                f"frame counts differ: {vis.label} has {vis.frames} frames but {ir.label} has {ir.frames} "
                f"(use --sync shortest to fuse the first {min(vis.frames, ir.frames)})"
            )
    return min(vis.frames, ir.frames)


# ----------------------------------------------------------------------------- files
@dataclass
class VideoReport:
    """Outcome of :func:`fuse_video`."""

    output: Path
    frames: int
    width: int
    height: int
    fps: Optional[Fraction]
    seconds: float
    codec: Optional[str] = None  # None when frames were written to a folder
    dropped: dict[str, int] = field(default_factory=dict)  # role -> frames left out by --sync shortest

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("nan")


def fuse_video(
    fuser: Any,
    vis: str | os.PathLike,
    ir: str | os.PathLike,
    out: str | os.PathLike,
    text: Text = None,
    *,
    fps: float | None = None,
    codec: str | None = None,
    crf: int | None = None,
    sync: Sync = "strict",
    resize_ir_to_vis: bool = False,
    stabilize: bool | StabilizerConfig = True,
    progress: bool = True,
    overwrite: bool = True,
) -> VideoReport:
    """Fuse a visible and an infrared video (or folders of frames, sorted by name) into ``out``.

    Args:
        fuser: a loaded :class:`~textif.inference.fuser.Fuser`.
        vis, ir: video files (.mp4, .mkv, .avi, .mov, .webm) or folders of frames.
        out: a video file (the extension picks the container) or a folder for PNG frames
            (``000000.png``, ...).
        text: a sentence, ``None`` (neutral) or a function ``(vis, ir) -> sentence`` (see :func:`stream`).
        fps: frame rate of the output when both inputs are frame folders (ignored otherwise: the
            output keeps the visible video's rate).
        codec: ``"h264"`` (default; yuv420p), ``"ffv1"`` (lossless, .mkv/.avi), ``"vp9"`` (.webm default),
            ``"mpeg4"``, ``"mjpeg"`` or an FFmpeg encoder name.
        crf: H.264/VP9 quality (lower is better, default 18).
        sync: ``"strict"`` (frame counts must agree) or ``"shortest"`` (fuse the common frames).
        resize_ir_to_vis: resize the infrared frames to the visible size when they differ in resolution.
        stabilize: temporal stabilisation (see :func:`stream`).
        progress: show a progress bar (frames per second and time left).
        overwrite: replace an existing output file.

    The output keeps the visible stream's frame rate, size and frame count. It is written to a
    temporary file and renamed at the end: an error or Ctrl-C leaves no output.

    Raises:
        FramePairError, SizeMismatchError, VideoReadError, CodecError: one-line messages naming the files.
    """
    require_av()
    t0 = time.perf_counter()
    out_p = Path(out)
    vs, irs = open_source(vis, "visible"), open_source(ir, "infrared")
    n = _pair_sources(vs, irs, sync, resize_ir_to_vis)
    to_video = is_video_path(out_p)
    rate = vs.fps or irs.fps
    if to_video:
        if rate is None:
            if fps is None:
                raise TextIFError("--fps: the inputs are frame folders; give the frame rate of the output video, e.g. --fps 25")
            rate = Fraction(fps).limit_denominator(1001 * 1000)
        if fps is not None and vs.fps is None and irs.fps is not None:
            rate = irs.fps
        if out_p.exists() and not overwrite:
            raise TextIFError(f"{out_p}: already exists (use --overwrite)")
        if out_p.resolve() in (vs.path.resolve(), irs.path.resolve()):
            raise TextIFError(f"{out_p}: the output would replace an input")
        resolve_codec(codec, out_p)  # fail on a bad codec before any fusion
    elif out_p.suffix and not out_p.is_dir():
        raise VideoError(f"{out_p}: unknown video extension {out_p.suffix} (use .mp4, .mkv, .avi, .mov or .webm, or a folder)")
    pairs = zip(vs.read(gray=False), irs.read(gray=True))
    if n < max(vs.frames, irs.frames):
        import itertools

        pairs = itertools.islice(pairs, n)
    frames = stream(fuser, pairs, text, resize_ir_to_vis=resize_ir_to_vis, stabilize=stabilize,
                    names=(f"visible {vs.path.name}", f"infrared {irs.path.name}"))
    from tqdm.auto import tqdm

    bar = tqdm(total=n, desc="fusing", unit="frame", disable=not progress, dynamic_ncols=True)
    written = 0
    try:
        if to_video:
            with VideoWriter(out_p, fps=rate, width=vs.width, height=vs.height, codec=codec, crf=crf) as w:
                for f in frames:
                    w.write(f)
                    written += 1
                    bar.update(1)
                _check_count(written, n, vs)  # inside the block: a short decode leaves no output
                codec_name = w.codec_name
        else:
            out_p.mkdir(parents=True, exist_ok=True)
            codec_name = None
            width = len(str(max(n - 1, 0)))
            for f in frames:
                write_image(out_p / f"{written:0{max(6, width)}d}.png", f)
                written += 1
                bar.update(1)
            _check_count(written, n, vs)
    finally:
        bar.close()
    dropped = {role: s.frames - n for role, s in (("visible", vs), ("infrared", irs)) if s.frames > n}
    return VideoReport(out_p, written, vs.width, vs.height, rate, time.perf_counter() - t0, codec_name, dropped)


def _check_count(written: int, n: int, vs: _Source) -> None:
    if written != n:
        raise VideoReadError(f"{vs.path}: the video announced {n} frames but only {written} could be decoded")
