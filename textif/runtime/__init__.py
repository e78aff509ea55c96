"""Execution backends behind one small interface, and ONNX export.

A *runner* fuses padded arrays: ``runner(vis, ir, text) -> fused`` with ``vis: (B, 3, H, W)``,
``ir: (B, 1, H, W)`` float32 in [0, 1] (H, W multiples of the network's ``multiple``) and
``text: (1 or B, text_dim)``; it accepts numpy arrays or torch tensors and returns the same kind.

- :class:`~textif.runtime.torch_backend.TorchRunner`: the PyTorch network (channels-last, inference mode).
- :class:`~textif.runtime.onnx_backend.OnnxRunner`: an ONNX export run by ONNX Runtime (``pip install "textif[onnx]"``).

Importing this package imports neither torch nor onnxruntime: the ONNX path of ``textif fuse``
runs without torch when the export is cached.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "BackendError": "textif.runtime.base",
    "ModelInfo": "textif.runtime.base",
    "Runner": "textif.runtime.base",
    "cache_root": "textif.runtime.base",
    "BACKENDS": "textif.runtime.base",
    "TorchRunner": "textif.runtime.torch_backend",
    "OnnxRunner": "textif.runtime.onnx_backend",
    "export_onnx": "textif.runtime.onnx_backend",
    "cached_onnx_export": "textif.runtime.onnx_backend",
    "onnxruntime_available": "textif.runtime.onnx_backend",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'textif.runtime' has no attribute {name!r}")
