"""Video fusion: video files and frame folders in, video files out, with streaming and temporal stabilisation.

    import textif
    from textif import video

    fuser = textif.load()                                      # any loaded Fuser (any backend)
    video.fuse_video(fuser, "vis.mp4", "ir.mp4", "fused.mp4", text="the visible image is blurry")
    for fused in video.stream(fuser, zip(vis_frames, ir_frames)):   # numpy frames in, numpy frames out
        ...

    vf = video.load("textif-small")                            # the same, method style
    vf.fuse_video("vis.mp4", "ir.mp4", "fused.mkv", codec="ffv1")

Video files are read and written with PyAV (``pip install "textif[video]"``), imported only when a
video is opened.
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Iterator

from textif.video.fuse import FramePairError, Text, VideoReport, fuse_video, open_source, stream
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
from textif.video.stabilize import StabilizerConfig, TemporalStabilizer

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
                   text: Text = None, **kwargs: Any) -> VideoReport:
        """See :func:`textif.video.fuse_video`."""
        return fuse_video(self.fuser, vis, ir, out, text, **kwargs)

    def stream(self, pairs: Iterable[tuple[Any, Any]], text: Text = None, **kwargs: Any) -> Iterator[Any]:
        """See :func:`textif.video.stream`."""
        return stream(self.fuser, pairs, text, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fuser, name)


def load(model: str | os.PathLike | None = None, **kwargs: Any) -> VideoFuser:
    """:func:`textif.load` (every keyword passed through, e.g. ``device``, ``backend``) wrapped in a :class:`VideoFuser`."""
    from textif.inference.fuser import load as _load

    return VideoFuser(_load(model, **kwargs))
