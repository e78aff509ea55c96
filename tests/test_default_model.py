"""Behaviour of the shipped default model: text changes the output in the expected direction."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import textif
from textif.models.hub import bundled_weights

pytestmark = pytest.mark.skipif(bundled_weights("textif-small") is None, reason="no trained default model shipped")


@pytest.fixture(scope="module")
def fuser():
    return textif.load(device="cpu")


@pytest.fixture(scope="module")
def pair(shared_data: Path):
    from textif.core.io import read_image

    stem = "FLIR_00233.jpg"  # a RoadScene validation pair (never trained on)
    vis = read_image(shared_data / "RoadScene" / "vis" / stem, channels=3)
    ir = read_image(shared_data / "RoadScene" / "ir" / stem, channels=1)
    return torch.from_numpy(vis).permute(2, 0, 1)[None], torch.from_numpy(ir)[None, None]


def luma(x: torch.Tensor) -> torch.Tensor:
    return 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]


def high_freq(x: torch.Tensor) -> float:
    y = luma(x)
    return float((y[:, 1:, :] - y[:, :-1, :]).abs().mean() + (y[:, :, 1:] - y[:, :, :-1]).abs().mean())


def test_default_model_is_trained_and_documented():
    folder = bundled_weights("textif-small")
    ck = textif.load(device="cpu").checkpoint
    assert ck.trained and ck.training["steps"] > 0 and ck.text_encoder == "minilm"
    assert (folder / "MODEL_CARD.md").is_file()


def test_low_light_prompt_brightens(fuser, pair):
    from textif.data.degradations import add_low_light

    vis, ir = pair
    dark = add_low_light(vis, 0.6, generator=torch.Generator().manual_seed(0))
    neutral = fuser.fuse_tensor(dark, ir, None)
    prompted = fuser.fuse_tensor(dark, ir, "the visible image is too dark")
    assert luma(prompted).mean() > luma(neutral).mean() + 0.02


def test_infrared_noise_prompt_smooths(fuser, pair):
    from textif.data.degradations import add_ir_noise

    vis, ir = pair
    noisy = add_ir_noise(ir, 0.7, generator=torch.Generator().manual_seed(0))
    neutral = fuser.fuse_tensor(vis, noisy, None)
    prompted = fuser.fuse_tensor(vis, noisy, "the infrared image is noisy")
    assert high_freq(prompted) < high_freq(neutral)


def test_same_text_same_output(fuser, pair):
    vis, ir = pair
    a = fuser.fuse_tensor(vis, ir, "remove the haze from the visible image")
    b = fuser.fuse_tensor(vis, ir, "remove the haze from the visible image")
    assert torch.equal(a, b)


def test_fuse_cli_uses_the_default_model(tmp_path: Path):
    from typer.testing import CliRunner

    from textif.cli.main import app

    root = Path(__file__).resolve().parents[1] / "examples"
    r = CliRunner().invoke(app, ["fuse", "--vis", str(root / "vis/FLIR_01932.jpg"), "--ir", str(root / "ir/FLIR_01932.jpg"),
                                 "-o", str(tmp_path / "f.png"), "-q"])
    assert r.exit_code == 0, r.output
    from textif.core.io import read_image

    assert read_image(tmp_path / "f.png").shape == (296, 534, 3)


@pytest.mark.parametrize("degradation", ["low_light", "overexposure", "noise", "blur", "haze", "rain",
                                         "ir_low_contrast", "ir_noise", "ir_stripe"])
def test_matching_prompt_moves_toward_the_clean_fusion(fuser, pair, degradation):
    """The issue's awareness check on one validation pair: with the degradation named, the output is
    closer (mean squared error) to the model's fusion of the clean pair than with the neutral prompt."""
    from textif.data.degradations import DEGRADATIONS, degrade_pair
    from textif.data.prompts import suggested_prompts

    vis, ir = pair
    clean = fuser.fuse_tensor(vis, ir, None)
    g = torch.Generator().manual_seed(DEGRADATIONS.names().index(degradation))
    d = degrade_pair(vis, ir, degradation, severity=0.6, generator=g, randomize=False)
    neutral = fuser.fuse_tensor(d.vis, d.ir, None)
    matching = fuser.fuse_tensor(d.vis, d.ir, suggested_prompts()[degradation])
    assert float(((matching - clean) ** 2).mean()) < float(((neutral - clean) ** 2).mean())
