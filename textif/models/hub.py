"""Checkpoints: ``config.json`` (architecture, text encoder, training provenance) +
``model.safetensors``. Nothing is ever unpickled.

Named models resolve to weights shipped inside the package (``textif/weights/<name>/``).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from textif.core.errors import ModelNotFoundError
from textif.core.io import atomic_write
from textif.models.textif import TextIF, TextIFConfig, model_config

__all__ = ["Checkpoint", "save_pretrained", "from_pretrained", "bundled_weights", "resolve_model", "FORMAT_VERSION"]

FORMAT_VERSION = 1
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"


@dataclass
class Checkpoint:
    """A loaded model with what its ``config.json`` says about it."""

    model: TextIF
    name: str
    text_encoder: str
    trained: bool
    training: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    text_cache: dict[str, torch.Tensor] = field(default_factory=dict)


def save_pretrained(
    model: TextIF,
    folder: str | os.PathLike,
    *,
    name: str = "custom",
    text_encoder: str = "minilm",
    training: dict[str, Any] | None = None,
    dtype: torch.dtype = torch.float32,
    text_cache: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write ``folder/config.json`` and ``folder/model.safetensors`` (atomically each).

    Args:
        model: the network.
        name: a label (e.g. the preset it came from).
        text_encoder: the text encoder it was trained with ('minilm' or 'clip').
        training: provenance (data, steps, hours, hardware, validation figures...).
        dtype: storage dtype of floating weights (``torch.float16`` halves the file).
        text_cache: optional ``{sentence: embedding}`` shipped beside the weights so that common
            prompts need no text-encoder load (``text_cache.safetensors``).
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: (v.detach().to("cpu", dtype) if v.is_floating_point() else v.detach().cpu()).contiguous() for k, v in model.state_dict().items()}
    cfg = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "architecture": "textif",
        "config": model.config.to_dict(),
        "text_encoder": {"name": text_encoder, "dim": model.config.text_dim},
        "trained": training is not None,
        "training": training or {},
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    atomic_write(out / "model.safetensors", lambda p: save_file(state, str(p), metadata={"format": "pt"}))
    if text_cache:
        texts = list(text_cache)
        tensors = {f"t{i}": text_cache[t].detach().float().cpu().contiguous() for i, t in enumerate(texts)}
        atomic_write(out / "text_cache.safetensors", lambda p: save_file(tensors, str(p), metadata={"texts": json.dumps(texts)}))
    atomic_write(out / "config.json", lambda p: p.write_text(json.dumps(cfg, indent=2) + "\n"))
    return out


def from_pretrained(folder: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Load a checkpoint folder written by :func:`save_pretrained`.

    Raises:
        ModelNotFoundError: the folder or one of its files is missing or malformed.
    """
    d = Path(folder)
    cfg_file, weights = d / "config.json", d / "model.safetensors"
    if not cfg_file.is_file():
        raise ModelNotFoundError(f"{d}: not a textif checkpoint (config.json missing)")
    if not weights.is_file():
        raise ModelNotFoundError(f"{d}: model.safetensors missing")
    try:
        meta = json.loads(cfg_file.read_text())
    except ValueError as e:
        raise ModelNotFoundError(f"{cfg_file}: malformed config ({e})") from None
    version = meta.get("format_version") if isinstance(meta, dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelNotFoundError(f"{cfg_file}: no format_version; not a checkpoint written by textif")
    if version > FORMAT_VERSION:
        raise ModelNotFoundError(
            f"{cfg_file}: checkpoint format {version} is newer than this textif reads ({FORMAT_VERSION}); "
            "upgrade textif (pip install -U textif)"
        )
    if version < 1:
        raise ModelNotFoundError(f"{cfg_file}: unknown checkpoint format {version} (this textif reads 1..{FORMAT_VERSION})")
    try:
        config = TextIFConfig.from_dict(meta["config"])
    except (ValueError, KeyError, TypeError) as e:
        raise ModelNotFoundError(f"{cfg_file}: malformed config ({e})") from None
    model = TextIF(config=config)
    try:
        state = load_file(str(weights), device=str(map_location))
    except (SafetensorError, OSError) as e:
        raise ModelNotFoundError(f"{weights}: cannot read weights ({e})") from None
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shape mismatches
        raise ModelNotFoundError(f"{weights}: weights do not match config.json ({str(e).splitlines()[1].strip()})") from None
    if missing or unexpected:
        raise ModelNotFoundError(
            f"{weights}: weights do not match config.json (missing {len(missing)}, unexpected {len(unexpected)}: "
            f"{(missing + unexpected)[:3]})"
        )
    model.eval()
    text_cache: dict[str, torch.Tensor] = {}
    tc = d / "text_cache.safetensors"
    if tc.is_file():
        from safetensors import safe_open

        with safe_open(str(tc), framework="pt") as f:
            texts = json.loads(f.metadata()["texts"])
            text_cache = {t: f.get_tensor(f"t{i}") for i, t in enumerate(texts)}
    enc = meta.get("text_encoder", {})
    return Checkpoint(
        model=model,
        name=meta.get("name", d.name),
        text_encoder=enc.get("name", "minilm"),
        trained=bool(meta.get("trained", False)),
        training=meta.get("training", {}),
        path=d,
        text_cache=text_cache,
    )


def bundled_weights(name: str) -> Path | None:
    """The folder of weights shipped in the package for preset ``name``, if any."""
    d = WEIGHTS_DIR / name.lower()
    return d if (d / "config.json").is_file() and (d / "model.safetensors").is_file() else None


def resolve_model(name_or_dir: str | os.PathLike, **overrides: Any) -> Checkpoint:
    """A checkpoint folder, a preset with shipped weights, or an untrained preset.

    Raises:
        ModelNotFoundError / UnknownNameError: neither a folder nor a known preset name.
    """
    s = str(name_or_dir)
    p = Path(s).expanduser()
    if p.is_dir():
        return from_pretrained(p)
    if os.sep in s or s.startswith("."):
        raise ModelNotFoundError(f"{p}: model folder not found")
    bundled = bundled_weights(s) if not overrides else None
    if bundled is not None:
        return from_pretrained(bundled)
    cfg = model_config(s, **overrides)  # raises "did you mean" for unknown names
    text_encoder = "clip" if cfg.text_dim == 512 else "minilm"
    return Checkpoint(model=TextIF(config=cfg).eval(), name=s.lower(), text_encoder=text_encoder, trained=False)
