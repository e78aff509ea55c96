"""The shipped textif-restore model: how it was made (lineage, what stage 1 trained) and that its
full-resolution path repairs what the sentence names on real degraded pairs training never saw."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import textif
from textif.models.hub import bundled_weights

pytestmark = pytest.mark.skipif(bundled_weights("textif-restore") is None, reason="textif-restore not shipped")
REPO = Path(__file__).resolve().parents[1]


def _flat(d: dict, prefix: str = "") -> dict:
    out: dict = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def test_lineage_extends_the_default_models_and_matches_the_configs():
    from textif.models.provenance import lineage
    from textif.training.config import load_config

    small = lineage(json.loads((bundled_weights("textif-small") / "config.json").read_text())["training"])
    stages = lineage(json.loads((bundled_weights("textif-restore") / "config.json").read_text())["training"])
    assert [s["config_file"] for s in stages[: len(small)]] == [s["config_file"] for s in small]
    own = stages[len(small):]
    assert own and own[0]["config_file"] == "configs/textif-restore/1-detail.yaml"
    assert own[0]["init_from"] == "textif-small" and own[0]["config"]["train_only"] == ["detail"]
    for st in own:
        resolved = _flat(load_config(REPO / st["config_file"]).to_dict())
        differing = {k for k, v in _flat(st["config"]).items() if resolved.get(k) != v}
        assert differing <= {"out_dir", "init_from", "teacher"}, (st["config_file"], differing)


def test_stage_one_changed_only_the_detail_path():
    """Every weight outside the full-resolution path is textif-small's, bit for bit (both fp16)."""
    from safetensors.numpy import load_file

    small = load_file(str(bundled_weights("textif-small") / "model.safetensors"))
    restore = load_file(str(bundled_weights("textif-restore") / "model.safetensors"))
    assert set(restore) - set(small) == {k for k in restore if k.startswith("detail.")}
    assert all(np.array_equal(small[k], restore[k]) for k in small)
    assert any(np.abs(restore[k]).max() > 0 for k in restore if k.startswith("detail.out"))


def test_onnx_export_matches_torch_on_a_real_pair(shared_data: Path):
    pytest.importorskip("onnxruntime")
    from textif.core.io import read_image

    vis = read_image(shared_data / "RoadScene" / "vis" / "FLIR_00006.jpg", channels=3)[:203, :301]
    ir = read_image(shared_data / "RoadScene" / "ir" / "FLIR_00006.jpg", channels=1)[:203, :301]
    tf = textif.load("textif-restore", device="cpu", backend="torch", progress=False)
    of = textif.load("textif-restore", device="cpu", backend="onnx", progress=False)
    a = np.asarray(tf.fuse(vis, ir, "the visible image is noisy"))
    b = np.asarray(of.fuse(vis, ir, "the visible image is noisy"))
    assert np.abs(a - b).max() <= 1e-4


@pytest.fixture(scope="module")
def restore():
    return textif.load("textif-restore", device="cpu", backend="torch", progress=False)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def test_visible_noise_is_repaired_on_real_held_out_pairs(restore, shared_data: Path):
    """The three EMS/train hold-out scenes with real visible noise (never trained on): with the
    suggested sentence the output is much closer to the model's fusion of the clean pair than with
    the neutral one (measured: +8.0 to +10.8 dB; textif-small: +0.5 to +0.9 dB)."""
    from textif.core.io import read_image
    from textif.data.prompts import suggested_prompts
    from textif.data.realval import real_validation_cases

    cases = [c for c in real_validation_cases(shared_data) if c.degradation == "noise" and c.source == "EMS/holdout"]
    assert len(cases) == 3
    sentence = suggested_prompts()["noise"]
    for c in cases:
        vis, ir = read_image(c.vis, channels=3), read_image(c.ir, channels=1)
        ref = restore.fuse(read_image(c.vis_clean, channels=3), read_image(c.ir_clean, channels=1))
        gain = _psnr(restore.fuse(vis, ir, sentence), ref) - _psnr(restore.fuse(vis, ir), ref)
        assert gain >= 5.0, f"{c.name}: {gain:+.2f} dB"


def test_clean_pairs_fuse_as_the_default_model_does(restore, shared_data: Path):
    """The detail path leaves a clean pair's neutral fusion close to textif-small's (stage 1 froze
    everything else and anchored clean fusions to it)."""
    from textif.core.io import read_image

    small = textif.load("textif-small", device="cpu", backend="torch", progress=False)
    for stem in ("FLIR_00006.jpg", "FLIR_00233.jpg"):  # RoadScene validation pairs
        vis = read_image(shared_data / "RoadScene" / "vis" / stem, channels=3)
        ir = read_image(shared_data / "RoadScene" / "ir" / stem, channels=1)
        assert _psnr(restore.fuse(vis, ir), small.fuse(vis, ir)) >= 35.0, stem
