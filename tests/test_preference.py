"""Modality preference (issue 10): the ir_weight-dependent loss, the sampling of preferences in
training, the slider's embedding move, and the Fuser / CLI / checkpoint plumbing."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from textif.data.preference import (
    IR_ANCHOR,
    PREFERENCE_SENTENCES,
    VIS_ANCHOR,
    PreferenceError,
    check_ir_weight,
    loss_ir_weight,
    preference_shift,
    sample_preference,
)
from textif.losses.fusion import gradient_loss, intensity_loss, preference_target, ssim_loss, textif_loss
from textif.ops.color import luminance
from tests.conftest import smooth_pair


def _pair(seed: int = 0, b: int = 2, h: int = 40, w: int = 48) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    vis = torch.rand(b, 3, h, w, generator=g)
    ir = torch.rand(b, 1, h, w, generator=g)
    return vis, ir


def test_preference_target_runs_from_visible_through_maximum_to_infrared():
    vis, ir = _pair()
    yv = luminance(vis)
    both = torch.maximum(yv, ir)
    w = lambda x: torch.full((2, 1, 1, 1), x)  # noqa: E731
    torch.testing.assert_close(preference_target(yv, ir, None), both)
    torch.testing.assert_close(preference_target(yv, ir, w(0.5)), both)
    torch.testing.assert_close(preference_target(yv, ir, w(0.0)), yv)
    torch.testing.assert_close(preference_target(yv, ir, w(1.0)), ir)
    torch.testing.assert_close(preference_target(yv, ir, w(0.75)), (both + ir) / 2)
    torch.testing.assert_close(preference_target(yv, ir, w(0.25)), (both + yv) / 2)


def test_neutral_preference_is_the_papers_loss_exactly():
    vis, ir = _pair(1)
    fused = torch.rand(2, 3, 40, 48, generator=torch.Generator().manual_seed(2))
    ref, ref_terms = textif_loss(fused, ir, vis, ["noise", "fusion"])
    for w in (0.5, torch.tensor([0.5, 0.5])):
        got, terms = textif_loss(fused, ir, vis, ["noise", "fusion"], ir_weight=w)
        torch.testing.assert_close(got, ref)
        for k in ref_terms:
            torch.testing.assert_close(terms[k], ref_terms[k])


def test_preference_rewards_the_preferred_modality():
    # an output that looks like the infrared image costs less the more infrared is asked for, and
    # one that looks like the visible image costs more
    vis, ir = _pair(3)
    like_ir = ir.expand(-1, 3, -1, -1).clone()
    like_vis = luminance(vis).expand(-1, 3, -1, -1).clone()
    weights = [0.0, 0.25, 0.5, 0.75, 1.0]
    for fn in (intensity_loss, gradient_loss):
        on_ir = [float(fn(like_ir, ir, vis, ir_weight=w)) for w in weights]
        on_vis = [float(fn(like_vis, ir, vis, ir_weight=w)) for w in weights]
        assert all(a > b for a, b in zip(on_ir, on_ir[1:])), (fn.__name__, on_ir)
        assert all(a < b for a, b in zip(on_vis, on_vis[1:])), (fn.__name__, on_vis)
        assert on_ir[-1] == pytest.approx(0.0, abs=1e-6) and on_vis[0] == pytest.approx(0.0, abs=1e-6)
    s_ir = [float(ssim_loss(like_ir, ir, vis, ir_weight=w)) for w in weights]
    assert all(a > b for a, b in zip(s_ir, s_ir[1:])), s_ir


def test_loss_rejects_bad_preferences():
    vis, ir = _pair()
    with pytest.raises(ValueError, match=r"ir_weight must be in \[0, 1\]"):
        intensity_loss(vis, ir, vis, ir_weight=1.5)
    with pytest.raises(ValueError, match=r"ir_weight must be a number or \(2,\)"):
        textif_loss(vis, ir, vis, "fusion", ir_weight=torch.tensor([0.1, 0.2, 0.3]))


def test_sampling_is_seeded_and_follows_its_probabilities():
    draw = lambda seed, **kw: [sample_preference(torch.Generator().manual_seed(seed), **kw) for _ in range(1)]  # noqa: E731
    assert draw(5, prob=0.6, sentence_prob=0.5) == draw(5, prob=0.6, sentence_prob=0.5)
    g = torch.Generator().manual_seed(0)
    samples = [sample_preference(g, prob=0.6, sentence_prob=0.5) for _ in range(2000)]
    neutral = sum(w == 0.5 and c is None for w, c in samples) / len(samples)
    sentences = [(w, c) for w, c in samples if c is not None]
    assert 0.36 < neutral < 0.44
    assert 0.25 < len(sentences) / len(samples) < 0.35
    train = {s for side in PREFERENCE_SENTENCES["train"].values() for s in side}
    assert all(c in train for _, c in sentences)
    assert all((w > 0.5) == (c in PREFERENCE_SENTENCES["train"]["ir"]) for w, c in sentences)
    g = torch.Generator().manual_seed(1)
    assert all(sample_preference(g, prob=0.0, sentence_prob=1.0) == (0.5, None) for _ in range(50))
    held = {s for side in PREFERENCE_SENTENCES["heldout"].values() for s in side}
    assert not held & train


def test_slider_shift_is_zero_at_neutral_and_antisymmetric():
    e_ir, e_vis = torch.randn(384), torch.randn(384)
    assert torch.count_nonzero(preference_shift(0.5, e_ir, e_vis)) == 0
    torch.testing.assert_close(preference_shift(1.0, e_ir, e_vis), -preference_shift(0.0, e_ir, e_vis))
    torch.testing.assert_close(preference_shift(1.0, e_ir, e_vis, strength=2.0)[0], e_ir - e_vis)
    assert preference_shift(torch.tensor([0.0, 0.5, 1.0]), e_ir, e_vis).shape == (3, 384)
    assert check_ir_weight(None) is None and check_ir_weight("0.25") == 0.25
    for bad in (-0.1, 1.01, "x"):
        with pytest.raises(PreferenceError, match="ir_weight must be"):
            check_ir_weight(bad)


def test_a_model_not_trained_for_preference_refuses_it_clearly():
    import textif

    fuser = textif.load("textif-small", backend="torch")
    vis, ir = smooth_pair(32, 40)
    assert fuser.preference_strength is None
    neutral = fuser.fuse(vis, ir)
    np.testing.assert_array_equal(fuser.fuse(vis, ir, ir_weight=0.5), neutral)  # neutral needs no training
    with pytest.raises(PreferenceError, match="'textif-small' was not trained for ir_weight"):
        fuser.fuse(vis, ir, ir_weight=0.8)
    with pytest.raises(PreferenceError, match=r"ir_weight must be in \[0, 1\]"):
        fuser.fuse(vis, ir, ir_weight=2)
    with pytest.raises(PreferenceError, match="not trained for ir_weight"):
        textif.load("textif-small", backend="torch", ir_weight=0.2)


def test_cli_ir_weight_errors(tmp_path: Path):
    import cv2

    from textif.cli.main import app

    vis, ir = smooth_pair(32, 40)
    cv2.imwrite(str(tmp_path / "v.png"), (vis[..., ::-1] * 255).astype(np.uint8))
    cv2.imwrite(str(tmp_path / "i.png"), (ir * 255).astype(np.uint8))
    args = ["fuse", "--vis", str(tmp_path / "v.png"), "--ir", str(tmp_path / "i.png"), "-o", str(tmp_path / "f.png"),
            "--backend", "torch"]
    r = CliRunner().invoke(app, [*args, "--ir-weight", "0.9", "--model", "textif-small"])
    assert r.exit_code != 0 and "not trained for ir_weight" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(app, [*args, "--ir-weight", "0.9"])  # the default model is trained for it
    assert r.exit_code == 0, r.output
    assert (tmp_path / "f.png").is_file()
    r = CliRunner().invoke(app, [*args, "--ir-weight", "1.5"])
    assert r.exit_code != 0 and "--ir-weight" in r.output


def test_reach_moves_the_losss_preference_toward_neutral():
    w = torch.tensor([0.0, 0.25, 0.5, 0.85, 1.0], dtype=torch.float64)
    torch.testing.assert_close(loss_ir_weight(w, 0.5), torch.tensor([0.25, 0.375, 0.5, 0.675, 0.75], dtype=torch.float64))
    torch.testing.assert_close(loss_ir_weight(w, 1.0), w)
    # with reach 0.5, the ends' targets still hold both images: half-way between the maximum and one image
    vis, ir = _pair(3)
    yv = luminance(vis)
    both = torch.maximum(yv, ir)
    top = preference_target(yv, ir, loss_ir_weight(torch.ones(2), 0.5).reshape(2, 1, 1, 1))
    torch.testing.assert_close(top, (both + ir) / 2)
    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(PreferenceError, match="reach must be in \\(0, 1\\]"):
            loss_ir_weight(w, bad)


def test_a_stage_with_reach_trains_on_preferences_moved_toward_neutral(tmp_path: Path, monkeypatch):
    """The same run (same data seed, so the same sampled preferences) with ``reach`` 1 and 0.5: the
    loss receives ``0.5 + 0.5 * (w - 0.5)`` of what it received with reach 1; a bad reach is refused."""
    from tests.test_training import write_config

    from textif.losses.fusion import TextIFLoss
    from textif.training.config import load_config
    from textif.training.module import TextIFModule
    from textif.training.run import train

    seen: list[torch.Tensor] = []
    original = TextIFLoss.forward

    def spy(self, fused, ir_gt, vis_gt, tasks, ir_weight=None):
        if fused.requires_grad:  # training steps, not validation
            seen.append(torch.as_tensor(ir_weight).detach().clone())
        return original(self, fused, ir_gt, vis_gt, tasks, ir_weight)

    monkeypatch.setattr(TextIFLoss, "forward", spy)
    runs = {}
    for reach in (1.0, 0.5):
        seen.clear()
        cfg = write_config(tmp_path / str(reach), preference={"prob": 1.0, "sentence_prob": 0.5, "reach": reach},
                           val={"vis": None}, data_seed=7, max_steps=2)
        train(load_config(cfg), progress=False)
        runs[reach] = torch.cat([s.reshape(-1) for s in seen])
    full, half = runs[1.0], runs[0.5]
    assert full.numel() == 4 and (full - 0.5).abs().max() > 0.1  # real preferences were sampled
    torch.testing.assert_close(half, 0.5 + 0.5 * (full - 0.5))
    with pytest.raises(ValueError, match="preference.reach must be in \\(0, 1\\]"):
        TextIFModule(load_config(write_config(tmp_path / "bad", preference={"prob": 0.5, "reach": 0.0})))


def test_a_preference_stage_trains_records_and_serves_the_slider(tmp_path: Path):
    """A tiny stage with preference.prob 1: the export says it was trained for ir_weight (with the
    slider's scale) and ships the anchors; the Fuser then moves the output with ir_weight, and 0.5
    is the neutral output exactly."""
    from tests.test_training import write_config

    from textif.training.config import load_config
    from textif.training.run import train

    cfg_file = write_config(tmp_path, preference={"prob": 1.0, "sentence_prob": 0.5, "strength": 1.5},
                            val={"vis": None})
    export = train(load_config(cfg_file), progress=False)
    meta = json.loads((export / "config.json").read_text())
    assert meta["training"]["preference"] == {"strength": 1.5}
    import textif

    fuser = textif.load(str(export), backend="torch")
    assert fuser.preference_strength == 1.5
    assert {IR_ANCHOR, VIS_ANCHOR} <= set(fuser.checkpoint.text_cache)
    vis, ir = smooth_pair(32, 40)
    neutral = fuser.fuse(vis, ir)
    np.testing.assert_array_equal(fuser.fuse(vis, ir, ir_weight=0.5), neutral)
    lo, hi = fuser.fuse(vis, ir, ir_weight=0.0), fuser.fuse(vis, ir, ir_weight=1.0)
    assert np.abs(hi - lo).max() > 0  # (a 2-step model's text modulation is still near the identity)
    # the slider is the neutral sentence's embedding moved by 1.5 * (e_ir - e_vis) / 2 at ir_weight 1
    e = fuser.embedding(None) + 1.5 * (fuser.embedding(IR_ANCHOR) - fuser.embedding(VIS_ANCHOR)) / 2
    v = torch.from_numpy(vis).permute(2, 0, 1)[None].float()
    i = torch.from_numpy(ir)[None, None].float()
    torch.testing.assert_close(fuser.fuse_tensor(v, i, ir_weight=1.0), fuser.fuse_tensor(v, i, torch.from_numpy(e)))
    # the loader's default applies to every call; a call's own value wins
    f2 = textif.load(str(export), backend="torch", ir_weight=1.0)
    np.testing.assert_array_equal(f2.fuse(vis, ir), hi)
    np.testing.assert_array_equal(f2.fuse(vis, ir, ir_weight=0.0), lo)
    # an embedding given directly (the video path embeds once per clip) is moved the same way
    torch.testing.assert_close(f2.fuse_tensor(v, i, torch.from_numpy(f2.embedding(None))),
                               fuser.fuse_tensor(v, i, ir_weight=1.0))


def test_shipping_keeps_the_preference_record():
    """scripts/ship_model.py rebuilds the provenance from the lineage; the slider's scale (a
    top-level key of the export) must survive, or the shipped model refuses ir_weight."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "ship_model.py"
    spec = importlib.util.spec_from_file_location("ship_model", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    stage = {"stage": 1, "steps": 3, "train_hours": 0.1, "config": {"preference": {"prob": 0.2, "strength": 0.7}}}
    training = {**stage, "lineage": [stage], "preference": {"strength": 0.7}}
    assert mod.provenance(training)["preference"] == {"strength": 0.7}
    assert "preference" not in mod.provenance({**stage, "lineage": [stage]})


def test_preference_targets_benchmark_scores_the_loss_target(shared_data: Path):
    """benchmarks/preference_targets.py: with reach 1 the target at ir_weight 1 is the infrared image
    itself (corr 1, SCD undefined) and at 0 the visible luminance; with reach 0.5 the ends are the
    reach-1 targets at 0.25 and 0.75."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "preference_targets.py"
    spec = importlib.util.spec_from_file_location("preference_targets", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    t = mod.target_table(shared_data, [1.0, 0.5], [0.0, 0.25, 0.5, 0.75, 1.0], limit=2)
    top, bottom = t["reach 1, ir_weight 1"], t["reach 1, ir_weight 0"]
    assert top["corr_ir"] > 0.999 and np.isnan(top["scd"])
    assert bottom["corr_vis"] > 0.999 and np.isnan(bottom["scd"])
    for a, b in (("0.5, ir_weight 1", "1, ir_weight 0.75"), ("0.5, ir_weight 0", "1, ir_weight 0.25")):
        assert t[f"reach {a}"] == pytest.approx(t[f"reach {b}"])
    assert not np.isnan(t["reach 0.5, ir_weight 1"]["scd"])
