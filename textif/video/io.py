"""Reading and writing video files with PyAV (FFmpeg inside its wheel), and frame folders.

Readers decode one frame at a time (nothing is held beyond the current frame); writers encode into
a temporary file next to the target and rename it into place only when every frame is written, so
an error or Ctrl-C never leaves a half-written video.

    info = probe("vis.mp4")                      # VideoInfo(width=640, height=480, fps=25, frames=200, ...)
    for rgb in read_frames("vis.mp4"):          # (H, W, 3) uint8 arrays
        ...
    with VideoWriter("out.mp4", fps=info.fps, width=640, height=480) as w:
        w.write(rgb)                             # (H, W, 3) uint8 or float in [0, 1]

PyAV is imported lazily: ``import textif`` works without it (``pip install "textif[video]"``).
"""
from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator, Literal

import numpy as np

from textif.core.errors import ImageReadError, ImageWriteError, TextIFError
from textif.core.io import list_images, read_image

__all__ = [
    "VIDEO_EXTENSIONS",
    "CODECS",
    "VideoInfo",
    "VideoError",
    "VideoReadError",
    "CodecError",
    "is_video_path",
    "probe",
    "read_frames",
    "folder_frames",
    "VideoWriter",
    "require_av",
]

#: Container formats recognised by file extension.
VIDEO_EXTENSIONS: dict[str, str] = {".mp4": "mp4", ".mkv": "matroska", ".avi": "avi", ".mov": "mov", ".webm": "webm"}


@dataclass(frozen=True)
class _Codec:
    encoder: str  # FFmpeg encoder name
    pix_fmt: str
    containers: tuple[str, ...]  # extensions it can be stored in
    lossless: bool = False
    quality: str | None = None  # option that --crf sets ("crf"), None when the codec has no CRF


#: Short codec names accepted by ``--codec`` (any other FFmpeg encoder name is tried as given).
CODECS: dict[str, _Codec] = {
    "h264": _Codec("libx264", "yuv420p", (".mp4", ".mkv", ".mov", ".avi"), quality="crf"),
    "ffv1": _Codec("ffv1", "bgr0", (".mkv", ".avi"), lossless=True),
    "vp9": _Codec("libvpx-vp9", "yuv420p", (".webm", ".mkv", ".mp4"), quality="crf"),
    "mpeg4": _Codec("mpeg4", "yuv420p", (".mp4", ".mkv", ".avi", ".mov")),
    "mjpeg": _Codec("mjpeg", "yuvj444p", (".avi", ".mkv", ".mov")),
}
_ALIASES = {"libx264": "h264", "x264": "h264", "avc": "h264", "libvpx-vp9": "vp9", "lossless": "ffv1"}
DEFAULT_CRF = 18


class VideoError(TextIFError):
    """A video could not be used (a one-line message naming the file and the problem)."""


class VideoReadError(VideoError, ImageReadError):
    """A video (or frame folder) is missing, unreadable or empty."""


class CodecError(VideoError):
    """An unknown codec, or one the chosen container cannot hold."""


def require_av() -> Any:
    """Import PyAV, or raise a one-line error saying how to install it."""
    try:
        import av
    except ImportError:
        raise TextIFError('video needs PyAV: pip install "textif[video]"') from None
    av.logging.set_level(av.logging.ERROR)  # no FFmpeg chatter on stderr
    return av


def is_video_path(path: str | os.PathLike | None) -> bool:
    """Whether ``path`` names a video file by its extension (mp4, mkv, avi, mov, webm)."""
    return path is not None and Path(path).suffix.lower() in VIDEO_EXTENSIONS


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` found: size, frame rate (a Fraction) and frame count of the first video stream."""

    path: Path
    width: int
    height: int
    fps: Fraction
    frames: int
    codec: str

    @property
    def seconds(self) -> float:
        return float(self.frames / self.fps) if self.fps else 0.0


def _open_input(path: Path) -> Any:
    av = require_av()
    if not path.exists():
        raise VideoReadError(f"{path}: file not found")
    if path.is_dir():
        raise VideoReadError(f"{path}: is a folder, not a video file")
    if path.stat().st_size == 0:
        raise VideoReadError(f"{path}: empty file")
    try:
        c = av.open(str(path), "r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as e:
        raise VideoReadError(f"{path}: not a readable video ({_why(e)})") from None
    if not c.streams.video:
        c.close()
        raise VideoReadError(f"{path}: has no video stream")
    return c


def _why(e: BaseException) -> str:
    s = getattr(e, "strerror", None) or str(e) or type(e).__name__
    return s.strip().splitlines()[0][:200]


def probe(path: str | os.PathLike) -> VideoInfo:
    """Size, frame rate and frame count of a video file (the count by reading packets when the
    container does not store it). Raises :class:`VideoReadError` for a missing, unreadable or empty video."""
    p = Path(path)
    c = _open_input(p)
    try:
        s = c.streams.video[0]
        cc = s.codec_context
        rate = s.average_rate or s.guessed_rate or s.base_rate
        fps = Fraction(rate) if rate else Fraction(0)
        n = int(s.frames or 0)
        if n <= 0:
            try:
                n = sum(1 for pkt in c.demux(s) if pkt.size)
            except Exception as e:  # noqa: BLE001 - FFmpeg errors of a broken file
                raise VideoReadError(f"{p}: not a readable video ({_why(e)})") from None
        if n <= 0:
            raise VideoReadError(f"{p}: the video has no frames")
        if not cc.width or not cc.height:
            raise VideoReadError(f"{p}: the video stream has no frame size")
        return VideoInfo(p, int(cc.width), int(cc.height), fps, n, str(cc.name))
    finally:
        c.close()


def read_frames(path: str | os.PathLike, *, gray: bool = False) -> Iterator[np.ndarray]:
    """Decode a video one frame at a time: ``(H, W, 3)`` RGB uint8, or ``(H, W)`` uint8 when ``gray``.

    Raises :class:`VideoReadError` when the file cannot be read or holds no frame.
    """
    p = Path(path)
    c = _open_input(p)
    n = 0
    try:
        fmt = "gray" if gray else "rgb24"
        try:
            for frame in c.decode(video=0):
                n += 1
                yield frame.to_ndarray(format=fmt)
        except Exception as e:  # noqa: BLE001 - FFmpeg errors of a broken file
            av = require_av()
            if isinstance(e, (av.error.FFmpegError, ValueError)):
                raise VideoReadError(f"{p}: cannot decode frame {n + 1} ({_why(e)})") from None
            raise
        if n == 0:
            raise VideoReadError(f"{p}: the video has no frames")
    finally:
        c.close()


def folder_frames(folder: str | os.PathLike, *, gray: bool = False) -> tuple[list[Path], Iterator[np.ndarray]]:
    """The image files of a frame folder sorted by name, and an iterator reading them one at a time
    (``(H, W, 3)`` or, with ``gray``, ``(H, W)`` float32 in [0, 1])."""
    files = sorted(list_images(folder).values(), key=lambda f: f.name)
    if not files:
        raise VideoReadError(f"{folder}: no images found")

    def it() -> Iterator[np.ndarray]:
        for f in files:
            yield read_image(f, channels=1 if gray else 3)

    return files, it()


def resolve_codec(codec: str | None, path: Path) -> tuple[str, _Codec]:
    """``(short name, codec)`` for ``--codec`` and the output's extension; raises :class:`CodecError`."""
    ext = path.suffix.lower()
    if ext not in VIDEO_EXTENSIONS:
        raise CodecError(f"{path}: unknown video extension {ext or '(none)'} (use {', '.join(VIDEO_EXTENSIONS)})")
    name = (codec or ("vp9" if ext == ".webm" else "h264")).strip().lower()
    name = _ALIASES.get(name, name)
    if name in CODECS:
        spec = CODECS[name]
    else:
        av = require_av()
        try:
            c = av.codec.Codec(name, "w")
        except Exception:  # noqa: BLE001 - unknown to this FFmpeg build
            close = difflib.get_close_matches(name, list(CODECS), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise CodecError(f"--codec {name}: unknown codec ({hint}choose from {', '.join(CODECS)})") from None
        if c.type != "video":
            raise CodecError(f"--codec {name}: is not a video codec")
        fmts = [f.name for f in (c.video_formats or [])]
        pix = "yuv420p" if not fmts or "yuv420p" in fmts else fmts[0]
        spec = _Codec(c.name, pix, tuple(VIDEO_EXTENSIONS))
    if ext not in spec.containers:
        raise CodecError(
            f"{path}: a {ext} file cannot hold {name} video (use {', '.join(spec.containers)} for {name})"
        )
    return name, spec


class VideoWriter:
    """Encode frames into ``path`` atomically (a temporary file in the same folder, renamed by :meth:`close`).

    Args:
        path: output file; the extension picks the container (mp4, mkv, avi, mov, webm).
        fps: frame rate (a number or :class:`~fractions.Fraction`).
        width, height: frame size; every frame must have it.
        codec: ``"h264"`` (default; ``"vp9"`` for .webm), ``"ffv1"`` (lossless, .mkv/.avi), ``"vp9"``,
            ``"mpeg4"``, ``"mjpeg"`` or another FFmpeg encoder name.
        crf: quality of H.264/VP9 (lower is better; default 18); an error for codecs without one.

    Use as a context manager: leaving the block normally finishes the file; an exception (or
    Ctrl-C) removes the temporary file and leaves no output.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        fps: float | Fraction,
        width: int,
        height: int,
        codec: str | None = None,
        crf: int | None = None,
    ) -> None:
        av = require_av()
        self.path = Path(path)
        self.codec_name, spec = resolve_codec(codec, self.path)
        if crf is not None and spec.quality is None:
            raise CodecError(f"--crf: the {self.codec_name} codec has no CRF setting (use it with h264 or vp9)")
        if crf is not None and not 0 <= crf <= 63:
            raise CodecError(f"--crf must be between 0 and 63, got {crf}")
        rate = Fraction(fps).limit_denominator(1001 * 1000) if not isinstance(fps, Fraction) else fps
        if rate <= 0:
            raise VideoError(f"{self.path}: frame rate must be positive, got {fps}")
        self.fps = rate
        self.width, self.height = int(width), int(height)
        folder = self.path.parent if str(self.path.parent) else Path(".")
        if not folder.is_dir():
            raise ImageWriteError(f"{self.path}: output folder {folder} does not exist")
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=f".part{self.path.suffix}", dir=folder)
        except OSError as e:
            raise ImageWriteError(f"{self.path}: cannot write to {folder} ({e.strerror or e})") from None
        os.close(fd)
        self._tmp = Path(tmp)
        self._container = None
        try:
            self._container = av.open(str(self._tmp), "w", format=VIDEO_EXTENSIONS[self.path.suffix.lower()])
            stream = self._container.add_stream(spec.encoder, rate=rate)
            pix = spec.pix_fmt
            if pix.startswith("yuv420") and (self.width % 2 or self.height % 2):
                pix = "yuv444p"  # 4:2:0 needs even sizes; keep the exact frame size instead of padding
            stream.width, stream.height, stream.pix_fmt = self.width, self.height, pix
            opts: dict[str, str] = {}
            if spec.quality:
                opts[spec.quality] = str(DEFAULT_CRF if crf is None else crf)
                if spec.encoder == "libvpx-vp9":
                    opts["b:v"] = "0"  # constant quality
            stream.options = opts
            stream.codec_context.time_base = Fraction(1, 1) / rate
            self._stream = stream
        except Exception as e:
            self._abort()
            if isinstance(e, TextIFError):
                raise
            raise CodecError(f"{self.path}: cannot encode {self.codec_name} video ({_why(e)})") from None
        self.frames = 0
        self._av = av

    def write(self, frame: np.ndarray) -> None:
        """Encode one frame: ``(H, W, 3)`` RGB or ``(H, W)`` gray, uint8, uint16 or float in [0, 1]."""
        arr = _to_uint8_rgb(frame)
        if arr.shape[:2] != (self.height, self.width):
            raise VideoError(
                f"{self.path}: frame {self.frames + 1} is {arr.shape[1]}x{arr.shape[0]}, the video is {self.width}x{self.height}"
            )
        vf = self._av.VideoFrame.from_ndarray(arr, format="rgb24")
        vf.pts = self.frames
        vf.time_base = self._stream.codec_context.time_base
        try:
            for pkt in self._stream.encode(vf):
                self._container.mux(pkt)
        except self._av.error.FFmpegError as e:
            raise VideoError(f"{self.path}: cannot encode frame {self.frames + 1} ({_why(e)})") from None
        self.frames += 1

    def close(self) -> Path:
        """Flush the encoder and rename the finished file into place."""
        if self._container is None:
            return self.path
        try:
            if self.frames == 0:
                raise VideoError(f"{self.path}: no frames to write")
            for pkt in self._stream.encode(None):
                self._container.mux(pkt)
            self._container.close()
            self._container = None
            os.chmod(self._tmp, 0o666 & ~_umask())
            os.replace(self._tmp, self.path)
        except BaseException as e:
            self._abort()
            if isinstance(e, OSError):
                raise ImageWriteError(f"{self.path}: cannot write ({e.strerror or e})") from None
            raise
        return self.path

    def _abort(self) -> None:
        """Drop the partial output."""
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # noqa: BLE001 - the file is being thrown away
                pass
            self._container = None
        try:
            self._tmp.unlink()
        except FileNotFoundError:
            pass

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Literal[False]:
        if exc_type is None:
            self.close()
        else:
            self._abort()
        return False

    def __del__(self) -> None:  # a writer dropped without close(): leave nothing behind
        try:
            if getattr(self, "_container", None) is not None:
                self._abort()
        except Exception:  # noqa: BLE001
            pass


def _umask() -> int:
    u = os.umask(0)
    os.umask(u)
    return u


def _to_uint8_rgb(frame: np.ndarray) -> np.ndarray:
    a = np.asarray(frame)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[..., :3]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
        raise VideoError(f"a video frame must be (H, W) or (H, W, 3), got {a.shape}")
    if a.dtype == np.uint16:
        a = ((a.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif a.dtype != np.uint8:
        a = np.round(np.clip(a.astype(np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    return np.ascontiguousarray(a)
