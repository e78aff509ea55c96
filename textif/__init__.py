"""textif: text-guided, degradation-aware infrared-visible image fusion (Text-IF).

Public API (imported lazily so that ``import textif`` stays fast)::

    fuser = textif.load("textif-fast", device="cpu")
    fused = fuser.fuse("vis.png", "ir.png", text="the visible image is too dark")
    textif.list_models(); textif.create_model("textif-tiny")
    textif.list_metrics(); textif.create_metric("qabf")
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Fuser": "textif.inference.fuser",
    "create_model": "textif.models",
    "list_models": "textif.models",
    "create_metric": "textif.metrics",
    "list_metrics": "textif.metrics",
    "TextIFError": "textif.core.errors",
}

__all__ = sorted([*_LAZY, "load"]) + ["__version__"]


def load(model: Any = None, **kwargs: Any) -> Any:
    """:func:`textif.inference.fuser.load` (same arguments), with ``text="auto"`` wired to the shipped
    degradation detector (:mod:`textif.detect`, imported the first time "auto" is used)."""
    from textif.inference.fuser import load as _load

    fuser = _load(model, **kwargs)
    fuser.text_resolver = _auto_sentence
    return fuser


def _auto_sentence(vis: Any, ir: Any) -> str:
    from textif.detect import auto_text

    return auto_text(vis, ir)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'textif' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
