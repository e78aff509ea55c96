"""Fusion of large folders on a Ray cluster (extra ``textif[ray]``).

    from textif.distributed import fuse_folder
    report = fuse_folder("vis/", "ir/", "out/", text="the visible image is too dark",
                         model="textif-fast", workers=4)

This package sits above :mod:`textif.inference`; Ray is imported only when a job runs, so
``import textif`` and ``import textif.distributed`` work without Ray installed.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "fuse_folder": "textif.distributed.ray_engine",
    "DistributedReport": "textif.distributed.ray_engine",
    "RayNotInstalledError": "textif.distributed.ray_engine",
    "match_pairs": "textif.distributed.pairs",
    "PairPlan": "textif.distributed.pairs",
    "read_manifest": "textif.distributed.manifest",
    "MANIFEST_NAME": "textif.distributed.manifest",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'textif.distributed' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
