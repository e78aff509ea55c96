"""CLIP text encoder (the paper's choice): ``CLIPTextModelWithProjection`` + ``CLIPTokenizer``
from a local folder or the user's Hugging Face cache. Nothing is downloaded."""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor

from textif.core.errors import TextEncoderError
from textif.models.text.base import TextEncoder

__all__ = ["CLIPEncoder", "DEFAULT_CLIP", "resolve_clip_path"]

DEFAULT_CLIP = "openai/clip-vit-base-patch32"

_HOW = (
    "get the weights on a machine with internet access, e.g. "
    "`huggingface-cli download openai/clip-vit-base-patch32 --local-dir DIR`, copy DIR here and pass "
    "--text-encoder-path DIR (or set TEXTIF_CLIP_PATH=DIR)"
)


def resolve_clip_path(path: str | os.PathLike | None = None) -> Path:
    """A local CLIP folder: ``path``, else ``$TEXTIF_CLIP_PATH``, else the HF cache snapshot of
    ``openai/clip-vit-base-patch32``. Raises :class:`TextEncoderError` saying how to get it."""
    if path is None:
        path = os.environ.get("TEXTIF_CLIP_PATH")
    if path is not None:
        p = Path(path).expanduser()
        if not (p / "config.json").is_file():
            raise TextEncoderError(f"{p}: no CLIP model folder here (config.json missing); {_HOW}")
        return p
    hub = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub")
    snaps = hub / ("models--" + DEFAULT_CLIP.replace("/", "--")) / "snapshots"
    if snaps.is_dir():
        for snap in sorted(snaps.iterdir()):
            if (snap / "config.json").is_file():
                return snap
    raise TextEncoderError(f"CLIP text encoder weights not found (no TEXTIF_CLIP_PATH and none in {hub}); {_HOW}")


class CLIPEncoder(TextEncoder):
    """Projected CLIP text embedding (``text_embeds``), L2-normalised; ``dim`` = projection size."""

    name = "clip"

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        p = resolve_clip_path(path)
        from transformers import CLIPTextModelWithProjection, CLIPTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()

        try:
            self.tokenizer = CLIPTokenizer.from_pretrained(str(p), local_files_only=True)
            self.model = CLIPTextModelWithProjection.from_pretrained(str(p), local_files_only=True).eval()
        except (OSError, ValueError) as e:
            raise TextEncoderError(f"{p}: cannot load a CLIP text model ({str(e).splitlines()[0]}); {_HOW}") from None
        self.dim = int(self.model.config.projection_dim)
        self.path = p

    @torch.no_grad()
    def encode(self, texts: list[str]) -> Tensor:
        max_len = getattr(self.tokenizer, "model_max_length", 77)
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=min(77, max_len), return_tensors="pt")
        emb = self.model(**batch).text_embeds
        return torch.nn.functional.normalize(emb, dim=-1).float()
