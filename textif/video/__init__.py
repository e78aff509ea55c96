"""Video fusion: video files and frame folders in, video files out, with streaming and temporal stabilisation.

    import textif
    from textif import video

    fuser = textif.load()                                      # any loaded Fuser (any backend)
    video.fuse_video(fuser, "vis.mp4", "ir.mp4", "fused.mp4", text="the visible image is blurry")
    for fused in video.stream(fuser, zip(vis_frames, ir_frames)):   # numpy frames in, numpy frames out
        ...

    vf = video.load("textif-fast")                            # the same, method style
    vf.fuse_video("vis.mp4", "ir.mp4", "fused.mkv", codec="ffv1")

Video files are read and written with PyAV (``pip install "textif[video]"``), imported only when a
video is opened.
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Iterator

from textif.video.io import (
    CODECS,
    VIDEO_EXTENSIONS,
    CodecError,
    VideoError,
    VideoInfo,
    VideoReadError,
    VideoWriter,
    folder_frames,
    is_video_path,
    probe,
    read_frames,
)

# The fusion half needs torch; it is imported on first use so that ``textif fuse`` on images (which
# asks textif.video.io whether an input is a video) stays free of torch on the ONNX Runtime path.
_LAZY = {
    "FramePairError": "textif.video.fuse", "Text": "textif.video.fuse", "VideoReport": "textif.video.fuse",
    "fuse_video": "textif.video.fuse", "open_source": "textif.video.fuse", "stream": "textif.video.fuse",
    "StabilizerConfig": "textif.video.stabilize", "TemporalStabilizer": "textif.video.stabilize",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'textif.video' has no attribute {name!r}")


__all__ = [
    "CODECS", "VIDEO_EXTENSIONS", "CodecError", "FramePairError", "StabilizerConfig", "TemporalStabilizer",
    "Text", "VideoError", "VideoFuser", "VideoInfo", "VideoReadError", "VideoReport", "VideoWriter",
    "folder_frames", "fuse_video", "is_video_path", "load", "open_source", "probe", "read_frames", "stream",
]


class VideoFuser:
    """A :class:`~textif.inference.fuser.Fuser` with video methods: ``fuse_video`` and ``stream``.

    Everything else (``fuse``, ``embed``, ``device``...) is the wrapped fuser's.
    """

    def __init__(self, fuser: Any) -> None:
        self.fuser = fuser

    def fuse_video(self, vis: str | os.PathLike, ir: str | os.PathLike, out: str | os.PathLike,
                   text: Any = None, **kwargs: Any) -> Any:
        """See :func:`textif.video.fuse_video` (returns its ``VideoReport``)."""
        from textif.video.fuse import fuse_video

        return fuse_video(self.fuser, vis, ir, out, text, **kwargs)

    def stream(self, pairs: Iterable[tuple[Any, Any]], text: Any = None, **kwargs: Any) -> Iterator[Any]:
        """See :func:`textif.video.stream`."""
        from textif.video.fuse import stream

        return stream(self.fuser, pairs, text, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fuser, name)


def load(model: str | os.PathLike | None = None, **kwargs: Any) -> VideoFuser:
    """:func:`textif.load` (every keyword passed through, e.g. ``device``, ``backend``) wrapped in a :class:`VideoFuser`."""
    from textif.inference.fuser import load as _load

    return VideoFuser(_load(model, **kwargs))
