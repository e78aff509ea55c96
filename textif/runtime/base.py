"""What every backend shares, importable without torch: the runner interface, the backend
error, the on-disk cache root and a torch-free view of a checkpoint folder (:class:`ModelInfo`)."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from textif.core.errors import TextIFError

__all__ = ["BACKENDS", "BackendError", "Runner", "ModelInfo", "cache_root", "bundled_folder"]

BACKENDS = ("auto", "torch", "onnx")


class BackendError(TextIFError):
    """A backend cannot run here (missing extra, unsupported device or precision, a bad ONNX file, ...)."""


class Runner(Protocol):
    """A loaded network. ``runner(vis, ir, text)`` fuses padded arrays (numpy or torch, same kind out):
    ``vis: (B, 3, H, W)``, ``ir: (B, 1, H, W)`` float32 in [0, 1], ``text: (1 or B, text_dim)``;
    returns ``(B, 3, H, W)`` float32 (not clamped)."""

    name: str  # "torch" or "onnx"

    def __call__(self, vis: Any, ir: Any, text: Any) -> Any: ...


def cache_root() -> Path:
    """Root of textif's on-disk caches (the same folder as the text-embedding cache):
    ``$TEXTIF_CACHE_DIR``, else ``$XDG_CACHE_HOME/textif``, else ``~/.cache/textif``."""
    env = os.environ.get("TEXTIF_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "textif"


def bundled_folder(name: str) -> Path | None:
    """The folder of weights shipped in the package for preset ``name`` (as ``textif.models.hub``)."""
    d = Path(__file__).resolve().parents[1] / "weights" / name.lower()
    return d if (d / "config.json").is_file() and (d / "model.safetensors").is_file() else None


@dataclass
class ModelInfo:
    """A checkpoint folder as seen without loading the network (no torch import).

    Attributes:
        path: the folder (``config.json`` + ``model.safetensors``).
        name, text_encoder, trained: as in ``config.json``.
        text_dim: size of the text embedding; multiple: the network's size multiple.
    """

    path: Path
    name: str
    text_encoder: str
    trained: bool
    text_dim: int
    multiple: int
    meta: dict[str, Any] = field(default_factory=dict, repr=False)
    _key: str | None = field(default=None, repr=False)

    @classmethod
    def from_folder(cls, folder: str | os.PathLike) -> "ModelInfo | None":
        """``None`` when the folder is not a complete checkpoint or its config cannot be read
        (the torch loader then gives the precise error)."""
        d = Path(folder)
        if not ((d / "config.json").is_file() and (d / "model.safetensors").is_file()):
            return None
        try:
            meta = json.loads((d / "config.json").read_text())
            cfg = meta["config"]
            multiple = int(cfg.get("stem", 1)) * 2 ** (len(cfg["blocks"]) - 1)  # TextIFConfig.multiple
            text_dim = int(cfg["text_dim"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        enc = meta.get("text_encoder") or {}
        return cls(d, str(meta.get("name", d.name)), str(enc.get("name", "minilm")), bool(meta.get("trained", False)),
                   text_dim, multiple, meta)

    @property
    def weights_key(self) -> str:
        """SHA-256 of the weights file and the architecture: the key of cached exports."""
        if self._key is None:
            h = hashlib.sha256()
            with open(self.path / "model.safetensors", "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            h.update(json.dumps(self.meta.get("config", {}), sort_keys=True).encode())
            self._key = h.hexdigest()
        return self._key

    def text_cache(self) -> dict[str, Any]:
        """``{sentence: (text_dim,) float32 numpy}`` shipped beside the weights (``text_cache.safetensors``)."""
        f = self.path / "text_cache.safetensors"
        if not f.is_file():
            return {}
        from safetensors import safe_open

        with safe_open(str(f), framework="np") as sf:
            texts = json.loads(sf.metadata()["texts"])
            return {t: sf.get_tensor(f"t{i}") for i, t in enumerate(texts)}
