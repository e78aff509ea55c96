"""The real-data restoration validation set (textif.data.realval) and its evaluation script's rules."""
from __future__ import annotations

import importlib.util
import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from textif.data.degradations import modality_of
from textif.data.prompts import TASKS, heldout_prompts, suggested_prompts
from textif.data.realval import (
    EMS_DEGRADED_FOLDERS,
    EXCLUDED_FOLDERS,
    HOLDOUT_FILE,
    SOURCES,
    RealCase,
    RealValError,
    ems_holdout_stems,
    real_validation_cases,
    training_exclusions,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cases(shared_data: Path) -> list[RealCase]:
    return real_validation_cases(shared_data)


def _eval_real():
    spec = importlib.util.spec_from_file_location("eval_real", REPO / "benchmarks" / "eval_real.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_cases_cover_the_expected_types_and_sources(cases: list[RealCase]) -> None:
    by = Counter((c.degradation, c.source) for c in cases)
    assert by[("blur", "M3SVD")] == 45 and by[("ir_noise", "M3SVD")] == 45
    assert by[("noise+ir_noise", "DRMF/val")] == 6
    ems = {c.degradation for c in cases if c.source == "EMS/holdout"}
    assert ems == set(EMS_DEGRADED_FOLDERS.values())
    # every type but overexposure has a real case with clean ground truth
    singles = {p for c in cases for p in c.parts}
    assert singles == {"low_light", "noise", "blur", "haze", "rain", "ir_low_contrast", "ir_noise", "ir_stripe"}
    assert "overexposure" not in {t for c in cases for t in c.types}
    assert [c.source for c in cases] == sorted((c.source for c in cases), key=SOURCES.index)  # fixed source order
    for c in cases:
        assert c.degradation in TASKS  # prompts exist for it
        assert c.degradation in suggested_prompts(include_composites=True)
        assert heldout_prompts(c.degradation)


def test_no_duplicates_and_a_fixed_order(shared_data: Path, cases: list[RealCase]) -> None:
    assert len({c.name for c in cases}) == len(cases)
    assert len({(c.vis, c.ir) for c in cases}) == len(cases)
    assert real_validation_cases(shared_data) == cases


def test_every_path_exists_and_degraded_files_differ_from_clean(cases: list[RealCase]) -> None:
    for c in cases:
        for p in c.files():
            assert p.is_file(), f"{c.name}: {p}"
        sizes = {Image.open(p).size for p in c.files()}
        assert len(sizes) == 1, f"{c.name}: sizes {sizes}"
        assert c.vis_clean.parent.name == "vis" and c.ir_clean.parent.name == "ir"
        for mod in ("vis", "ir"):
            degraded, clean = (c.vis, c.vis_clean) if mod == "vis" else (c.ir, c.ir_clean)
            assert (degraded != clean) == (mod in c.modalities), c.name
        assert c.scene == c.vis.stem == c.ir.stem == c.ir_clean.stem


def test_ems_cases_are_exactly_the_holdout_stems(cases: list[RealCase]) -> None:
    stems = [ln.strip() for ln in HOLDOUT_FILE.read_text().splitlines() if ln.strip()]
    assert list(ems_holdout_stems()) == stems
    ems = [c for c in cases if c.source == "EMS/holdout"]
    assert list(dict.fromkeys(c.scene for c in ems)) == stems
    for c in ems:
        folder = (c.vis if "vis" in c.modalities else c.ir).parent.name
        assert EMS_DEGRADED_FOLDERS[folder] == c.degradation
        assert c.vis_clean.parent.parent.name == "train"


def test_exclusions_cover_every_case_file(shared_data: Path, cases: list[RealCase]) -> None:
    ex = training_exclusions(shared_data)
    assert set(EXCLUDED_FOLDERS) <= set(ex.folders)
    for c in cases:
        for p in c.files():
            assert ex.excludes(p), f"{c.name}: {p} is not excluded from training"
    # the same scenes elsewhere (DRMF/train 00005N is EMS hold-out 00005N) and M3SVD_seq too
    assert ex.excludes("DRMF/train/vis/00005N.png")
    assert ex.excludes(shared_data / "M3SVD_seq" / "0111_1716" / "vis" / "0000.png")
    # ... while ordinary training data stays usable
    train = [shared_data / "EMS" / "train" / "vis" / "00002D.png", shared_data / "RoadScene" / "vis" / "FLIR_00006.jpg",
             Path("DRMF/train/vis/00003N.png")]
    assert ex.filter(train) == train


def test_missing_data_names_the_folder(tmp_path: Path, shared_data: Path) -> None:
    with pytest.raises(RealValError, match="not found"):
        real_validation_cases(tmp_path / "nowhere")
    root = tmp_path / "data"
    shutil.copytree(shared_data / "M3SVD", root / "M3SVD", ignore=shutil.ignore_patterns("*.png"))
    with pytest.raises(RealValError) as e:
        real_validation_cases(root)
    assert "M3SVD" in str(e.value)
    with pytest.raises(RealValError, match="DRMF"):
        training_exclusions(root)


def test_wrong_type_rule_and_prompts_are_fixed(cases: list[RealCase]) -> None:
    er = _eval_real()
    for c in cases:
        wt = er.wrong_type(c)
        assert wt not in c.types
        assert modality_of(wt) == modality_of(c.parts[0])
    first = {c.degradation: c for c in reversed(cases)}
    assert er.wrong_type(first["ir_noise"]) == "ir_low_contrast"  # M3SVD: ir_noise has stripes too
    assert er.wrong_type(first["blur"]) == "haze"
    p1, p2 = er.case_prompts(cases[0], 0), er.case_prompts(cases[0], 0)
    assert p1 == p2 and p1["heldout"] in heldout_prompts(cases[0].degradation)
    assert p1["suggested"] == suggested_prompts()["blur"]


def test_limit_per_type_spreads_over_sources(cases: list[RealCase]) -> None:
    er = _eval_real()
    sel = er.select_cases(cases, 4)
    by = Counter(c.degradation for c in sel)
    assert max(by.values()) <= 4 and set(by) == {c.degradation for c in cases}
    blur = [c for c in sel if c.degradation == "blur"]
    assert Counter(c.source for c in blur) == {"M3SVD": 2, "EMS/holdout": 2}
    assert len({c.scene.rsplit("_", 1)[0] for c in blur if c.source == "M3SVD"}) == 2  # two sequences
    assert [c.name for c in sel] == [c.name for c in cases if c in sel]  # listing order kept
    assert er.select_cases(cases, None) == cases


def _load_script(rel: str):
    """A benchmark or script of the repository, imported from its file (``rel``: path from the root)."""
    path = REPO / rel
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _eval_stripes():
    return _load_script("benchmarks/eval_stripes.py")


def test_stripe_index_measures_column_offsets_and_ignores_smooth_scenes() -> None:
    """A flat image with column offsets of deviation d grey levels scores about d (the 9-pixel
    high-pass keeps sqrt(8/9) of it); a smooth ramp and a plain image score about 0; a row pattern
    is not a column pattern."""
    es = _eval_stripes()
    rng = np.random.default_rng(0)
    offsets = rng.normal(0.0, 6.0, 640) / 255.0
    flat = np.full((480, 640), 0.5) + offsets[None, :]
    assert es.stripe_index(flat) == pytest.approx(6.0 * np.sqrt(8 / 9), rel=0.1)
    ramp = np.tile(np.linspace(0.1, 0.9, 640), (480, 1))
    assert es.stripe_index(ramp) < 0.05 and es.stripe_index(np.full((480, 640), 0.3)) == 0.0
    rows = np.full((480, 640), 0.5) + rng.normal(0.0, 6.0, 480)[:, None] / 255.0
    assert es.stripe_index(rows) < 0.05
    with pytest.raises(ValueError, match="expected \\(H, W\\)"):
        es.stripe_index(np.zeros((4, 4, 3)))


def test_stripe_pairs_are_the_ems_test_pairs_with_infrared_stripes(shared_data: Path) -> None:
    pairs = _eval_stripes().stripe_pairs(shared_data)
    assert [p[0] for p in pairs] == ["00006", "01016N", "01478D", "01559D"]
    assert {p[3] for p in pairs} == {"ir_stripe", "low_light+ir_stripe", "rain+ir_stripe"}
    assert all(v.is_file() and i.is_file() and i.parent.name == "ir_SN" for _, v, i, _ in pairs)


def test_blur_headroom_ranks_fine_texture_below_smooth_images(shared_data: Path) -> None:
    """scripts/blur_headroom.py: a blur changes a fine checkerboard far more than a smooth ramp (lower
    PSNR), leaves a flat image unchanged (inf), and the real M3SVD frames lose more than RoadScene's."""
    mod = _load_script("scripts/blur_headroom.py")
    yy, xx = np.mgrid[0:64, 0:64]
    checker = ((yy // 2 + xx // 2) % 2).astype(np.float64)
    ramp = xx / 63.0
    assert mod.blur_psnr(np.full((64, 64), 0.5), 1.5) == float("inf")
    assert mod.blur_psnr(checker, 1.5) < 10 < 30 < mod.blur_psnr(ramp, 1.5)
    m3svd = np.median(mod.source_figures(shared_data / "M3SVD" / "vis", 1.5, 5, 1))
    road = np.median(mod.source_figures(shared_data / "RoadScene" / "vis", 1.5, 5, 1))
    assert m3svd < road - 5, (m3svd, road)


def test_blur_ceiling_sharpening_recovers_a_gaussian_blur(shared_data: Path, tmp_path: Path) -> None:
    """scripts/blur_ceiling.py: its unsharp mask and Wiener filter bring a Gaussian-blurred texture
    closer to the sharp one, leave a flat image flat; on a real M3SVD frame it reports the neutral,
    prompted and sharpened fusions against the clean pair's fusion, and the unsharp mask gains."""
    import cv2

    mod = _load_script("scripts/blur_ceiling.py")
    rng = np.random.default_rng(0)
    sharp = cv2.GaussianBlur(rng.random((64, 64, 3)).astype(np.float32), (0, 0), 0.7)
    blurred = cv2.GaussianBlur(sharp, (0, 0), 1.4)
    for m in mod.METHODS:
        assert mod.psnr(mod.sharpen(blurred, m), sharp) > mod.psnr(blurred, sharp) + 0.5, m
    flat = np.full((32, 32, 3), 0.4, np.float32)
    np.testing.assert_allclose(mod.unsharp(flat, 1.5, 2.0), flat, atol=1e-6)
    out = mod.main(["--data", str(shared_data), "--limit", "1", "--threads", "1", "--json", str(tmp_path / "c.json")])
    assert set(out["gain_db"]) == {"neutral", "suggested prompt", *mod.METHODS} and out["gain_db"]["neutral"] == 0
    assert out["gain_db"]["unsharp s1.5 x2.0"] > 0.5
    assert json.loads((tmp_path / "c.json").read_text())["frames"] == out["frames"]


def _make_dead_leaves():
    return _load_script("scripts/make_dead_leaves.py")


def test_dead_leaves_pairs_are_texture_dense_registered_and_repeatable() -> None:
    """scripts/make_dead_leaves.py: the same seed gives the same pair; the two images of a pair have
    their edges in the same places (gradient magnitudes correlate, unlike two unrelated pairs); a
    sigma-1.5 blur takes far more from them than from the training sources (< 28 dB against 29.9-36.3)."""
    import cv2

    dl = _make_dead_leaves()
    bh = _load_script("scripts/blur_headroom.py")
    vis, ir = dl.dead_leaves_pair(np.random.default_rng([0, 0]), 120, 160)
    again, _ = dl.dead_leaves_pair(np.random.default_rng([0, 0]), 120, 160)
    other, other_ir = dl.dead_leaves_pair(np.random.default_rng([0, 1]), 120, 160)
    assert vis.shape == (120, 160, 3) and ir.shape == (120, 160) and vis.dtype == ir.dtype == np.float32
    assert 0 <= vis.min() and vis.max() <= 1 and 0 <= ir.min() and ir.max() <= 1
    np.testing.assert_array_equal(vis, again)

    def edges(img):
        g = img.mean(axis=2) if img.ndim == 3 else img
        return np.hypot(cv2.Sobel(g, cv2.CV_64F, 1, 0), cv2.Sobel(g, cv2.CV_64F, 0, 1)).ravel()

    same = np.corrcoef(edges(vis), edges(ir))[0, 1]
    unrelated = np.corrcoef(edges(vis), edges(other_ir))[0, 1]
    assert same > 0.3 and abs(unrelated) < 0.1, (same, unrelated)
    assert bh.blur_psnr(vis.mean(axis=2).astype(np.float64), 1.5) < 28


def test_dead_leaves_folder_is_a_paired_training_source(tmp_path: Path) -> None:
    from textif.data.datasets import PairedFolder

    dl = _make_dead_leaves()
    assert dl.main(["--out", str(tmp_path / "dl"), "--count", "3", "--size", "64", "96"]) == 0
    assert sorted(p.name for p in (tmp_path / "dl" / "vis").iterdir()) == ["0000.png", "0001.png", "0002.png"]
    ds = PairedFolder(tmp_path / "dl", crop_size=32, seed=0)
    item = ds[0]
    assert item["vis"].shape == (3, 32, 32) and item["ir"].shape == (1, 32, 32)
    assert dl.main(["--out", str(tmp_path / "bad"), "--min-radius", "0"]) == 2
