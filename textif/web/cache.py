"""A small thread-safe LRU cache of fused results for the web app.

A result is keyed by a hash of both images' pixels (values, shape and dtype), the prompt,
the model and the options that change the output, so fusing the same pair with the same
sentence again is answered from the cache. Each entry owns a folder of files (the fused
PNG and the visible preview); evicting the entry deletes that folder.
"""
from __future__ import annotations

import hashlib
import shutil
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CachedResult", "ResultCache", "result_key"]


@dataclass(frozen=True)
class CachedResult:
    """One fused result on disk.

    Attributes:
        folder: the entry's folder (deleted on eviction).
        fused: the full-resolution fused PNG.
        visible: an 8-bit PNG of the visible input, for the before/after comparison.
        width, height: size of the fused image in pixels.
        seconds: how long the fusion took when it was computed.
        tiled: whether the fusion went through the tiled path.
    """

    folder: Path
    fused: Path
    visible: Path
    width: int
    height: int
    seconds: float
    tiled: bool


def _update_array(h: Any, arr: np.ndarray) -> None:
    a = np.ascontiguousarray(arr)
    h.update(f"{a.dtype.str}{a.shape}".encode())
    h.update(memoryview(a).cast("B"))


def result_key(vis: np.ndarray, ir: np.ndarray, text: str, model: str, **options: Any) -> str:
    """Hex digest identifying a fusion: both images' pixels, the text, the model and ``options``."""
    h = hashlib.blake2b(digest_size=20)
    _update_array(h, vis)
    h.update(b"\x00ir\x00")
    _update_array(h, ir)
    h.update(b"\x00text\x00" + text.encode("utf-8"))
    h.update(b"\x00model\x00" + model.encode("utf-8"))
    for k in sorted(options):
        h.update(f"\x00{k}={options[k]!r}".encode("utf-8"))
    return h.hexdigest()


class ResultCache:
    """Least-recently-used cache of :class:`CachedResult`, at most ``max_items`` entries.

    ``max_items=0`` disables caching (every entry is evicted as soon as it is stored, but the
    files of the newest entry are kept until the next one arrives, so they can still be served).
    """

    def __init__(self, max_items: int = 32) -> None:
        if max_items < 0:
            raise ValueError(f"max_items must be >= 0, got {max_items}")
        self.max_items = max_items
        self._items: OrderedDict[str, CachedResult] = OrderedDict()
        self._lock = threading.Lock()
        self._last_uncached: CachedResult | None = None
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._items

    def get(self, key: str) -> CachedResult | None:
        """The entry for ``key`` (marked most recently used), or ``None``; a missing file counts as a miss."""
        with self._lock:
            item = self._items.get(key)
            if item is not None and not (item.fused.is_file() and item.visible.is_file()):
                del self._items[key]
                item = None
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item

    def put(self, key: str, item: CachedResult) -> None:
        """Store ``item``, evicting (and deleting the files of) the least recently used entries."""
        evicted: list[CachedResult] = []
        with self._lock:
            if self.max_items == 0:
                if self._last_uncached is not None and self._last_uncached.folder != item.folder:
                    evicted.append(self._last_uncached)
                self._last_uncached = item
            else:
                old = self._items.pop(key, None)
                if old is not None and old.folder != item.folder:
                    evicted.append(old)
                self._items[key] = item
                while len(self._items) > self.max_items:
                    evicted.append(self._items.popitem(last=False)[1])
        for e in evicted:
            shutil.rmtree(e.folder, ignore_errors=True)

    def clear(self) -> None:
        """Drop every entry and delete its files."""
        with self._lock:
            items = list(self._items.values())
            if self._last_uncached is not None:
                items.append(self._last_uncached)
            self._items.clear()
            self._last_uncached = None
        for e in items:
            shutil.rmtree(e.folder, ignore_errors=True)
