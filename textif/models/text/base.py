"""The text-encoder interface and its embedding cache.

A text encoder maps sentences to ``(B, D)`` float32 embeddings. Encoders are frozen and
expensive to load (8-11 s cold on a 2-core CPU), so :class:`CachedTextEncoder` keeps every
embedding in memory and on disk (``$TEXTIF_CACHE_DIR`` or ``~/.cache/textif``), keyed by
encoder and text, and loads the underlying model only when a text is not cached.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

__all__ = ["TextEncoder", "CachedTextEncoder", "cache_dir"]


def cache_dir() -> Path:
    """Root of textif's on-disk caches: ``$TEXTIF_CACHE_DIR``, else ``$XDG_CACHE_HOME/textif``,
    else ``~/.cache/textif``."""
    env = os.environ.get("TEXTIF_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "textif"


class TextEncoder(ABC):
    """A frozen sentence encoder. ``encode(["text", ...]) -> (B, dim)`` float32 on the CPU."""

    name: str
    dim: int

    @abstractmethod
    def encode(self, texts: list[str]) -> Tensor:
        """Embed sentences: returns ``(len(texts), self.dim)`` float32."""

    @property
    def cache_key(self) -> str:
        """Identifies the encoder's weights in cache keys (name by default)."""
        return self.name


class CachedTextEncoder(TextEncoder):
    """Wraps a factory of a :class:`TextEncoder`; the wrapped encoder is built on first miss.

    Args:
        name: encoder name (part of the cache key).
        dim: embedding size (known without loading the model).
        factory: builds the real encoder.
        key: extra cache-key text identifying the weights (e.g. a model folder).
        disk: keep embeddings on disk too.
    """

    def __init__(self, name: str, dim: int, factory, *, key: str = "", disk: bool = True) -> None:
        self.name = name
        self.dim = dim
        self._factory = factory
        self._key = key
        self._encoder: TextEncoder | None = None
        self._memory: dict[str, Tensor] = {}
        self.disk = disk

    @property
    def cache_key(self) -> str:
        return f"{self.name}:{self._key}" if self._key else self.name

    @property
    def loaded(self) -> bool:
        """Whether the underlying model has been loaded (tests use it to check the cache works)."""
        return self._encoder is not None

    def _file(self, text: str) -> Path:
        h = hashlib.sha256(f"{self.cache_key}\n{text}".encode()).hexdigest()[:40]
        return cache_dir() / "text-embeddings" / self.name / f"{h}.npy"

    def _read_disk(self, text: str) -> Tensor | None:
        if not self.disk:
            return None
        f = self._file(text)
        try:
            arr = np.load(f, allow_pickle=False)
        except (OSError, ValueError):
            return None
        if arr.shape != (self.dim,) or arr.dtype != np.float32:
            return None
        return torch.from_numpy(arr)

    def _write_disk(self, text: str, emb: Tensor) -> None:
        if not self.disk:
            return
        f = self._file(text)
        try:
            f.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=f.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                np.save(fh, emb.numpy().astype(np.float32))
            os.replace(tmp, f)
        except OSError:
            pass  # a read-only cache only costs speed

    def add(self, texts: list[str], embeddings: Tensor) -> None:
        """Seed the in-memory cache (e.g. with embeddings shipped beside a model)."""
        for t, e in zip(texts, embeddings):
            self._memory[t] = e.detach().float().cpu()

    def encode(self, texts: list[str]) -> Tensor:
        if isinstance(texts, str):
            texts = [texts]
        missing = []
        for t in dict.fromkeys(texts):
            if t not in self._memory:
                e = self._read_disk(t)
                if e is None:
                    missing.append(t)
                else:
                    self._memory[t] = e
        if missing:
            if self._encoder is None:
                self._encoder = self._factory()
            embs = self._encoder.encode(missing).detach().float().cpu()
            for t, e in zip(missing, embs):
                e = e.contiguous()
                self._memory[t] = e
                self._write_disk(t, e)
        return torch.stack([self._memory[t] for t in texts])
