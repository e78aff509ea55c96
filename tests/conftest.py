"""Shared fixtures: a temporary text-embedding cache, small images and a tiny 'trained' checkpoint."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    os.environ["TEXTIF_CACHE_DIR"] = str(tmp_path_factory.mktemp("textif-cache"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


def smooth_pair(h: int, w: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A smooth visible (H, W, 3) and infrared (H, W) pair, float32 in [0, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    vis = np.stack(
        [0.5 + 0.3 * np.sin(xx / 23.0 + k) * np.cos(yy / 31.0 - k) for k in range(3)], axis=-1
    ).astype(np.float32)
    ir = (0.4 + 0.35 * np.cos(xx / 17.0) * np.sin(yy / 13.0)).astype(np.float32)
    vis += rng.normal(0, 0.002, vis.shape).astype(np.float32)
    return np.clip(vis, 0, 1), np.clip(ir, 0, 1)


def randomize_text_path(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give the zero-initialised SIGM output layers random weights so that text matters."""
    g = torch.Generator().manual_seed(seed)
    for sigm in model.sigm:
        last = sigm.mlp[-1]
        with torch.no_grad():
            last.weight.copy_(torch.randn(last.weight.shape, generator=g) * 0.05)
            last.bias.copy_(torch.randn(last.bias.shape, generator=g) * 0.05)
    return model


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A textif-tiny checkpoint folder with random weights, marked as trained (for CLI tests)."""
    from textif.models import create_model
    from textif.models.hub import save_pretrained

    torch.manual_seed(0)
    model = randomize_text_path(create_model("textif-tiny"))
    folder = tmp_path_factory.mktemp("ckpt") / "tiny"
    save_pretrained(model, folder, name="textif-tiny", text_encoder="minilm", training={"steps": 0, "note": "random weights for tests"})
    return folder


@pytest.fixture(scope="session")
def tiny_fuser(tiny_checkpoint: Path):
    import textif

    return textif.load(str(tiny_checkpoint), device="cpu")


def png_header_only(path: Path, w: int, h: int) -> Path:
    """A PNG whose header claims ``w x h`` (and whose pixel data is missing): only a header check can size it."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    def chunk_bytes(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk_bytes(b"IHDR", ihdr) + chunk_bytes(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk_bytes(b"IEND", b""))
    return path
