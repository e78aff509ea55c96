from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from textif.core.errors import TextEncoderError
from textif.models.text import CachedTextEncoder, get_text_encoder
from textif.models.text.minilm import MiniLMEncoder


def test_minilm_embeddings_are_semantic():
    enc = get_text_encoder("minilm")
    e = enc.encode(["the visible image is too dark", "the visible picture is very dim", "the infrared image has stripe noise"])
    assert e.shape == (3, 384) and e.dtype == torch.float32
    torch.testing.assert_close(e.norm(dim=1), torch.ones(3))
    sim = e @ e.T
    assert sim[0, 1] > sim[0, 2]  # paraphrases are closer than different degradations


def test_cache_avoids_loading_the_encoder():
    calls = []

    def factory():
        calls.append(1)
        return MiniLMEncoder()

    first = CachedTextEncoder("minilm", 384, factory, key="test")
    a = first.encode(["a cached sentence"])
    assert len(calls) == 1
    again = first.encode(["a cached sentence", "a cached sentence"])
    assert len(calls) == 1 and again.shape == (2, 384)
    # a new process-level instance reads the disk cache and never loads the model
    second = CachedTextEncoder("minilm", 384, factory, key="test")
    torch.testing.assert_close(second.encode(["a cached sentence"]), a)
    assert not second.loaded and len(calls) == 1


def _tiny_clip(folder: Path) -> Path:
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, "!": 2}
    words = "the visible image is too dark infrared noisy a of and".split()
    for w in words:
        vocab[w + "</w>"] = len(vocab)
    for ch in "abcdefghijklmnopqrstuvwxyz":
        vocab.setdefault(ch, len(vocab))
        vocab.setdefault(ch + "</w>", len(vocab))
    folder.mkdir(parents=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tok = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    cfg = CLIPTextConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=77, projection_dim=24,
                         bos_token_id=0, eos_token_id=1, pad_token_id=1)
    torch.manual_seed(0)
    CLIPTextModelWithProjection(cfg).save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    return folder


def test_clip_loading_with_a_tiny_random_model(tmp_path: Path):
    folder = _tiny_clip(tmp_path / "clip")
    enc = get_text_encoder("clip", folder)
    assert enc.dim == 24
    e = enc.encode(["the visible image is too dark", "the infrared image is noisy"])
    assert e.shape == (2, 24)
    torch.testing.assert_close(e.norm(dim=1), torch.ones(2))
    assert not torch.allclose(e[0], e[1])


def test_clip_missing_weights_say_how_to_get_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TEXTIF_CLIP_PATH", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    with pytest.raises(TextEncoderError, match="CLIP text encoder weights not found.*huggingface-cli download"):
        get_text_encoder("clip")
    with pytest.raises(TextEncoderError, match="no CLIP model folder"):
        get_text_encoder("clip", tmp_path / "nowhere")


def test_fuser_checks_encoder_against_checkpoint(tiny_checkpoint):
    import textif

    with pytest.raises(TextEncoderError, match="trained with the 'minilm' text encoder, not 'clip'"):
        textif.load(str(tiny_checkpoint), device="cpu", text_encoder="clip")
