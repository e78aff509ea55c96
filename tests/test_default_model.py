"""Behaviour of the shipped default model: text changes the output in the expected direction."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import textif
from textif.inference.fuser import DEFAULT_MODEL
from textif.models.hub import bundled_weights

pytestmark = pytest.mark.skipif(bundled_weights(DEFAULT_MODEL) is None, reason="no trained default model shipped")


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
    folder = bundled_weights(DEFAULT_MODEL)
    ck = textif.load(device="cpu").checkpoint
    assert ck.name == DEFAULT_MODEL == "textif-fast"
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


def _corr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(np.corrcoef(a.flatten().double().numpy(), b.flatten().double().numpy())[0, 1])


def test_slider_and_preference_sentences_move_toward_the_chosen_modality(fuser, pair):
    """Issue 10: the default model is trained for ir_weight; the fused luminance follows the infrared
    image more as the slider rises, 0.5 is the neutral output exactly, and preference sentences move
    it the way they say."""
    vis, ir = pair
    corr = [_corr(luma(fuser.fuse_tensor(vis, ir, None, ir_weight=w)), ir[:, 0]) for w in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert all(a < b for a, b in zip(corr, corr[1:])), corr
    assert corr[-1] - corr[0] > 0.5  # a wide range, not a nudge
    assert torch.equal(fuser.fuse_tensor(vis, ir, None, ir_weight=0.5), fuser.fuse_tensor(vis, ir, None))
    neutral = _corr(luma(fuser.fuse_tensor(vis, ir, None)), ir[:, 0])
    warm = _corr(luma(fuser.fuse_tensor(vis, ir, "Fuse the infrared and visible images. Bring out the heat signatures.")), ir[:, 0])
    colour = _corr(luma(fuser.fuse_tensor(vis, ir, "Fuse the infrared and visible images. Stay close to the RGB image.")), ir[:, 0])
    assert colour < neutral < warm, (colour, neutral, warm)  # held-out wordings


def test_fuse_cli_uses_the_default_model(tmp_path: Path):
    from typer.testing import CliRunner

    from textif.cli.main import app

    root = Path(__file__).resolve().parents[1] / "examples"
    r = CliRunner().invoke(app, ["fuse", "--vis", str(root / "vis/FLIR_01932.jpg"), "--ir", str(root / "ir/FLIR_01932.jpg"),
                                 "-o", str(tmp_path / "f.png"), "-q"])
    assert r.exit_code == 0, r.output
    from textif.core.io import read_image

    assert read_image(tmp_path / "f.png").shape == (296, 534, 3)


@pytest.mark.parametrize("degradation", [
    "low_light", "overexposure", "noise", "blur", "haze",
    pytest.param("rain", marks=pytest.mark.xfail(strict=True, reason=(
        "issue 9: on this one pair the rain sentence moves textif-fast (stage 13) slightly away from the "
        "clean fusion (MSE 5.9e-4 against 5.4e-4 neutral; stage 7 passed, stages 8-13 with the preference "
        "do not), though it gains +2.88 dB on real rain (docs/model-card-fast.md)"))),
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


# ---------------------------------------------------------------------------------------------
# The same awareness judged against targets that training never optimised: the clean sources
# themselves and a published fusion metric, on several validation pairs and degradation seeds.
# (The test above measures closeness to the model's own clean fusion, which is exactly what the
# consistency term of stages 3-4 trains for.)

_VAL_STEMS = ("FLIR_00006.jpg", "FLIR_00233.jpg", "FLIR_00455.jpg")  # RoadScene validation split
_SEEDS = (0, 1)


@pytest.fixture(scope="module")
def independent_scores(fuser, shared_data: Path):
    """{degradation: [(ssim_neutral, ssim_matching, qabf_neutral, qabf_matching), ...]} over pairs x seeds.

    SSIM: luminance of the output against the clean source of the degraded modality (kornia,
    11x11 Gaussian window). Qabf: Xydeas-Petrovic edge transfer from the clean sources
    (textif.metrics, checked against published values in test_metrics.py)."""
    from kornia.metrics import ssim

    from textif.core.io import read_image
    from textif.data.degradations import DEGRADATIONS, degrade_pair, modality_of
    from textif.data.prompts import suggested_prompts
    from textif.metrics import create_metric

    qabf = create_metric("qabf")

    def q(out, vis, ir):
        return float(qabf(out[0].permute(1, 2, 0).numpy() * 255, ir[0, 0].numpy() * 255, vis[0].permute(1, 2, 0).numpy() * 255))

    scores: dict[str, list[tuple[float, float, float, float]]] = {}
    names = DEGRADATIONS.names()
    for stem in _VAL_STEMS:
        vis = torch.from_numpy(read_image(shared_data / "RoadScene" / "vis" / stem, channels=3)).permute(2, 0, 1)[None]
        ir = torch.from_numpy(read_image(shared_data / "RoadScene" / "ir" / stem, channels=1))[None, None]
        for seed in _SEEDS:
            for d in names:
                g = torch.Generator().manual_seed(100 * seed + names.index(d))
                dp = degrade_pair(vis, ir, d, severity=0.6, generator=g, randomize=False)
                neutral = fuser.fuse_tensor(dp.vis, dp.ir, None)
                matching = fuser.fuse_tensor(dp.vis, dp.ir, suggested_prompts()[d])
                src = luma(vis)[:, None] if modality_of(d) == "vis" else ir
                s_n = float(ssim(luma(neutral)[:, None], src, 11).mean())
                s_m = float(ssim(luma(matching)[:, None], src, 11).mean())
                scores.setdefault(d, []).append((s_n, s_m, q(neutral, vis, ir), q(matching, vis, ir)))
    return scores


def _known(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=reason)


@pytest.mark.parametrize("degradation", [
    "low_light", "noise", "blur", "ir_low_contrast",
    pytest.param("ir_noise", marks=_known(
        "issue 9: textif-fast stage 13's denoised infrared is closer to the clean infrared image on 4 of 6 cases "
        "(SSIM -0.004..+0.109; stage 7: 5 of 6), while Qabf rises on 6 of 6")),
    pytest.param("haze", marks=_known(
        "issue 9: textif-fast's dehazed luminance is no closer to the clean visible image than its neutral "
        "fusion (SSIM -0.008..+0.003, better on 2 of 6), though both score above textif-small's")),
    pytest.param("ir_stripe", marks=_known(
        "issue 9: stripes are only partly repaired; SSIM to the clean infrared image better on 3 of 6 cases")),
    pytest.param("overexposure", marks=_known(
        "issue 9: the matching prompt lowers SSIM to the clean visible image on 6 of 6 cases (by 0.07-0.15)")),
    pytest.param("rain", marks=_known(
        "issue 9: the rain prompt lowers SSIM to the clean visible image on 6 of 6 cases (by 0.02-0.05), though "
        "it raises Qabf on 6 of 6")),
])
def test_matching_prompt_recovers_the_clean_source(independent_scores, degradation):
    """With the degradation named, the output's luminance is structurally closer (SSIM) to the clean
    image of the degraded modality than with the neutral prompt, on at least 5 of the 6 cases."""
    wins = sum(s_m > s_n for s_n, s_m, _, _ in independent_scores[degradation])
    assert wins >= 5, f"{degradation}: better on {wins} of {len(independent_scores[degradation])} cases"


@pytest.mark.parametrize("degradation", [
    "noise", "haze", "ir_low_contrast", "ir_noise", "ir_stripe", "overexposure",
    pytest.param("low_light", marks=_known(
        "issue 9: brightening also lifts the edges Qabf weighs against the clean sources; better on 2 of 6")),
    pytest.param("blur", marks=_known("issue 9: blur is barely repaired; Qabf lower on 6 of 6 cases")),
    "rain",
])
def test_matching_prompt_raises_qabf_against_the_clean_sources(independent_scores, degradation):
    """With the degradation named, more edge information of the clean sources reaches the output
    (Qabf computed with the clean sources) than with the neutral prompt, on at least 5 of 6 cases."""
    wins = sum(q_m > q_n for _, _, q_n, q_m in independent_scores[degradation])
    assert wins >= 5, f"{degradation}: better on {wins} of {len(independent_scores[degradation])} cases"


@pytest.mark.parametrize("name, n_stages, steps", [("textif-fast", 18, 38118), ("textif-small", 4, 8600),
                                                   ("textif-restore", 5, 10600)])
def test_shipped_lineage_matches_the_configs_in_the_repository(name, n_stages, steps):
    """Every stage of a shipped model names a config file here that resolves to the config the
    stage recorded (paths of run folders aside), and the totals add up."""
    import json

    from textif.models.provenance import lineage, total_steps
    from textif.training.config import load_config

    repo = Path(__file__).resolve().parents[1]
    training = json.loads((bundled_weights(name) / "config.json").read_text())["training"]
    stages = lineage(training)
    assert [s["stage"] for s in stages] == list(range(1, n_stages + 1)) and total_steps(training) == steps

    def flat(d: dict, prefix: str = "") -> dict:
        out = {}
        for k, v in d.items():
            out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
        return out

    for st in stages:
        resolved = flat(load_config(repo / st["config_file"]).to_dict())
        recorded = flat(st["config"])
        differing = {k for k, v in recorded.items() if resolved.get(k) != v}
        assert differing <= {"out_dir", "init_from", "teacher"}, (st["config_file"], differing)
        if st["stage"] > 1:
            previous = stages[st["stage"] - 2]["config_file"]
            if st["init_from_config"] is not None:
                assert st["init_from_config"] == previous
            else:  # started from a shipped model or a kept checkpoint: its own record names the previous stage
                start = bundled_weights(st["init_from"]) or repo / st["init_from"]
                assert json.loads((start / "config.json").read_text())["training"]["config_file"] == previous, st["init_from"]
