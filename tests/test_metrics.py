"""Reference values and behaviour of textif.metrics (the issue's spec values on RoadScene FLIR_00006)."""
from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

import textif
from textif.core.errors import TextIFError
from textif.core.registry import UnknownNameError
from textif.metrics import (
    DEFAULT_METRICS,
    MetricInfo,
    MetricInputError,
    MetricSizeError,
    MetricUnavailableError,
    MetricWarning,
    create_metric,
    evaluate_pair,
    list_metrics,
    metric_info,
)
from textif.metrics import io as mio
from textif.metrics import noref, reference

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DATA = SHARED / "data"
PEERS_CSV = SHARED / "benchmarks" / "peers_RoadSceneVal45.csv"
STEM = "FLIR_00006"

# The reference values: (avg, max).
SPEC = {
    "en": (6.2424, 6.6185),
    "sd": (21.991, 40.164),
    "sf": (7.8289, 9.8466),
    "ag": (2.7402, 2.8818),
    "mi": (1.6674, 4.8784),
    "scd": (1.8340, 1.6195),
    "vif": (0.5393, 0.9133),
    "qabf": (0.3667, 0.4878),
    "ssim": (0.7975, 0.9207),
    "psnr": (12.62, 10.21),
    "niqe": (3.277, 3.970),
    "brisque": (25.95, 27.37),
}
NOREF_ABS_TOL = 0.02
REL_TOL = 1e-3

# Nabf reference values, computed outside this project with the published MATLAB code of the
# measure's author, run in GNU Octave 7.3.0 on 0-255 grey levels (``double(imread(png))``, the
# grey PNGs written from the same arrays as the tests use):
#   objective_fusion_perform_fn.m (B. K. Shreyamsha Kumar, 2011; output NABF), as distributed with
#   Kumar's CBF fusion code in the VIFB toolbox: github.com/xingchenzhang/VIFB,
#   methods/CBF/objective_fusion_perform_fn.m @ 5d29ee72176551bca1e7823598f4a1f7f5f2467f;
#   with Kumar's sobel_fn.m and per_extn_im_fn.m from the same CBF package (the copies used:
#   github.com/ayushdogra135/medical-image-fusion @ 825b3e33daa9793e9c8aeda346d9f3d28a4a1f63).
# Octave printed these with %.15g; textif agrees to ~1e-15 relative, the tolerance is 1e-9.
NABF_REF = {"avg": 3.97981471309871e-07, "max": 5.26281428393362e-05, "tiny": 0.000854906598456212}
NABF_REL_TOL = 1e-9


def _nabf_tiny_case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 12x16 integer test pattern (fused, ir, vis) for which the MATLAB code gives NABF_REF["tiny"]."""
    i, j = np.mgrid[0:12, 0:16]
    ir = (7 * i * i + 13 * j) % 256
    vis = (29 * i + 5 * j * j + 40) % 256
    ir[:5, :6] = 90 + j[:5, :6]  # a gentle ramp: edge strength 1, below the threshold Td = 2
    vis[7:, 11:] = 200  # a flat patch: edge strength 0
    fused = np.minimum((ir + vis + 17 * ((i * j) % 5)) // 2, 255)
    return fused.astype(np.float64), ir.astype(np.float64), vis.astype(np.float64)


def _need_data() -> Path:
    if not (DATA / "RoadScene" / "vis" / f"{STEM}.jpg").is_file():
        pytest.skip(f"shared test data not found under {DATA} (RoadScene/{{vis,ir}}/{STEM}.jpg)")
    return DATA


@pytest.fixture(scope="module")
def sources() -> dict[str, Path]:
    d = _need_data() / "RoadScene"
    return {"vis": d / "vis" / f"{STEM}.jpg", "ir": d / "ir" / f"{STEM}.jpg"}


@pytest.fixture(scope="module")
def fused(sources, tmp_path_factory) -> dict[str, Path]:
    """The issue's fused images: avg = round((vis + ir) / 2) (half to even), max = max(vis, ir), 8-bit PNG."""
    vis = mio.load_gray(sources["vis"])
    ir = mio.load_gray(sources["ir"])
    out = tmp_path_factory.mktemp("fused")
    files = {"avg": out / "avg.png", "max": out / "max.png"}
    assert cv2.imwrite(str(files["avg"]), np.round((vis + ir) / 2).astype(np.uint8))
    assert cv2.imwrite(str(files["max"]), np.maximum(vis, ir).astype(np.uint8))
    return files


@pytest.fixture(scope="module")
def scores(fused, sources) -> dict[str, dict[str, float]]:
    return {k: evaluate_pair(p, ir=sources["ir"], vis=sources["vis"]) for k, p in fused.items()}


@pytest.mark.parametrize("which", [0, 1], ids=["avg", "max"])
@pytest.mark.parametrize("name", sorted(SPEC))
def test_reference_values(scores, name, which):
    got = scores[("avg", "max")[which]][name]
    want = SPEC[name][which]
    if name in ("niqe", "brisque"):
        assert abs(got - want) <= NOREF_ABS_TOL, f"{name}: {got} vs {want}"
    else:
        # the spec values are rounded to the digits shown; 1e-3 relative covers that rounding
        assert abs(got - want) <= REL_TOL * abs(want), f"{name}: {got} vs {want}"


@pytest.mark.parametrize("which", ["avg", "max"])
def test_nabf_matches_the_published_matlab_code(scores, which):
    """Nabf on FLIR_00006 against Kumar's ``objective_fusion_perform_fn.m`` (see NABF_REF)."""
    assert scores[which]["nabf"] == pytest.approx(NABF_REF[which], rel=NABF_REL_TOL)


def test_nabf_tiny_pattern_matches_the_published_matlab_code():
    """Needs no data: a pattern with artifacts (also on the border), weak (g < Td) and flat (g = 0)
    source regions, so the mirrored border, the g = 0 rules, the threshold and the weights all count."""
    fused, ir, vis = _nabf_tiny_case()
    got = reference.nabf(fused, ir, vis)
    assert got == pytest.approx(NABF_REF["tiny"], rel=NABF_REL_TOL)
    # the convention matters: the same images on a [0, 1] scale give another number (documented)
    assert abs(reference.nabf(fused / 255, ir / 255, vis / 255) - got) > 1e-3


def test_hand_computed_values_on_tiny_arrays():
    """Needs no data: EN, SD, SF, AG, MSE and PSNR of tiny arrays, worked out by hand."""
    F = np.array([[0.0, 1.0, 4.0], [0.0, 1.0, 4.0]])  # levels 0, 1, 4, each with p = 1/3
    assert reference.entropy(F) == pytest.approx(math.log2(3), rel=1e-12)
    assert reference.standard_deviation(F) == pytest.approx(math.sqrt(26) / 3, rel=1e-12)  # 17/3 - (5/3)^2 = 26/9
    # dx = 1, 3 in each row (mean dx^2 = 5), dy = 0
    assert reference.spatial_frequency(F) == pytest.approx(math.sqrt(5), rel=1e-12)
    assert reference.spatial_frequency(F, convention="vifb") == pytest.approx(math.sqrt(20 / 6), rel=1e-12)
    # Gx = 1 (one-sided), 2 (central: (4 - 0) / 2), 3 (one-sided), Gy = 0: sqrt(Gx^2 / 2) averages to sqrt(2)
    assert reference.average_gradient(F) == pytest.approx(math.sqrt(2), rel=1e-12)
    assert reference.average_gradient(F, convention="vifb") == pytest.approx(6 * math.sqrt(2) / 2, rel=1e-12)
    f, ir, vis = np.array([[10.0, 20.0]]), np.array([[0.0, 20.0]]), np.array([[10.0, 40.0]])
    assert reference.mse(f, ir, vis) == pytest.approx((50 + 200) / 2)  # MSE(F, IR) = 100/2, MSE(F, VIS) = 400/2
    assert reference.psnr(f, ir, vis) == pytest.approx(10 * math.log10(20**2 / 125), rel=1e-12)
    assert reference.psnr(f, ir, vis, convention="peak255") == pytest.approx(10 * math.log10(255**2 / 125), rel=1e-12)


def test_correlations_match_numpy():
    """Needs no data: CC and SCD against numpy.corrcoef."""
    rng = np.random.default_rng(7)
    ir, vis = rng.integers(0, 256, (2, 20, 24)).astype(np.float64)
    f = np.round(0.5 * ir + 0.5 * vis + rng.normal(0, 9, ir.shape)).clip(0, 255)

    def r(a, b):
        return np.corrcoef(a.ravel(), b.ravel())[0, 1]

    assert reference.cc(f, ir, vis) == pytest.approx((r(ir, f) + r(vis, f)) / 2, rel=1e-12)
    assert reference.scd(f, ir, vis) == pytest.approx(r(ir, f - vis) + r(vis, f - ir), rel=1e-12)


def test_other_metrics_are_plausible(scores):
    for which in ("avg", "max"):
        s = scores[which]
        assert -1 <= s["cc"] <= 1
        assert 0 <= s["nabf"] <= 1
        assert s["mse"] > 0
    # averaging creates an edge stronger than both sources' only through rounding: ~no artifacts
    assert scores["avg"]["nabf"] < 1e-5 < scores["max"]["nabf"]
    # PSNR and MSE agree: PSNR = 10 log10(max(F)^2 / MSE) with max(F) = 255 for the max fusion
    assert scores["max"]["psnr"] == pytest.approx(10 * math.log10(255.0**2 / scores["max"]["mse"]), rel=1e-12)


def test_cross_checks_with_scikit_libraries(fused, sources):
    skm = pytest.importorskip("skimage.metrics")
    F = mio.load_gray(fused["max"])
    ir = mio.load_gray(sources["ir"])
    vis = mio.load_gray(sources["vis"])
    want = skm.structural_similarity(F, ir, data_range=2) + skm.structural_similarity(F, vis, data_range=2)
    assert reference.ssim(F, ir, vis) == pytest.approx(want, rel=1e-9)
    gauss = skm.structural_similarity(F, ir, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    gauss += skm.structural_similarity(F, vis, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    assert reference.ssim(F, ir, vis, convention="vifb") == pytest.approx(gauss, rel=1e-9)
    sk = pytest.importorskip("sklearn.metrics")
    mi = sk.mutual_info_score(F.ravel(), ir.ravel()) + sk.mutual_info_score(F.ravel(), vis.ravel())
    assert reference.mutual_information(F, ir, vis) == pytest.approx(mi, rel=1e-9)


def test_conventions(fused, sources):
    F = mio.load_gray(fused["max"])
    ir = mio.load_gray(sources["ir"])
    vis = mio.load_gray(sources["vis"])
    h, w = F.shape
    nats = reference.mutual_information(F, ir, vis)
    assert reference.mutual_information(F, ir, vis, convention="bits") == pytest.approx(nats / math.log(2))
    # both images already span 0..255 nearly fully; the VIFB stretch changes MI only a little
    assert reference.mutual_information(F, ir, vis, convention="vifb") == pytest.approx(nats, rel=0.2)
    s = reference.ssim(F, ir, vis)
    assert reference.ssim(F, ir, vis, convention="mean") == pytest.approx(s / 2)
    ag = reference.average_gradient(F)
    assert reference.average_gradient(F, convention="vifb") == pytest.approx(ag * h * w / ((h - 1) * (w - 1)))
    dx2 = float(np.sum(np.diff(F, axis=1) ** 2))
    dy2 = float(np.sum(np.diff(F, axis=0) ** 2))
    assert reference.spatial_frequency(F, convention="vifb") == pytest.approx(math.sqrt((dx2 + dy2) / (h * w)))
    mse = reference.mse(F, ir, vis)
    assert reference.psnr(F, ir, vis, convention="peak255") == pytest.approx(10 * math.log10(255**2 / mse))
    m = create_metric("mi", convention="bits")
    assert m.convention == "bits" and m.score_range == (0.0, 16.0)
    with pytest.raises(MetricInputError, match="options: cddfuse, bits, vifb"):
        create_metric("mi", convention="log10")


def test_metric_objects_pyiqa_style(fused, sources):
    """The pyiqa-style API. Paths vs arrays is a smoke test of the input plumbing (the same function on
    both sides); the value itself is checked against the issue's EN here and elsewhere per metric."""
    q = textif.create_metric("qabf")
    assert (q.name, q.lower_better, q.score_range, q.needs_sources, q.kind) == ("qabf", False, (0.0, 1.0), True, "sources")
    assert create_metric("NIQE").lower_better is True and not create_metric("niqe").needs_sources
    assert create_metric("psnr").lower_better is None  # reported without a direction
    assert isinstance(metric_info("ssim"), MetricInfo)
    by_path = q(fused["max"], ir=sources["ir"], vis=sources["vis"])
    by_array = q(cv2.imread(str(fused["max"]), cv2.IMREAD_GRAYSCALE), ir=mio.load_gray(sources["ir"]),
                 vis=cv2.imread(str(sources["vis"]))[..., ::-1])  # uint8 grey, float grey, uint8 RGB
    assert by_array == pytest.approx(by_path, rel=1e-12)
    assert create_metric("en")(fused["max"]) == pytest.approx(SPEC["en"][1], rel=REL_TOL)
    with pytest.raises(MetricInputError, match="pass ir= and vis="):
        q(fused["max"])
    with pytest.raises(UnknownNameError, match="did you mean 'qabf'"):
        create_metric("qabff")
    assert "qabf" in repr(q)


def test_list_metrics():
    names = list_metrics()
    assert names[: len(DEFAULT_METRICS)] == list(DEFAULT_METRICS)
    assert set(list_metrics(kind="fused")) == {"en", "sd", "sf", "ag"}
    assert set(list_metrics(kind="no-reference", include_weighted=False)) == {"niqe", "brisque"}
    assert "musiq" in names and "clipiqa" in names
    assert textif.list_metrics() == names
    for n in names:
        info = metric_info(n)
        assert info.func.__doc__ and len(info.func.__doc__) > 80, f"{n} needs a docstring with its definition"
        assert info.score_range[0] <= info.score_range[1]
    with pytest.raises(MetricInputError):
        list_metrics(kind="nonsense")


# ----------------------------------------------------------------------------- bad input
def test_size_mismatch_names_the_files(fused, sources, tmp_path):
    small = tmp_path / "small.png"
    cv2.imwrite(str(small), cv2.imread(str(fused["max"]))[:-1])
    with pytest.raises(MetricSizeError) as e:
        create_metric("ssim")(small, ir=sources["ir"], vis=sources["vis"])
    msg = str(e.value)
    assert "small.png" in msg and f"{STEM}.jpg" in msg and "\n" not in msg
    assert isinstance(e.value, TextIFError)


def test_nan_wrong_scale_and_bad_arrays_are_rejected():
    img = np.full((64, 64), 100.0)
    img[3, 3] = np.nan
    with pytest.raises(MetricInputError, match="NaN"):
        create_metric("en")(img)
    unit = np.random.default_rng(0).random((64, 64))
    with pytest.raises(MetricInputError, match=r"\[0, 1\]"):
        create_metric("sd")(unit)
    with pytest.raises(MetricInputError, match="0-255"):
        create_metric("sd")(unit * 300)
    with pytest.raises(MetricInputError, match="shape"):
        create_metric("sd")(np.zeros((4, 4, 2)))
    with pytest.raises(MetricInputError, match="0..255"):
        create_metric("sd")(np.full((8, 8), 300, dtype=np.int32))
    with pytest.raises(MetricInputError, match="at least 96x96"):
        create_metric("niqe")(np.random.default_rng(1).integers(0, 255, (50, 50)).astype(np.uint8))


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(TextIFError, match="file not found"):
        create_metric("en")(tmp_path / "nope.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(TextIFError, match="bad.png: not a readable image"):
        create_metric("en")(bad)


def test_constant_images_give_nan_with_a_warning(sources):
    ir = mio.load_gray(sources["ir"])
    vis = mio.load_gray(sources["vis"])
    flat = np.full_like(ir, 128.0)
    with pytest.warns(MetricWarning, match="cc: an image is constant"):
        assert math.isnan(reference.cc(flat, ir, vis))
    with pytest.warns(MetricWarning, match="vif: a source image has no variance"):
        assert math.isnan(reference.vif(ir, flat, vis))
    with pytest.warns(MetricWarning, match="niqe: the image is constant"):
        assert math.isnan(noref.niqe(flat))
    with pytest.warns(MetricWarning, match="brisque: the image is constant"):
        assert math.isnan(noref.brisque(flat))
    # statistics that are well defined for a constant image are exact, not nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert reference.entropy(flat) == 0.0 and reference.standard_deviation(flat) == 0.0
        assert reference.spatial_frequency(flat) == 0.0 and reference.average_gradient(flat) == 0.0
        assert reference.mutual_information(flat, ir, vis) == pytest.approx(0.0, abs=1e-12)


def test_16bit_colour_and_alpha_inputs(sources, fused, tmp_path):
    ir8 = cv2.imread(str(sources["ir"]), cv2.IMREAD_GRAYSCALE)
    ir16 = tmp_path / "ir16.png"
    cv2.imwrite(str(ir16), ir8.astype(np.uint16) * 257)  # exact 8 -> 16-bit mapping
    assert np.array_equal(mio.load_gray(ir16), ir8.astype(np.float64))
    q = create_metric("qabf")
    assert q(fused["max"], ir=ir16, vis=sources["vis"]) == pytest.approx(q(fused["max"], ir=sources["ir"], vis=sources["vis"]))
    # colour: OpenCV BGR2GRAY on float32 then rounding (the evaluator's reading)
    bgr = cv2.imread(str(sources["vis"]))
    want = np.round(cv2.cvtColor(bgr.astype(np.float32), cv2.COLOR_BGR2GRAY))
    assert np.array_equal(mio.load_gray(sources["vis"]), want)
    rgba = tmp_path / "vis_rgba.png"
    cv2.imwrite(str(rgba), np.dstack([bgr, np.full(bgr.shape[:2], 7, np.uint8)]))
    assert np.array_equal(mio.load_gray(rgba), want)  # alpha dropped, as cv2.imread does
    f32 = tmp_path / "ir_f32.tiff"
    cv2.imwrite(str(f32), ir8.astype(np.float32) / 255.0)
    assert np.array_equal(mio.load_gray(f32), ir8.astype(np.float64))


def test_learned_iqa_needs_weights(tmp_path):
    """musiq / clipiqa only run a user-given model file: clear errors without one, and a toy model's
    known output (mean brightness x 100) comes back through both file formats."""
    torch = pytest.importorskip("torch")
    with pytest.raises(MetricUnavailableError, match="musiq: needs model weights"):
        create_metric("musiq")
    with pytest.raises(MetricUnavailableError, match="not found"):
        create_metric("clipiqa", weights=tmp_path / "missing.pt")

    class MeanBrightness(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean() * 100.0

    img = np.full((32, 48, 3), 51, dtype=np.uint8)
    scripted = tmp_path / "toy_iqa.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(MeanBrightness()).save(str(scripted))
    assert create_metric("musiq", weights=scripted)(img) == pytest.approx(20.0, rel=1e-5)
    exported = tmp_path / "toy_iqa.pt2"
    dims = {"x": {2: torch.export.Dim("h", min=8), 3: torch.export.Dim("w", min=8)}}
    torch.export.save(torch.export.export(MeanBrightness(), (torch.rand(1, 3, 16, 16),), dynamic_shapes=dims), str(exported))
    m = create_metric("clipiqa", weights=exported)
    assert m(img) == pytest.approx(20.0, rel=1e-5) and m.lower_better is False
    path = scripted
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"junk")
    with pytest.raises(MetricUnavailableError, match="not an exported model"):
        create_metric("musiq", weights=junk)
    with pytest.raises(MetricInputError, match="takes no weights"):
        create_metric("qabf", weights=path)


def test_params_are_plain_arrays():
    here = Path(noref.__file__).parent / "params"
    for name in ("niqe_pris_params.npz", "brisque_live_svm.npz"):
        with np.load(here / name, allow_pickle=False) as d:
            assert all(d[k].dtype == np.float64 for k in d.files)
    for name in ("NOTICE-niqe.txt", "NOTICE-brisque.txt", "LICENSE-basicsr.txt", "PROVENANCE.json"):
        assert (here / name).is_file()


def test_imresize_half_is_matlab_like():
    # bicubic with antialiasing keeps constants and linear ramps (away from the mirrored borders)
    assert np.allclose(noref.imresize_half(np.full((10, 12), 7.0)), 7.0)
    ramp = np.tile(np.arange(40, dtype=np.float64), (8, 1))
    out = noref.imresize_half(ramp)
    assert out.shape == (4, 20)
    assert np.allclose(out[:, 3:-3], 2 * np.arange(20)[3:-3] + 0.5)


def test_max_baseline_reproduces_the_peers_table_row(sources, tmp_path):
    """Our pixel-max baseline is the peers' classic_max: every metric matches their evaluator."""
    if not PEERS_CSV.is_file():
        pytest.skip(f"peers table not found at {PEERS_CSV}")
    from textif.metrics.baselines import write_baselines

    folders = write_baselines({STEM: (sources["vis"], sources["ir"])}, tmp_path, ["max"])
    got = evaluate_pair(folders["max"] / f"{STEM}.png", ir=sources["ir"], vis=sources["vis"])
    with open(PEERS_CSV, newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["method"] == "classic_max" and r["image"] == STEM)
    for name in DEFAULT_METRICS:
        info = metric_info(name)
        if info.display not in row:
            continue
        want = float(row[info.display])
        if name in ("niqe", "brisque"):
            assert abs(got[name] - want) <= NOREF_ABS_TOL, name
        else:
            assert got[name] == pytest.approx(want, rel=1e-4), name
