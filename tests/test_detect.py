"""The degradation detector: network, checkpoints, sentences, `textif detect`, `--text auto`, the web hooks."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from tests.conftest import REPO, smooth_pair
from textif.core.errors import ModelNotFoundError, TextIFError
from textif.core.registry import UnknownNameError
from textif.data.degradations import DEGRADATIONS, IR_DEGRADATIONS, VIS_DEGRADATIONS
from textif.data.prompts import NEUTRAL_PROMPT, suggested_prompts
from textif.detect import Detector, Diagnosis, Finding, sentence_for
from textif.models.detector import (
    DETECTOR_WEIGHTS,
    N_STATS,
    create_detector,
    detector_views,
    image_statistics,
    load_detector,
    save_detector,
)

SUGGESTED = suggested_prompts(include_composites=True)
shipped = pytest.mark.skipif(not (DETECTOR_WEIGHTS / "model.safetensors").is_file(), reason="no shipped detector weights")


def write_pair(folder: Path, stem: str, h: int = 120, w: int = 160, seed: int = 0) -> tuple[Path, Path]:
    vis, ir = smooth_pair(h, w, seed)
    (folder / "vis").mkdir(parents=True, exist_ok=True)
    (folder / "ir").mkdir(parents=True, exist_ok=True)
    v, i = folder / "vis" / f"{stem}.png", folder / "ir" / f"{stem}.png"
    cv2.imwrite(str(v), np.round(vis[..., ::-1] * 255).astype(np.uint8))
    cv2.imwrite(str(i), np.round(ir * 255).astype(np.uint8))
    return v, i


@pytest.fixture(scope="module")
def tiny_detector(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("det") / "tiny"
    save_detector(create_detector("detector-tiny").eval(), folder, thresholds={"noise": 0.4}, training={"steps": 0})
    return folder


# ----------------------------------------------------------------------------- network
def test_views_have_fixed_shapes_for_any_image_size():
    for h, w in ((480, 640), (20, 30), (97, 33)):
        g, c = detector_views(torch.rand(2, 3, h, w), size=64, crop=32, crops=4)
        assert g.shape == (2, 3, 64, 64) and c.shape == (2, 4, 3, 32, 32)
        assert 0 <= float(g.min()) and float(g.max()) <= 1
    # crops are full-resolution pixels of the image, not resampled ones
    x = torch.rand(1, 1, 100, 120)
    _, c = detector_views(x, size=32, crop=16, positions=[(5, 7)])
    assert torch.equal(c[0, 0], x[0, :, 5:21, 7:23])


def test_statistics_respond_to_noise_and_stripes():
    _, ir = smooth_pair(200, 240)
    x = torch.from_numpy(ir)[None, None]
    g0 = torch.Generator().manual_seed(0)

    def stats(img):
        g, c = detector_views(img, size=64, crop=64, crops=4)
        return image_statistics(g, c)[0]

    clean = stats(x)
    noisy = stats(DEGRADATIONS.get("ir_noise").add_fn(x, 0.8, generator=g0))
    striped = stats(DEGRADATIONS.get("ir_stripe").add_fn(x, 0.8, generator=g0))
    assert clean.shape == (N_STATS,)
    assert noisy[9] > clean[9] + 0.3  # noise estimate (log MAD of a Laplacian)
    assert striped[12] > clean[12] + 0.3  # column banding
    assert striped[14] > noisy[14] + 0.2  # columns, not rows: stripes and not white noise


def test_detector_outputs_and_registry():
    det = create_detector("detector-tiny").eval()
    g, c = detector_views(torch.rand(3, 3, 50, 70), size=64, crop=32, crops=2)
    with torch.no_grad():
        logits, sev = det.forward_modality("vis", g, c)
    assert logits.shape == (3, len(VIS_DEGRADATIONS)) and sev.shape == (3, len(VIS_DEGRADATIONS))
    assert float(sev.min()) >= 0 and float(sev.max()) <= 1
    gi, ci = detector_views(torch.rand(3, 1, 50, 70), size=64, crop=32, crops=2)
    assert det.forward_modality("ir", gi, ci)[0].shape == (3, len(IR_DEGRADATIONS))
    with pytest.raises(ValueError, match="vis views must have 3 channel"):
        det.forward_modality("vis", gi, ci)
    with pytest.raises(UnknownNameError, match="did you mean 'detector'"):
        create_detector("detectr")
    # the heads use the names of textif.data.degradations
    assert det.config.vis_types == VIS_DEGRADATIONS and det.config.ir_types == IR_DEGRADATIONS


def test_checkpoint_round_trip_and_errors(tiny_detector: Path, tmp_path: Path):
    ck = load_detector(tiny_detector)
    torch.manual_seed(0)  # the fixture's seed: the same random weights
    ref = create_detector("detector-tiny").eval()
    g, c = detector_views(torch.rand(1, 3, 60, 80), size=64, crop=32, crops=2)
    a = ck.model.forward_modality("vis", g, c)[0]
    b = ref.forward_modality("vis", g, c)[0]
    assert torch.allclose(a, b, atol=2e-2)  # fp16 storage
    assert ck.thresholds == {"noise": 0.4} and ck.trained
    assert sorted(p.name for p in tiny_detector.iterdir()) == ["config.json", "model.safetensors"]
    with pytest.raises(ModelNotFoundError, match="config.json missing"):
        load_detector(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"architecture": "textif", "config": {}}))
    (tmp_path / "model.safetensors").write_bytes(b"x")
    with pytest.raises(ModelNotFoundError, match="not 'degradation-detector'"):
        load_detector(tmp_path)


# ----------------------------------------------------------------------------- sentences
def test_sentences_come_from_the_prompt_bank():
    f = lambda t, p=0.9: Finding(t, p, 0.5)  # noqa: E731
    assert sentence_for([], []) == ("fusion", NEUTRAL_PROMPT)
    assert sentence_for([f("haze")], []) == ("haze", SUGGESTED["haze"])
    # both modalities degraded: a cross-modal composite of the most probable of each
    task, text = sentence_for([f("noise", 0.6), f("low_light", 0.95)], [f("ir_stripe", 0.7)])
    assert task == "low_light+ir_stripe" and text == SUGGESTED["low_light+ir_stripe"]
    assert text.startswith("The visible image is too dark") and "stripe noise" in text
    # one modality: its two most probable, when they may be combined
    assert sentence_for([], [f("ir_noise", 0.8), f("ir_low_contrast", 0.7)])[0] == "ir_low_contrast+ir_noise"
    assert sentence_for([f("low_light", 0.9), f("overexposure", 0.8), f("noise", 0.7)], [])[0] == "low_light+noise"


def test_diagnosis_json_shape():
    d = Diagnosis([Finding("low_light", 0.93123, 0.55555)], [], "t", "low_light", name="x")
    assert d.to_dict() == {"name": "x", "vis": [{"type": "low_light", "probability": 0.931, "severity": 0.556}],
                           "ir": [], "text": "t", "task": "low_light"}
    assert not d.clean and Diagnosis().clean
    assert d.summary().splitlines() == ["visible: low_light (p 0.93, severity 0.56)", "infrared: clean"]


def test_detector_accepts_every_image_kind(tiny_detector: Path, tmp_path: Path):
    det = Detector.load(tiny_detector)
    v, i = write_pair(tmp_path, "a")
    ref = det.diagnose(v, i).to_dict()
    vis, ir = smooth_pair(120, 160)
    kinds = [
        (np.round(vis * 255).astype(np.uint8), np.round(ir * 255).astype(np.uint8)),
        (torch.from_numpy(np.round(vis * 255) / 255).permute(2, 0, 1)[None].float(),
         torch.from_numpy(np.round(ir * 255) / 255)[None, None].float()),
    ]
    for a, b in kinds:
        got = det.diagnose(a, b).to_dict()
        assert got["text"] == ref["text"]
        assert [x["type"] for x in got["vis"]] == [x["type"] for x in ref["vis"]]
    with pytest.raises(Exception, match="unsupported input type"):
        det.diagnose(42, i)


def test_inference_never_imports_detect():
    code = "import sys, textif.inference.fuser, textif.inference.tiling; print('textif.detect' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------- shipped weights
@shipped
def test_shipped_detector_is_small_and_recognises_sample_degradations(shared_data: Path):
    size = sum(p.stat().st_size for p in DETECTOR_WEIGHTS.iterdir())
    assert size < 5 * 2**20
    det = Detector.load()
    s = shared_data / "samples"
    low = det.diagnose(s / "vis" / "010007.png", s / "ir" / "010007.png")
    assert "low_light" in {f.type for f in low.vis}
    assert low.text.startswith(SUGGESTED["low_light"])
    noisy = det.findings(s / "ir" / "00016N.png", "ir")
    assert "ir_noise" in {f.type for f in noisy}
    assert det.findings(s / "ir_clean" / "00016N.png", "ir") == [] or \
        "ir_noise" not in {f.type for f in det.findings(s / "ir_clean" / "00016N.png", "ir")}


@shipped
def test_shipped_severity_grows_with_synthetic_severity(shared_data: Path):
    from textif.core.io import read_image

    det = Detector.load()
    name = (shared_data / "splits" / "roadscene_val.txt").read_text().split()[0]
    ir = torch.from_numpy(read_image(shared_data / "RoadScene" / "ir" / name, channels=1))[None, None]
    g = torch.Generator().manual_seed(0)
    sev = []
    for s in (0.2, 0.5, 0.9):
        x = DEGRADATIONS.get("ir_noise").add_fn(ir, s, generator=g)
        sev.append(float(det.predict(x, "ir")[1][0, IR_DEGRADATIONS.index("ir_noise")]))
    assert sev[0] < sev[1] < sev[2], sev


# ----------------------------------------------------------------------------- CLI
def test_detect_cli_one_pair_and_folders(tiny_detector: Path, tmp_path: Path):
    from textif.cli.main import app

    runner = CliRunner()
    v, i = write_pair(tmp_path / "in", "p1")
    write_pair(tmp_path / "in", "p2", seed=1)
    (tmp_path / "in" / "vis" / "bad.png").write_text("not an image")
    (tmp_path / "in" / "ir" / "bad.png").write_bytes(b"")
    r = runner.invoke(app, ["detect", "--vis", str(v), "--ir", str(i), "--format", "json", "--detector", str(tiny_detector)])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert set(d) == {"vis", "ir", "text", "task"} and d["text"] in SUGGESTED.values()
    assert all(f["type"] in VIS_DEGRADATIONS and 0 <= f["severity"] <= 1 for f in d["vis"])
    r = runner.invoke(app, ["detect", "--vis", str(v), "--ir", str(i), "--detector", str(tiny_detector)])
    assert r.exit_code == 0 and r.stdout.splitlines()[0].startswith("visible: ") and "text: " in r.stdout

    out = tmp_path / "diag.jsonl"
    r = runner.invoke(app, ["detect", "--vis-dir", str(tmp_path / "in" / "vis"), "--ir-dir", str(tmp_path / "in" / "ir"),
                            "-o", str(out), "--detector", str(tiny_detector), "-q"])
    assert r.exit_code == 1  # the bad pair is reported, the others are written
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["name"] for x in rows] == ["p1", "p2"]
    assert "bad.png" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["detect", "--vis", str(v)])
    assert r.exit_code == 2 and "needs both --vis and --ir" in r.output
    r = runner.invoke(app, ["detect", "--vis", str(tmp_path / "nope.png"), "--ir", str(i), "--detector", str(tiny_detector)])
    assert r.exit_code == 2 and "nope.png: file not found" in r.output


def test_fuse_text_auto_cli(tiny_checkpoint: Path, tiny_detector: Path, tmp_path: Path, monkeypatch):
    import textif.detect.diagnosis as diag
    from textif.cli.main import app

    monkeypatch.setattr(diag, "load_detector", lambda path=None: load_detector(tiny_detector))
    diag.default_detector.cache_clear()
    try:
        runner = CliRunner()
        v, i = write_pair(tmp_path / "in", "p1")
        write_pair(tmp_path / "in", "p2", seed=1)
        det_text = Detector.load(tiny_detector).diagnose(v, i).text
        r = runner.invoke(app, ["fuse", "--vis", str(v), "--ir", str(i), "-o", str(tmp_path / "one.png"), "--text", "auto",
                                "--model", str(tiny_checkpoint)])
        assert r.exit_code == 0, r.output
        assert f"text (auto): {det_text}" in r.stdout and (tmp_path / "one.png").is_file()
        out = tmp_path / "out"
        r = runner.invoke(app, ["fuse", "--vis-dir", str(tmp_path / "in" / "vis"), "--ir-dir", str(tmp_path / "in" / "ir"),
                                "-o", str(out), "--text", "AUTO", "--model", str(tiny_checkpoint), "-q"])
        assert r.exit_code == 0, r.output
        rows = [json.loads(x) for x in (out / "diagnosis.jsonl").read_text().splitlines()]
        assert [x["name"] for x in rows] == ["p1", "p2"] and rows[0]["text"] == det_text
        assert sorted(p.name for p in out.glob("*.png")) == ["p1.png", "p2.png"]
        pytest.importorskip("av")  # frame folders to a video: diagnosed per clip, the sentence printed
        r = runner.invoke(app, ["fuse", "--vis-dir", str(tmp_path / "in" / "vis"), "--ir-dir", str(tmp_path / "in" / "ir"),
                                "-o", str(tmp_path / "clip.mkv"), "--fps", "5", "--codec", "ffv1", "--text", "auto",
                                "--model", str(tiny_checkpoint), "-q"])
        assert r.exit_code == 0, r.output
        assert r.stdout.splitlines()[0] == f"text (auto): {det_text}" and (tmp_path / "clip.mkv").is_file()
    finally:
        diag.default_detector.cache_clear()


def test_fuse_auto_api_uses_the_detector_sentence(tiny_fuser, tiny_detector: Path, tmp_path: Path):
    from textif.detect import fuse_auto, resolve_text

    det = Detector.load(tiny_detector)
    vis, ir = smooth_pair(64, 96)
    fused, d = fuse_auto(tiny_fuser, vis, ir, detector=det)
    assert fused.shape == vis.shape
    np.testing.assert_allclose(fused, tiny_fuser.fuse(vis, ir, d.text), atol=1e-6)
    assert resolve_text("the visible image is too dark", vis, ir, detector=det) == ("the visible image is too dark", None)
    assert resolve_text(" Auto ", vis, ir, detector=det)[0] == d.text



def test_fuser_text_auto_diagnoses_each_pair(tiny_checkpoint: Path, tiny_detector: Path, tmp_path: Path):
    """``fuse(..., text="auto")`` on a fuser from textif.load uses the detector's sentence (numpy, tensor
    and file inputs); a bare Fuser says how to enable it instead of encoding the word "auto"."""
    import torch

    import textif
    from textif.detect import enable_auto
    from textif.inference.fuser import load as bare_load

    det = Detector.load(tiny_detector)
    vis, ir = smooth_pair(64, 96)
    fuser = textif.load(str(tiny_checkpoint), device="cpu", backend="torch", progress=False)
    assert fuser.text_resolver is not None
    enable_auto(fuser, det)  # the tiny detector instead of the shipped one
    sentence = det.diagnose(vis, ir).text
    np.testing.assert_allclose(fuser.fuse(vis, ir, "auto"), fuser.fuse(vis, ir, sentence), atol=1e-6)
    assert fuser.last_text == sentence
    from textif.core.io import read_image

    folder = tmp_path / "pairs"
    v_path, i_path = write_pair(folder, "p1")
    fuser.last_text = None
    report = fuser.fuse_folder(folder / "vis", folder / "ir", tmp_path / "out", "auto", progress=False)
    assert report.ok and fuser.last_text == det.diagnose(v_path, i_path).text  # diagnosed per pair, not encoded
    expected = fuser.fuse(read_image(v_path, channels=3), read_image(i_path, channels=1), fuser.last_text)
    assert np.abs(read_image(report.written[0], channels=3) - expected).max() <= 1 / 255 + 1e-6
    vt = torch.from_numpy(vis).permute(2, 0, 1)[None]
    it = torch.from_numpy(ir)[None, None]
    torch.testing.assert_close(fuser.fuse_tensor(vt, it, " AUTO "), fuser.fuse_tensor(vt, it, sentence))
    with pytest.raises(TextIFError, match="one pair at a time; got a batch of 2"):
        fuser.fuse_tensor(vt.repeat(2, 1, 1, 1), it.repeat(2, 1, 1, 1), "auto")
    bare = bare_load(str(tiny_checkpoint), device="cpu", backend="torch", progress=False)
    with pytest.raises(TextIFError, match=r"needs the degradation detector.*enable_auto"):
        bare.fuse(vis, ir, "auto")


def test_video_text_auto_diagnoses_once_per_clip(tiny_checkpoint: Path, tiny_detector: Path, tmp_path: Path):
    pytest.importorskip("av")
    import textif
    from textif.detect import enable_auto
    from textif.video import stream

    det = Detector.load(tiny_detector)
    calls = []
    fuser = enable_auto(textif.load(str(tiny_checkpoint), device="cpu", backend="torch", progress=False), det)
    resolver = fuser.text_resolver
    fuser.text_resolver = lambda v, i: calls.append(1) or resolver(v, i)
    frames = [smooth_pair(48, 64, seed=0)] * 4
    out = list(stream(fuser, frames, "auto", stabilize=False))
    assert len(out) == 4 and len(calls) == 1
    expected = fuser.fuse(frames[0][0], frames[0][1], det.diagnose(*frames[0]).text)
    np.testing.assert_allclose(out[0].astype(np.float32), expected.astype(np.float32), atol=2e-6)

# ----------------------------------------------------------------------------- web (no server)
def test_web_detect_and_auto_prompt(tiny_fuser, tiny_detector: Path, tmp_path: Path, monkeypatch):
    import textif.detect.diagnosis as diag
    from textif.web.app import FusionService, WebInputError
    from textif.web.detect_ui import detect_upload, findings_markdown

    monkeypatch.setattr(diag, "load_detector", lambda path=None: load_detector(tiny_detector))
    diag.default_detector.cache_clear()
    try:
        service = FusionService(tiny_fuser, out_dir=tmp_path / "web")
        v, i = write_pair(tmp_path / "in", "p1")
        d = detect_upload(service, str(v), str(i))
        assert d.text == Detector.load(tiny_detector).diagnose(v, i).text
        md = findings_markdown(d)
        assert md.startswith("**Visible:**") and "**Infrared:**" in md
        with pytest.raises(WebInputError, match="upload an infrared image to detect"):
            detect_upload(service, str(v), None)
        auto = service.fuse(str(v), str(i), "auto")
        same = service.fuse(str(v), str(i), d.text)
        assert same.from_cache and same.result.fused == auto.result.fused  # "auto" fused with the chosen sentence
    finally:
        diag.default_detector.cache_clear()


def test_detector_splits_never_mix(shared_data: Path):
    from textif.detect.sets import clean_pairs, eval_images, tno_detector_train, train_images

    train = train_images(shared_data)
    tno_train = {e.path.stem for e in train if e.source == "TNO/train-half"}
    assert tno_train == tno_detector_train() and len(tno_train) == 30
    assert all(not e.types for e in train if e.source == "TNO/train-half")  # taught as clean
    tno_eval = {v.stem for src, v, _ in clean_pairs(shared_data) if src == "TNO"}
    assert len(tno_eval) == 29 and not tno_eval & tno_train
    trained_on = {e.path.resolve() for e in train}
    evaluated = {e.path.resolve() for e in eval_images(shared_data)}
    evaluated |= {p.resolve() for _, v, i in clean_pairs(shared_data) for p in (v, i)}
    assert not trained_on & evaluated


# ----------------------------------------------------------------------------- threshold calibration
def test_calibrated_thresholds_match_hand_computed_values():
    from textif.detect.calibration import calibrate_thresholds

    # 20 images without the type (probabilities 0.05, 0.10, ..., 1.00) and 4 with it
    neg = np.arange(1, 21) / 20
    p = np.concatenate([neg, [0.7, 0.96, 0.98, 0.99]])
    y = np.arange(24) >= 20
    res = calibrate_thresholds({"haze": p}, {"haze": y}, {"haze": 0.5}, max_false=0.1)
    # 10 % of 20 = 2 negatives may reach it: just above the third highest (0.90), rounded up
    assert res.thresholds["haze"] == pytest.approx(0.9001)
    assert res.false_alarms["haze"] == (pytest.approx(11 / 20), pytest.approx(2 / 20))
    assert res.recall["haze"] == (1.0, 0.75) and res.counts["haze"] == (20, 4)
    # never lowered below the detector's own threshold, never above the cap
    low = calibrate_thresholds({"haze": p}, {"haze": y}, {"haze": 0.95}, max_false=0.1)
    assert low.thresholds["haze"] == 0.95
    capped = calibrate_thresholds({"haze": p}, {"haze": y}, {}, max_false=0.0, cap=0.9)
    assert capped.thresholds["haze"] == 0.9 and capped.before["haze"] == 0.5
    # per source: a small source with many alarms is not outvoted by a large quiet one
    big, small = np.full(100, 0.1), np.array([0.8, 0.85, 0.9, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2])
    p2 = np.concatenate([big, small])
    y2 = np.zeros(110, dtype=bool)
    g2 = np.array(["RoadScene"] * 100 + ["TNO"] * 10)
    pooled = calibrate_thresholds({"haze": p2}, {"haze": y2}, {"haze": 0.5}, max_false=0.05)
    assert pooled.thresholds["haze"] == 0.5  # 5 of 110 may alarm: TNO's 3 alarms stay
    assert pooled.false_alarms["haze"][1] == pytest.approx(3 / 110)
    per_source = calibrate_thresholds({"haze": p2}, {"haze": y2}, {"haze": 0.5}, groups={"haze": g2}, max_false=0.1)
    assert per_source.thresholds["haze"] == pytest.approx(0.8501)  # 1 of TNO's 10 may alarm
    assert per_source.per_source["haze"] == {"RoadScene": (100, 0.0, 0.0), "TNO": (10, pytest.approx(0.3),
                                                                            pytest.approx(0.1))}
    with pytest.raises(TextIFError, match="probabilities but"):
        calibrate_thresholds({"haze": p}, {"haze": y[:3]}, {})
    with pytest.raises(TextIFError, match="max_false"):
        calibrate_thresholds({"haze": p}, {"haze": y}, {}, max_false=1.0)


def test_calibrated_detector_keeps_its_weights_and_reports_less(tiny_detector: Path, tmp_path: Path):
    from textif.detect.calibration import CalibrationResult, write_calibrated

    det = Detector.load(tiny_detector, threshold=None)
    x = torch.rand(1, 3, 64, 80, generator=torch.Generator().manual_seed(0))
    prob, _ = det.predict(x, "vis")
    types = det.config.types("vis")
    # put every visible threshold just above its probability on this image: nothing is reported
    res = CalibrationResult(thresholds={t: float(prob[0, k]) + 1e-4 for k, t in enumerate(types)}, before={})
    out = write_calibrated(tiny_detector, tmp_path / "cal", res, "test calibration")
    assert (out / "model.safetensors").read_bytes() == (tiny_detector / "model.safetensors").read_bytes()
    cal = Detector.load(out)
    assert cal.checkpoint.training["thresholds"] == "test calibration"
    assert torch.equal(cal.predict(x, "vis")[0], prob)
    assert cal.findings(x, "vis") == []
    assert Detector.load(tiny_detector, threshold=0.0).findings(x, "vis")  # the same image, thresholds at 0


def test_calibration_images_are_never_evaluated(shared_data: Path):
    from textif.detect.sets import calibration_images, clean_pairs, eval_images

    cal = calibration_images(shared_data)
    sources = {e.source for e in cal}
    assert sources == {"RoadScene/train", "TNO/train-half", "EMS/train"}
    evaluated = {e.path.resolve() for e in eval_images(shared_data)}
    evaluated |= {p.resolve() for _, v, i in clean_pairs(shared_data) for p in (v, i)}
    assert not {e.path.resolve() for e in cal} & evaluated
    assert any(e.types for e in cal) and sum(not e.types for e in cal) > 400
    # a detector trained with --keep-out-calibration never sees the unseen-only calibration images
    from textif.detect.sets import roadscene_detector_calibration, roadscene_detector_train, train_images

    unseen = calibration_images(shared_data, unseen_only=True)
    assert {e.source for e in unseen} == {"RoadScene/train", "TNO/train-half"} and len(unseen) == 2 * (88 + 30)
    seen = {e.path.resolve() for e in train_images(shared_data, tno=False)}
    roadscene_train = roadscene_detector_train(shared_data)
    cal_half = roadscene_detector_calibration()
    assert cal_half < set(roadscene_train) and len(cal_half) == 88
    trained = roadscene_detector_train(shared_data, keep_out_calibration=True)
    assert len(trained) == len(roadscene_train) - 88
    seen |= {(shared_data / "RoadScene" / m / n).resolve() for n in trained for m in ("vis", "ir")}
    assert not {e.path.resolve() for e in unseen} & seen
