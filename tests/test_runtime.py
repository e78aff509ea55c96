"""The torch and ONNX Runtime backends, the ONNX export and its cache, input limits, progress,
and the inference seams of issue 14 (NaN inputs, umask, folder runs, devices, public checks)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import textif
from textif.cli.main import app
from textif.core.errors import ImageReadError, SizeMismatchError, TextIFError
from textif.inference.fuser import ImageTooLargeError
from textif.runtime.base import BackendError
from tests.conftest import REPO, png_header_only, smooth_pair

pytest.importorskip("onnxruntime", reason='the ONNX backend needs pip install "textif[onnx]"')
pytest.importorskip("onnx")

cli = CliRunner()
BACKENDS = ("torch", "onnx")


@pytest.fixture(scope="module")
def fusers(tiny_checkpoint: Path):
    return {b: textif.load(str(tiny_checkpoint), device="cpu", backend=b, progress=False) for b in BACKENDS}


def write_pair(folder: Path, stem: str, h: int, w: int, seed: int = 0) -> tuple[Path, Path]:
    (folder / "vis").mkdir(parents=True, exist_ok=True)
    (folder / "ir").mkdir(parents=True, exist_ok=True)
    vis, ir = smooth_pair(h, w, seed)
    v, i = folder / "vis" / f"{stem}.png", folder / "ir" / f"{stem}.png"
    cv2.imwrite(str(v), (vis[..., ::-1] * 255).astype(np.uint8))
    cv2.imwrite(str(i), (ir * 255).astype(np.uint8))
    return v, i


# ------------------------------------------------------------------ parity
def test_onnx_matches_torch_on_a_real_pair_with_the_default_model(shared_data: Path):
    from textif.inference.fuser import DEFAULT_MODEL
    from textif.models.hub import bundled_weights

    if bundled_weights(DEFAULT_MODEL) is None:
        pytest.skip("no trained default model shipped")
    from textif.core.io import read_image

    vis = read_image(shared_data / "RoadScene" / "vis" / "FLIR_00006.jpg", channels=3)
    ir = read_image(shared_data / "RoadScene" / "ir" / "FLIR_00006.jpg", channels=1)
    tf = textif.load(device="cpu", backend="torch", progress=False)
    of = textif.load(device="cpu", backend="onnx", progress=False)
    assert (tf.backend, of.backend) == ("torch", "onnx")
    for (h, w), text in [((vis.shape[0], vis.shape[1]), None), ((131, 97), "the visible image is too dark"),
                         ((75, 203), None)]:  # the full frame, then odd crops
        v, i = vis[:h, :w], ir[:h, :w]
        if True:
            a, b = tf.fuse(v, i, text), of.fuse(v, i, text)
            assert a.shape == (h, w, 3)
            assert np.abs(a - b).max() <= 1e-4, (h, w, text, np.abs(a - b).max())
    # the raw network at a padded size, against the export, without the pipeline around it
    from textif.runtime.onnx_backend import OnnxRunner

    rng = np.random.default_rng(0)
    x, y, t = rng.random((1, 3, 96, 160), np.float32), rng.random((1, 1, 96, 160), np.float32), tf.embedding("haze")
    with torch.no_grad():
        ref = tf.checkpoint.model(torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(t)).numpy()
    assert isinstance(of.runner, OnnxRunner)
    assert np.abs(of.runner(x, y, t) - ref).max() <= 1e-4


def test_backends_agree_on_tiles_gray_16_bit_and_tensors(fusers, tmp_path: Path):
    vis, ir = smooth_pair(150, 211, seed=3)
    outs = {b: f.fuse(vis, ir, "the infrared image is noisy", tile=64) for b, f in fusers.items()}
    assert outs["torch"].shape == (150, 211, 3)
    assert np.abs(outs["torch"] - outs["onnx"]).max() <= 1e-4
    gray = {b: f.fuse(vis.mean(-1), ir) for b, f in fusers.items()}
    assert gray["torch"].shape == (150, 211) and np.abs(gray["torch"] - gray["onnx"]).max() <= 1e-4
    v, i = write_pair(tmp_path, "a", 61, 77)
    raw = {}
    for b, f in fusers.items():
        f.fuse_file(v, i, tmp_path / f"{b}.png", bit_depth=16)
        raw[b] = cv2.imread(str(tmp_path / f"{b}.png"), cv2.IMREAD_UNCHANGED).astype(np.int64)
        assert raw[b].dtype == np.int64 and raw[b].shape == (61, 77, 3)
    assert np.abs(raw["torch"] - raw["onnx"]).max() <= 7  # 1e-4 of 65535
    tv = torch.from_numpy(vis).permute(2, 0, 1)[None]
    ti = torch.from_numpy(ir)[None, None]
    tt = {b: f.fuse_tensor(tv, ti, None) for b, f in fusers.items()}
    assert all(isinstance(t, torch.Tensor) and t.shape == (1, 3, 150, 211) for t in tt.values())
    assert (tt["torch"] - tt["onnx"]).abs().max() <= 1e-4


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_errors_on_both_backends(fusers, backend: str, tmp_path: Path):
    f = fusers[backend]
    vis, _ = smooth_pair(40, 60)
    _, ir = smooth_pair(20, 30)
    with pytest.raises(SizeMismatchError, match=r"visible .* is 60x40 but infrared .* is 30x20"):
        f.fuse(vis, ir)
    with pytest.raises(TextIFError, match="NaN"):
        f.fuse(np.full_like(vis, np.nan), vis.mean(-1))
    (tmp_path / "bad.png").write_bytes(b"not an image")
    v, i = write_pair(tmp_path, "a", 40, 60)
    with pytest.raises(ImageReadError, match=r"bad.png: not a readable image"):
        f.fuse_file(v, tmp_path / "bad.png", tmp_path / "o.png")


# ------------------------------------------------------------------ export and its cache
def test_export_is_cached_by_weights_hash(tiny_checkpoint: Path, tmp_path: Path, monkeypatch):
    import textif.runtime.onnx_backend as ob

    monkeypatch.setenv("TEXTIF_CACHE_DIR", str(tmp_path / "cache"))
    calls = []
    real = ob.export_onnx
    monkeypatch.setattr(ob, "export_onnx", lambda *a, **k: calls.append(1) or real(*a, **k))
    f1 = textif.load(str(tiny_checkpoint), device="cpu", backend="onnx", progress=False)
    exports = list((tmp_path / "cache" / "onnx").glob("*/model.onnx"))
    assert len(calls) == 1 and len(exports) == 1
    assert exports[0].parent.name.startswith(f1._info.weights_key[:32])
    f2 = textif.load(str(tiny_checkpoint), device="cpu", backend="auto", progress=False)
    assert len(calls) == 1 and f2.backend == "onnx"  # the second use does not export again
    # other weights, other export
    from textif.models.hub import from_pretrained, save_pretrained

    ck = from_pretrained(tiny_checkpoint)
    with torch.no_grad():
        ck.model.output[0].weight.mul_(0.5)
    other = save_pretrained(ck.model, tmp_path / "other", name="other", training={"steps": 1})
    textif.load(str(other), device="cpu", backend="onnx", progress=False)
    assert len(calls) == 2 and len(list((tmp_path / "cache" / "onnx").glob("*/model.onnx"))) == 2
    # a damaged cache entry is made again, not fatal
    exports[0].write_bytes(b"garbage")
    for opt in exports[0].parent.glob("*.opt.onnx"):
        opt.unlink()
    f3 = textif.load(str(tiny_checkpoint), device="cpu", backend="onnx", progress=False)
    assert len(calls) == 3 and f3.backend == "onnx"


def test_bad_onnx_file_is_a_clear_error(tmp_path: Path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07 this is not a protobuf")
    with pytest.raises(BackendError, match=r"bad.onnx: not a usable ONNX model"):
        textif.load(str(bad), device="cpu")
    v, i = write_pair(tmp_path, "a", 32, 32)
    r = cli.invoke(app, ["fuse", "--vis", str(v), "--ir", str(i), "-o", str(tmp_path / "o.png"), "--model", str(bad)])
    assert r.exit_code == 2 and "bad.onnx: not a usable ONNX model" in r.output and "Traceback" not in r.output
    with pytest.raises(BackendError, match="ONNX file not found"):
        textif.load(str(tmp_path / "missing.onnx"))


def test_export_cli_and_fusing_the_file(tiny_checkpoint: Path, fusers, tmp_path: Path):
    out = tmp_path / "tiny.onnx"
    r = cli.invoke(app, ["export", "--model", str(tiny_checkpoint), "--format", "onnx", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "dynamic height and width" in r.output and out.is_file()
    f = textif.load(str(out), device="cpu", progress=False)
    assert f.backend == "onnx" and f.name == "textif-tiny" and f.multiple == fusers["torch"].multiple
    vis, ir = smooth_pair(45, 67)
    np.testing.assert_allclose(f.fuse(vis, ir, "rain"), fusers["torch"].fuse(vis, ir, "rain"), atol=1e-4)
    r = cli.invoke(app, ["export", "--model", "textif-tiny", "-o", str(tmp_path / "x.onnx")])
    assert r.exit_code == 2 and "no trained weights" in r.output


def test_a_model_that_does_not_export_falls_back_or_explains(tiny_checkpoint: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TEXTIF_CACHE_DIR", str(tmp_path / "cache"))

    def broken(*a, **k):
        raise RuntimeError("Exporting the operator 'aten::chunked_loop' is not supported")

    monkeypatch.setattr(torch.onnx, "export", broken)
    with pytest.raises(BackendError, match=r"does not export to ONNX \(RuntimeError: Exporting the operator"):
        textif.load(str(tiny_checkpoint), device="cpu", backend="onnx", progress=False)
    assert textif.load(str(tiny_checkpoint), device="cpu", backend="auto", progress=False).backend == "torch"


def test_without_onnxruntime_auto_is_torch_and_onnx_says_what_to_install(tiny_checkpoint: Path, monkeypatch):
    import textif.runtime.onnx_backend as ob

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    monkeypatch.setattr(ob, "onnxruntime_available", lambda: False)
    assert textif.load(str(tiny_checkpoint), device="cpu", progress=False).backend == "torch"
    with pytest.raises(BackendError, match=r'needs ONNX Runtime: pip install "textif\[onnx\]"'):
        textif.load(str(tiny_checkpoint), device="cpu", backend="onnx", progress=False)


def test_backend_choice_errors(tiny_checkpoint: Path):
    with pytest.raises(BackendError, match="unknown backend 'tensorrt'"):
        textif.load(str(tiny_checkpoint), backend="tensorrt")
    if not torch.cuda.is_available():
        with pytest.raises(TextIFError, match="no CUDA GPU"):
            textif.load(str(tiny_checkpoint), device="cuda", backend="onnx")


# ------------------------------------------------------------------ the fast path imports little
def _warm_caches(checkpoint: Path) -> None:
    """What a fresh process finds on disk after a first use: the ONNX export and the neutral sentence."""
    from textif.data.prompts import NEUTRAL_PROMPT
    from textif.models.text import get_text_encoder

    textif.load(str(checkpoint), device="cpu", backend="onnx", progress=False)
    enc = get_text_encoder("minilm")
    enc._write_disk(NEUTRAL_PROMPT, enc.encode([NEUTRAL_PROMPT])[0])


def test_onnx_file_path_never_imports_torch_and_torch_path_no_lightning(tiny_checkpoint: Path, tmp_path: Path):
    v, i = write_pair(tmp_path, "a", 48, 64)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    _warm_caches(tiny_checkpoint)
    code = (
        "import sys, textif\n"
        "f = textif.load(sys.argv[1], device='cpu', backend=sys.argv[2], progress=False)\n"
        "f.fuse_file(sys.argv[3], sys.argv[4], sys.argv[5])\n"
        "print(' '.join(m for m in ('torch', 'lightning', 'transformers') if m in sys.modules))\n"
    )
    for backend, forbidden in (("onnx", {"torch", "lightning", "transformers"}), ("torch", {"lightning", "transformers"})):
        p = subprocess.run([sys.executable, "-c", code, str(tiny_checkpoint), backend, str(v), str(i), str(tmp_path / f"{backend}.png")],
                           capture_output=True, text=True, env=env, timeout=300)
        assert p.returncode == 0, p.stderr
        assert not forbidden & set(p.stdout.split()), (backend, p.stdout)


# ------------------------------------------------------------------ limits and progress
def test_huge_inputs_are_refused_from_the_header(fusers, tmp_path: Path):
    huge = png_header_only(tmp_path / "huge.png", 15000, 15000)
    _, i = write_pair(tmp_path, "a", 32, 32)
    for f in fusers.values():
        with pytest.raises(ImageTooLargeError, match=r"huge.png is about 225 MP, over the limit of 100 MP .*--max-megapixels"):
            f.fuse_file(huge, i, tmp_path / "o.png")
    r = cli.invoke(app, ["fuse", "--vis", str(huge), "--ir", str(i), "-o", str(tmp_path / "o.png"),
                         "--model", str(fusers["torch"].model_path)])
    assert r.exit_code == 2 and "225 MP" in r.output and "--max-megapixels" in r.output
    r = cli.invoke(app, ["fuse", "--vis", str(huge), "--ir", str(i), "-o", str(tmp_path / "o.png"),
                         "--model", str(tmp_path / "no-such-model")])
    assert r.exit_code == 2 and "225 MP" in r.output  # refused before any model is loaded
    mid = png_header_only(tmp_path / "mid.png", 12000, 10000)  # under PIL's bomb limit: exact size named
    with pytest.raises(ImageTooLargeError, match=r"mid.png is 12000x10000 \(120 MP\)"):
        fusers["onnx"].fuse_file(mid, i, tmp_path / "o.png")
    small = textif.load(str(fusers["torch"].model_path), device="cpu", max_megapixels=0.001, progress=False)
    vis, ir = smooth_pair(40, 50)
    with pytest.raises(ImageTooLargeError, match=r"visible array is 50x40 \(0.002 MP\), over the limit of 0.001 MP"):
        small.fuse(vis, ir)
    r = cli.invoke(app, ["fuse", "--vis", str(tmp_path / "vis/a.png"), "--ir", str(i), "-o", str(tmp_path / "o.png"),
                         "--model", str(fusers["torch"].model_path), "--max-megapixels", "0.0005"])
    assert r.exit_code == 2 and "32x32 (0.00102 MP), over the limit of 0.0005 MP" in r.output


def test_cold_cli_refuses_a_huge_pair_and_fuses_with_onnx_without_importing_torch(tiny_checkpoint: Path, tmp_path: Path):
    """The command line itself (not only the API) keeps torch out of the ONNX Runtime path and of the
    refusal of a huge pair: what a cold ``textif fuse`` costs is mostly imports."""
    huge = png_header_only(tmp_path / "huge.png", 15000, 15000)
    v, i = write_pair(tmp_path, "a", 48, 64)
    _warm_caches(tiny_checkpoint)
    code = (
        "import sys\n"
        "from textif.cli.main import main\n"
        "sys.argv = ['textif', 'fuse', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\nelse:\n    code = 0\n"
        "print('EXIT', code, ' '.join(m for m in ('torch', 'lightning', 'transformers') if m in sys.modules))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    messages = {}
    for vis, expect in ((huge, "EXIT 2"), (v, "EXIT 0")):
        p = subprocess.run([sys.executable, "-c", code, "--vis", str(vis), "--ir", str(i), "-o", str(tmp_path / "o.png"),
                            "--model", str(tiny_checkpoint), "--backend", "onnx", "-q"],
                           capture_output=True, text=True, env=env, timeout=300)
        last = p.stdout.strip().splitlines()[-1]
        assert last.split()[:2] == expect.split(), (p.stdout, p.stderr)
        assert last.split()[2:] == [], f"imported {last.split()[2:]} ({vis.name})"
        messages[vis.name] = p.stdout + p.stderr
    assert "225 MP" in messages["huge.png"] and (tmp_path / "o.png").is_file()


def test_tiled_fusion_shows_progress(tiny_checkpoint: Path, capsys):
    f = textif.load(str(tiny_checkpoint), device="cpu", backend="torch", progress=True)
    vis, ir = smooth_pair(150, 150)
    f.fuse(vis, ir, tile=64)
    err = capsys.readouterr().err
    from textif.inference.tiling import tile_grid

    ys, xs = tile_grid(150, 150, 64, f.tile_overlap)
    assert "fusing 150x150 in tiles" in err and f"0/{len(ys) * len(xs)}" in err
    assert f.will_tile(150, 150, 64) and not f.will_tile(150, 150) and f.will_tile(2000, 2000)
    quiet = textif.load(str(tiny_checkpoint), device="cpu", backend="torch", progress=False)
    quiet.fuse(vis, ir, tile=64)
    assert "tiles" not in capsys.readouterr().err


# ------------------------------------------------------------------ torch path internals
def test_torch_runner_matches_the_plain_network(tiny_checkpoint: Path):
    from textif.models.hub import from_pretrained
    from textif.runtime.torch_backend import TorchRunner

    net = from_pretrained(tiny_checkpoint).model
    plain = from_pretrained(tiny_checkpoint).model
    r = TorchRunner(net, torch.device("cpu"))
    g = torch.Generator().manual_seed(0)
    v, i = torch.rand(2, 3, 32, 48, generator=g), torch.rand(2, 1, 32, 48, generator=g)
    for t in (torch.randn(1, 384, generator=g), torch.randn(1, 384, generator=g)):  # a new sentence re-modulates
        with torch.no_grad():
            ref = plain(v, i, t.expand(2, -1))
        torch.testing.assert_close(r(v, i, t), ref, atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(r(v.numpy(), i.numpy(), t.numpy()), ref.numpy(), atol=1e-5)
    assert "forward" not in vars(net.sigm[0].mlp)  # the network is left as it was


def test_numpy_tiling_helpers_match_the_torch_ones():
    from textif.inference import tiling
    from textif.inference.tiling import _window, pad_to_multiple_np
    from textif.ops.geometry import blend_window, pad_to_multiple, tile_starts

    assert tiling.tile_starts is tile_starts  # one torch-free tile geometry serves both paths
    w = blend_window(20, 30, 8, top=True, bottom=False, left=False, right=True)[0, 0].numpy()
    np.testing.assert_allclose(_window(20, 30, 8, True, False, False, True), w, atol=1e-7)
    for shape in [(1, 3, 37, 50), (1, 1, 3, 5)]:
        x = torch.rand(*shape)
        np.testing.assert_array_equal(pad_to_multiple_np(x.numpy(), 8), pad_to_multiple(x, 8)[0].numpy())


def test_torch_free_copies_agree_with_their_sources(tiny_checkpoint: Path, tmp_path: Path, monkeypatch):
    from textif.data.prompts import NEUTRAL_PROMPT
    from textif.inference import fuser as fuser_mod
    from textif.models import list_models, model_config
    from textif.models.text import CachedTextEncoder, cache_dir
    from textif.runtime.base import ModelInfo, cache_root

    assert fuser_mod.NEUTRAL_PROMPT == NEUTRAL_PROMPT
    assert cache_root() == cache_dir()
    info = ModelInfo.from_folder(tiny_checkpoint)
    assert info is not None and info.multiple == model_config("textif-tiny").multiple
    for name in list_models():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"")
        import json

        (folder / "config.json").write_text(json.dumps({"config": model_config(name).to_dict()}))
        assert ModelInfo.from_folder(folder).multiple == model_config(name).multiple
    # an embedding the text encoder cached on disk is found without the encoder
    monkeypatch.setenv("TEXTIF_CACHE_DIR", str(tmp_path / "c"))
    from textif.models.text import get_text_encoder

    enc = get_text_encoder("minilm")
    fake = CachedTextEncoder("minilm", 384, lambda: None, key=enc._key)
    e = torch.randn(384)
    fake._write_disk("a sentence nobody encoded", e)
    got = fuser_mod._disk_cached_embedding("minilm", None, "a sentence nobody encoded", 384)
    np.testing.assert_array_equal(got, e.numpy())


# ------------------------------------------------------------------ issue 14 seams
def test_nan_in_a_float_tiff_is_refused_naming_the_file(fusers, tmp_path: Path):
    vis, ir = smooth_pair(24, 24)
    bad = vis.mean(-1).astype(np.float32)
    bad[3, 4] = np.nan
    cv2.imwrite(str(tmp_path / "nan.tiff"), bad)
    cv2.imwrite(str(tmp_path / "ir.png"), (ir * 255).astype(np.uint8))
    from PIL import Image

    for f in fusers.values():
        with pytest.raises(ImageReadError, match=r"nan.tiff: contains NaN"):
            f.fuse_file(tmp_path / "nan.tiff", tmp_path / "ir.png", tmp_path / "o.png")
        with pytest.raises(TextIFError, match="visible PIL image contains NaN"):
            f.fuse(Image.fromarray(bad, mode="F"), ir)
        with pytest.raises(TextIFError, match="visible tensor contains NaN"):
            f.fuse(torch.from_numpy(bad)[None, None], torch.from_numpy(ir)[None, None])


def test_atomic_write_never_touches_the_umask(tmp_path: Path, monkeypatch):
    from textif.core.io import write_image, write_text_atomic

    old = os.umask(0o027)
    try:
        def no_umask(*a):
            raise AssertionError("os.umask called while writing")

        monkeypatch.setattr(os, "umask", no_umask)
        p = write_image(tmp_path / "a.png", np.zeros((4, 5, 3), np.float32))
        q = write_text_atomic(tmp_path / "b.txt", "hello")
    finally:
        monkeypatch.undo()
        os.umask(old)
    assert (p.stat().st_mode & 0o777) == 0o640 and (q.stat().st_mode & 0o777) == 0o640
    assert not list(tmp_path.glob(".*.tmp"))


def test_folder_run_goes_on_past_an_unexpected_error(tiny_checkpoint: Path, tmp_path: Path):
    for k, stem in enumerate("abc"):
        write_pair(tmp_path, stem, 32, 40, seed=k)
    f = textif.load(str(tiny_checkpoint), device="cpu", backend="torch", progress=False)
    real = f.runner
    calls = []

    def flaky(v, i, t):
        calls.append(1)
        if len(calls) == 2:
            raise MemoryError()
        if len(calls) == 3:
            raise RuntimeError("CUDA error: an illegal memory access\nmore details")
        return real(v, i, t)

    f.runner = flaky
    rep = f.fuse_folder(tmp_path / "vis", tmp_path / "ir", tmp_path / "out", progress=False)
    assert [p.name for p in rep.written] == ["a.png"]
    msgs = dict(rep.failed)
    assert msgs["b"].endswith("b.png: fusion failed (out of memory)")
    assert msgs["c"].endswith("c.png: fusion failed (RuntimeError: CUDA error: an illegal memory access)")


def test_tensor_results_come_back_on_the_input_device(fusers):
    from textif.inference.fuser import _as_output, _Input

    meta = _Input(torch.zeros(1), "tensor", False, torch.float32, "visible tensor", device=torch.device("meta"))
    for out in (np.zeros((1, 3, 4, 4), np.float32), torch.zeros(1, 3, 4, 4)):
        assert _as_output(out, meta).device.type == "meta"
    vis, ir = smooth_pair(16, 16)
    t = fusers["onnx"].fuse(torch.from_numpy(vis).permute(2, 0, 1)[None], torch.from_numpy(ir)[None, None])
    assert t.device.type == "cpu"
    if torch.cuda.is_available():  # pragma: no cover - CPU machines
        g = textif.load(str(fusers["torch"].model_path), device="cpu", backend="torch", progress=False)
        out = g.fuse(torch.from_numpy(vis).permute(2, 0, 1)[None].cuda(), torch.from_numpy(ir)[None, None].cuda())
        assert out.is_cuda


def test_public_checks_replace_the_private_ones():
    f = textif.load("textif-tiny", device="cpu", backend="torch", progress=False)
    with pytest.raises(TextIFError, match="no trained weights"):
        f.check_trained()
    assert f.tile_size(100, 100) is None and f.tile_size(2000, 2000) == 1024 and f.tile_size(100, 100, 64) == 64
    assert f.will_tile(2000, 1000, 4096) and f.tile_count(2000, 1000, 4096) == 1 and f.tile_count(2000, 2000) == 9
    web = (REPO / "textif" / "web" / "app.py").read_text()
    service = web.split("class FusionService")[1].split("def bundled_examples")[0]
    assert "_check_trained" not in web and "fuser.max_pixels" not in service and "will_tile" in service
