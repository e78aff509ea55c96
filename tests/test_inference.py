from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

import textif
from textif.core.errors import SizeMismatchError, TextIFError, UntrainedModelError
from textif.inference.tiling import tiled_forward
from textif.ops.geometry import blend_window, pad_to_multiple, tile_starts
from tests.conftest import smooth_pair


def test_exact_size_at_odd_sizes(tiny_fuser):
    for h, w in [(97, 131), (5, 7), (64, 33)]:
        vis, ir = smooth_pair(h, w)
        out = tiny_fuser.fuse(vis, ir)
        assert out.shape == (h, w, 3) and out.dtype == np.float32
        assert 0.0 <= out.min() and out.max() <= 1.0


def test_returns_the_kind_it_was_given(tiny_fuser, tmp_path: Path):
    vis, ir = smooth_pair(40, 50)
    v8, i8 = (vis * 255).round().astype(np.uint8), (ir * 255).round().astype(np.uint8)
    assert tiny_fuser.fuse(v8, i8).dtype == np.uint8
    v16 = (vis * 65535).round().astype(np.uint16)
    out16 = tiny_fuser.fuse(v16, (ir * 65535).astype(np.uint16))
    assert out16.dtype == np.uint16 and out16.shape == (40, 50, 3)
    pil = tiny_fuser.fuse(Image.fromarray(v8), Image.fromarray(i8))
    assert isinstance(pil, Image.Image) and pil.size == (50, 40) and pil.mode == "RGB"
    cv2.imwrite(str(tmp_path / "v.png"), v8[..., ::-1])
    cv2.imwrite(str(tmp_path / "i.png"), (ir * 65535).astype(np.uint16))  # 16-bit infrared file
    from_paths = tiny_fuser.fuse(tmp_path / "v.png", tmp_path / "i.png")
    assert isinstance(from_paths, Image.Image) and from_paths.size == (50, 40)
    t = tiny_fuser.fuse(torch.from_numpy(vis).permute(2, 0, 1)[None].repeat(2, 1, 1, 1), torch.from_numpy(ir)[None, None].repeat(2, 1, 1, 1))
    assert isinstance(t, torch.Tensor) and t.shape == (2, 3, 40, 50)
    # 8-bit and 16-bit versions of the same image give (almost) the same fusion
    np.testing.assert_allclose(out16 / 65535.0, tiny_fuser.fuse(v8, i8) / 255.0, atol=3 / 255)


def test_gray_visible_gives_gray_output(tiny_fuser):
    vis, ir = smooth_pair(30, 30)
    out = tiny_fuser.fuse(vis.mean(-1), ir)
    assert out.shape == (30, 30)
    rgb_ir = np.repeat(ir[..., None], 3, axis=2)  # colour-stored infrared is used as luminance
    np.testing.assert_allclose(tiny_fuser.fuse(vis, rgb_ir), tiny_fuser.fuse(vis, ir), atol=1e-5)


def test_text_changes_output_and_is_deterministic(tiny_fuser):
    vis, ir = smooth_pair(48, 64)
    a = tiny_fuser.fuse(vis, ir, text="the visible image is too dark")
    b = tiny_fuser.fuse(vis, ir, text="the visible image is too dark")
    c = tiny_fuser.fuse(vis, ir, text="the infrared image has stripe noise")
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 1e-3
    # None, blank and the neutral prompt are the same thing
    np.testing.assert_array_equal(tiny_fuser.fuse(vis, ir), tiny_fuser.fuse(vis, ir, text="  "))


def test_tiled_matches_untiled_for_a_local_network():
    # a convolutional net whose receptive field (radius 3) fits inside the overlap: tiles must
    # reproduce the whole-image result except for the last few pixels at tile borders, whose
    # blend weights are small -- no seams
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(4, 8, 3, padding=1), torch.nn.GELU(), torch.nn.Conv2d(8, 8, 3, padding=1),
                              torch.nn.GELU(), torch.nn.Conv2d(8, 3, 3, padding=1))
    vis, ir = smooth_pair(150, 190)
    v = torch.from_numpy(vis).permute(2, 0, 1)[None]
    i = torch.from_numpy(ir)[None, None]
    fn = lambda a, b: net(torch.cat([a, b], 1))  # noqa: E731
    with torch.no_grad():
        whole = fn(v, i)
        tiled = tiled_forward(fn, v, i, multiple=8, tile=64, overlap=24)
    assert tiled.shape == whole.shape
    assert (tiled - whole).abs().max() < 1e-2 * whole.abs().max()


def test_tiled_matches_untiled_with_the_default_model(shared_data):
    from textif.inference.fuser import DEFAULT_MODEL
    from textif.models.hub import bundled_weights

    if bundled_weights(DEFAULT_MODEL) is None:
        pytest.skip("no trained default model shipped yet")
    fuser = textif.load(device="cpu")
    vis = shared_data / "RoadScene" / "vis" / "FLIR_00006.jpg"
    ir = shared_data / "RoadScene" / "ir" / "FLIR_00006.jpg"
    whole = np.asarray(fuser.fuse(vis, ir), dtype=np.float64)
    tiled = np.asarray(fuser.fuse(vis, ir, tile=256), dtype=np.float64)
    psnr = 10 * np.log10(255.0**2 / np.mean((whole - tiled) ** 2))
    assert psnr > 30, psnr


def test_tiled_forward_blends_identity_exactly():
    vis = torch.rand(1, 3, 70, 90)
    ir = torch.rand(1, 1, 70, 90)
    out = tiled_forward(lambda v, i: v * 0.5 + i * 0.25, vis, ir, multiple=8, tile=32, overlap=8)
    torch.testing.assert_close(out, vis * 0.5 + ir * 0.25)


def test_tile_geometry():
    assert tile_starts(100, 200, 16) == [0]
    starts = tile_starts(1000, 256, 32)
    assert starts[0] == 0 and starts[-1] == 1000 - 256
    assert all(b - a <= 256 - 32 for a, b in zip(starts, starts[1:]))
    w = blend_window(20, 30, 8, top=True, bottom=False, left=False, right=True)
    assert w.shape == (1, 1, 20, 30) and (w > 0).all() and w[0, 0, -1, 0] == 1
    x, size = pad_to_multiple(torch.rand(1, 1, 3, 5), 8)
    assert x.shape[-2:] == (8, 8) and size == (3, 5)


def test_size_mismatch_and_resize(tiny_fuser):
    vis, _ = smooth_pair(40, 60)
    _, ir = smooth_pair(20, 30)
    with pytest.raises(SizeMismatchError, match=r"visible .* is 60x40 but infrared .* is 30x20"):
        tiny_fuser.fuse(vis, ir)
    assert tiny_fuser.fuse(vis, ir, resize_ir_to_vis=True).shape == (40, 60, 3)


def test_bad_arguments(tiny_fuser, tiny_checkpoint):
    vis, ir = smooth_pair(16, 16)
    with pytest.raises(TextIFError, match=r"must be in \[0, 1\]"):
        tiny_fuser.fuse(vis * 255, ir)
    with pytest.raises(TextIFError, match="NaN"):
        tiny_fuser.fuse(np.full_like(vis, np.nan), ir)
    with pytest.raises(TextIFError, match="unsupported input type"):
        tiny_fuser.fuse([1, 2], ir)
    with pytest.raises(TextIFError, match="only supported on a GPU"):
        textif.load(str(tiny_checkpoint), device="cpu", precision="fp16")
    if not torch.cuda.is_available():
        with pytest.raises(TextIFError, match="no CUDA GPU"):
            textif.load(str(tiny_checkpoint), device="cuda")


def test_untrained_model_refuses():
    fuser = textif.load("textif-tiny", device="cpu")
    vis, ir = smooth_pair(16, 16)
    with pytest.raises(UntrainedModelError, match="no trained weights"):
        fuser.fuse(vis, ir)
