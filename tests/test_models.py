from __future__ import annotations

from pathlib import Path

import pytest
import torch

from textif.core.errors import ModelNotFoundError
from textif.models import TextIFConfig, create_model, list_models, model_config
from textif.models.hub import from_pretrained, resolve_model, save_pretrained
from textif.models.layers import SIGM, LayerNorm2d, NAFBlock, _full_attention, chunked_attention, sigm_modulate, window_attention
from tests.conftest import randomize_text_path


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_presets_registered():
    assert {"textif-paper", "textif-base", "textif-small", "textif-tiny"} <= set(list_models())


def test_paper_preset_matches_official_size():
    # the official release: 63.8 M parameters (dim 48, blocks [2,2,2,2], 4 refinement blocks, dense FFN, 512-d text)
    n = n_params(create_model("textif-paper"))
    assert abs(n - 63.8e6) / 63.8e6 < 0.01, n


@pytest.mark.parametrize("name", ["textif-small", "textif-base", "textif-tiny"])
def test_forward_shape(name: str):
    net = create_model(name).eval()
    m = net.config.multiple
    vis, ir = torch.rand(2, 3, 2 * m, 3 * m), torch.rand(2, 1, 2 * m, 3 * m)
    with torch.no_grad():
        out = net(vis, ir, torch.randn(1, net.config.text_dim))
    assert out.shape == (2, 3, 2 * m, 3 * m) and torch.isfinite(out).all()


def test_forward_rejects_bad_sizes():
    net = create_model("textif-tiny")
    with pytest.raises(ValueError, match="multiples of 4"):
        net(torch.rand(1, 3, 10, 12), torch.rand(1, 1, 10, 12), torch.randn(1, 384))
    with pytest.raises(ValueError, match="expects 384"):
        net(torch.rand(1, 3, 16, 16), torch.rand(1, 1, 16, 16), torch.randn(1, 512))


@pytest.mark.parametrize("channels_last", [False, True])
def test_layer_norm_2d_normalises_each_pixel_over_channels(channels_last: bool):
    # Reference: the textbook per-pixel mean / biased variance over the channel axis, then the affine.
    g = torch.Generator().manual_seed(0)
    ln = LayerNorm2d(6)
    with torch.no_grad():
        ln.weight.copy_(torch.rand(6, generator=g) + 0.5)
        ln.bias.copy_(torch.randn(6, generator=g))
    x = torch.randn(2, 6, 5, 7, generator=g) * 3 + 1
    mu = x.mean(1, keepdim=True)
    var = ((x - mu) ** 2).mean(1, keepdim=True)
    ref = (x - mu) / torch.sqrt(var + 1e-5) * ln.weight.view(1, 6, 1, 1) + ln.bias.view(1, 6, 1, 1)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    out = ln(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_chunked_attention_equals_full():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 1, 300, 16, generator=g) for _ in range(3))
    ref = _full_attention(q, k, v)
    out = chunked_attention(q, k, v, max_elements=300 * 7)  # 7 queries per chunk
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_sigm_is_identity_at_init_and_modulates_after():
    x = torch.randn(2, 8, 5, 5)
    s = SIGM(16, 8, hidden=32)
    torch.testing.assert_close(s(x, torch.randn(2, 16)), x)
    gamma, beta = torch.full((1, 8), 0.5), torch.full((1, 8), -1.0)
    torch.testing.assert_close(sigm_modulate(x, gamma, beta), 1.5 * x - 1.0)


def test_save_and_load_roundtrip(tmp_path: Path):
    torch.manual_seed(0)
    net = randomize_text_path(create_model("textif-tiny")).eval()
    vis, ir, t = torch.rand(1, 3, 16, 20), torch.rand(1, 1, 16, 20), torch.randn(1, 384)
    save_pretrained(net, tmp_path / "c", name="tiny", text_encoder="minilm", training={"steps": 3},
                    text_cache={"hello": torch.ones(384)})
    ck = from_pretrained(tmp_path / "c")
    assert ck.trained and ck.training["steps"] == 3 and ck.text_encoder == "minilm"
    assert ck.model.config == net.config
    torch.testing.assert_close(ck.model(vis, ir, t), net(vis, ir, t))
    torch.testing.assert_close(ck.text_cache["hello"], torch.ones(384))
    # fp16 storage: half the bytes, outputs close
    save_pretrained(net, tmp_path / "h", dtype=torch.float16, training={})
    assert (tmp_path / "h" / "model.safetensors").stat().st_size < 0.6 * (tmp_path / "c" / "model.safetensors").stat().st_size
    torch.testing.assert_close(from_pretrained(tmp_path / "h").model(vis, ir, t), net(vis, ir, t), atol=2e-2, rtol=0)


def test_checkpoint_errors(tmp_path: Path):
    with pytest.raises(ModelNotFoundError, match="config.json missing"):
        from_pretrained(tmp_path)
    save_pretrained(create_model("textif-tiny"), tmp_path / "a")
    (tmp_path / "a" / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ModelNotFoundError, match="cannot read weights"):
        from_pretrained(tmp_path / "a")
    save_pretrained(create_model("textif-tiny", dim=16, attention_groups=16), tmp_path / "b")
    cfg = (tmp_path / "b" / "config.json").read_text().replace('"dim": 16', '"dim": 8')
    (tmp_path / "b" / "config.json").write_text(cfg.replace('"attention_groups": 16', '"attention_groups": 8'))
    with pytest.raises(ModelNotFoundError, match="do not match config.json"):
        from_pretrained(tmp_path / "b")
    with pytest.raises(ModelNotFoundError, match="model folder not found"):
        resolve_model("./no/such/dir")


def test_config_roundtrip_and_validation():
    cfg = create_model("textif-small").config
    assert TextIFConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown TextIFConfig fields"):
        TextIFConfig.from_dict({"dimension": 3})
    with pytest.raises(ValueError, match="same length"):
        TextIFConfig(blocks=(1, 1, 1), heads=(1, 1))


def test_checkpoint_format_version_is_checked(tmp_path: Path):
    import json

    save_pretrained(create_model("textif-tiny"), tmp_path / "c", name="textif-tiny")
    cfg_file = tmp_path / "c" / "config.json"
    meta = json.loads(cfg_file.read_text())
    assert meta["format_version"] == 1
    from_pretrained(tmp_path / "c")  # current format loads
    cfg_file.write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(ModelNotFoundError, match=r"config.json: checkpoint format 99 is newer than this textif reads \(1\); upgrade"):
        from_pretrained(tmp_path / "c")
    del meta["format_version"]
    cfg_file.write_text(json.dumps(meta))
    with pytest.raises(ModelNotFoundError, match="no format_version; not a checkpoint written by textif"):
        from_pretrained(tmp_path / "c")


# ------------------------------------------------------------------ window attention, detail path
def _tile_reference(q, k, v, window):
    """Attention computed tile by tile with explicit loops over the unpadded positions."""
    b, c, h, w = q.shape
    out = torch.zeros_like(q)
    for y0 in range(0, h, window):
        for x0 in range(0, w, window):
            sl = (slice(None), slice(None), slice(y0, y0 + window), slice(x0, x0 + window))
            qt, kt, vt = (t[sl].flatten(2).transpose(1, 2) for t in (q, k, v))  # (B, n, C)
            a = (qt @ kt.transpose(1, 2) / c**0.5).softmax(-1) @ vt
            out[sl] = a.transpose(1, 2).reshape(out[sl].shape)
    return out


@pytest.mark.parametrize("h,w", [(8, 8), (13, 19), (5, 3)])
def test_window_attention_against_a_tile_by_tile_reference(h, w):
    g = torch.Generator().manual_seed(h * w)
    q, k, v = (torch.randn(2, 6, h, w, generator=g) for _ in range(3))
    torch.testing.assert_close(window_attention(q, k, v, window=4), _tile_reference(q, k, v, 4), atol=1e-5, rtol=1e-5)


def test_window_attention_is_global_attention_when_the_map_fits_one_tile():
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(1, 8, 6, 7, generator=g) for _ in range(3))
    tok = lambda t: t.reshape(1, 1, 8, 42).transpose(-2, -1)  # noqa: E731
    ref = _full_attention(tok(q), tok(k), tok(v)).transpose(-2, -1).reshape(1, 8, 6, 7)
    torch.testing.assert_close(window_attention(q, k, v, window=8), ref, atol=1e-5, rtol=1e-5)


def test_naf_block_starts_as_the_identity_and_learns():
    x = torch.randn(2, 8, 9, 11)
    block = NAFBlock(8)
    torch.testing.assert_close(block(x), x)
    with torch.no_grad():
        block.beta.fill_(1.0)
        block.gamma.fill_(1.0)
    assert (block(x) - x).abs().mean() > 1e-3


@torch.no_grad()
def _train_detail_path(net) -> None:
    """Stand-in for training: no part of ``net``'s detail path is the identity any more."""
    net.detail.out.weight.normal_(0, 0.05)
    for block in net.detail.blocks:
        block.beta.fill_(0.5)
        block.gamma.fill_(0.5)
    for sigm in net.detail.sigm:
        sigm.mlp[-1].weight.normal_(0, 0.05)


def test_restore_preset_grown_from_small_starts_identical_and_costs_linear_attention():
    from textif.models.textif import grow_model, model_config

    torch.manual_seed(0)
    small = create_model("textif-small").eval()
    grown = grow_model(small, model_config("textif-restore")).eval()
    assert grown.detail is not None and grown.config.window == 8
    t = torch.randn(1, 384)
    with torch.no_grad():
        v, i = torch.rand(1, 3, 96, 128), torch.rand(1, 1, 96, 128)  # deepest level 6x8: one tile
        torch.testing.assert_close(grown(v, i, t), small(v, i, t), atol=1e-5, rtol=1e-5)
        # the detail path adds a text-dependent correction once trained
        _train_detail_path(grown)
        a, b = grown(v, i, t), grown(v, i, torch.randn(1, 384))
        assert (a - small(v, i, t)).abs().mean() > 1e-4 and (a - b).abs().mean() > 1e-5
    assert grow_model(small, model_config("textif-small", attention_max_elements=1 << 20)) is small
    with pytest.raises(ValueError, match="dim differ"):
        grow_model(small, model_config("textif-small", dim=32))
    with pytest.raises(ValueError, match="full_attention"):
        model_config("textif-restore", full_attention=True)


def test_a_detail_path_grows_deeper_but_not_wider_or_shallower():
    """More ``detail_blocks`` on a trained detail path: the new blocks go after the trained ones and
    start as the identity, so the deeper network computes exactly what its parent did."""
    from textif.models.textif import grow_model, model_config

    torch.manual_seed(0)
    fast = create_model("textif-fast").eval()
    _train_detail_path(fast)
    deep = grow_model(fast, model_config("textif-fast", detail_blocks=5)).eval()
    assert len(deep.detail.blocks) == 5 and len(deep.detail.sigm) == 5
    v, i, t = torch.rand(1, 3, 64, 96), torch.rand(1, 1, 64, 96), torch.randn(1, 384)
    with torch.no_grad():
        torch.testing.assert_close(deep(v, i, t), fast(v, i, t))
        deep.detail.blocks[4].beta.fill_(0.5)  # and the new blocks then learn
        assert (deep(v, i, t) - fast(v, i, t)).abs().max() > 1e-4
    for bad, field in (({"detail_blocks": 1}, "detail_blocks"), ({"detail_dim": 16}, "detail_dim"),
                       ({"detail_dim": 16, "detail_blocks": 4}, "detail_blocks, detail_dim")):
        with pytest.raises(ValueError, match=f"{field} differ.*only more detail_blocks"):
            grow_model(fast, model_config("textif-fast", **bad))


@pytest.mark.parametrize("sigma", [1.0, 2.0])
def test_band_pass_is_the_image_minus_its_gaussian_blur(sigma: float):
    """Against OpenCV's Gaussian blur with the same kernel size and mirrored borders."""
    cv2 = pytest.importorskip("cv2")
    import numpy as np

    from textif.models.textif import BandPass, band_pass

    torch.manual_seed(0)
    img = torch.rand(1, 3, 40, 56)
    k = 2 * int(3 * sigma + 0.5) + 1
    hwc = img[0].permute(1, 2, 0).numpy()
    ref = hwc - cv2.GaussianBlur(hwc, (k, k), sigma, borderType=cv2.BORDER_REFLECT_101)
    got = band_pass(img, sigma)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(got, ref, atol=1e-5)
    assert band_pass(torch.full((1, 1, 24, 24), 0.3), sigma).abs().max() < 1e-6  # flat: no detail
    both = BandPass((1.0, sigma))(img)
    assert both.shape == (1, 6, 40, 56)
    torch.testing.assert_close(both[:, 3:], band_pass(img, sigma))


def test_a_band_pass_head_grows_onto_a_trained_network_and_answers_the_text():
    """``sharpen_dim``: the head starts as the identity, so the grown network computes what its parent
    did; once trained it adds a correction that depends on the text and the visible detail. A
    trained head cannot be changed, and bad settings are refused."""
    from textif.models.textif import grow_model, model_config

    torch.manual_seed(0)
    fast = create_model("textif-fast").eval()
    _train_detail_path(fast)
    cfg = model_config("textif-fast", sharpen_dim=4, sharpen_layers=2)
    grown = grow_model(fast, cfg).eval()
    assert len(grown.sharpen.convs) == 2 and grown.sharpen.convs[0].in_channels == 3 * 3 + 1 + 3
    v, i, t = torch.rand(1, 3, 64, 96), torch.rand(1, 1, 64, 96), torch.randn(1, 384)
    with torch.no_grad():
        torch.testing.assert_close(grown(v, i, t), fast(v, i, t))
        grown.sharpen.out.weight.normal_(0, 0.1)
        for sigm in grown.sharpen.sigm:
            sigm.mlp[-1].weight.normal_(0, 0.1)
        a = grown(v, i, t)
        assert (a - fast(v, i, t)).abs().mean() > 1e-4
        assert (a - grown(v, i, torch.randn(1, 384))).abs().mean() > 1e-5
    assert TextIFConfig.from_dict(cfg.to_dict()) == cfg and cfg.to_dict()["sharpen_sigmas"] == [1.0, 2.0]
    with pytest.raises(ValueError, match="sharpen_dim differ"):
        grow_model(grown, model_config("textif-fast", sharpen_dim=8, sharpen_layers=2))
    with pytest.raises(ValueError, match=r"sharpen_layers >= 1 .*got 4, 0, \[1.0, 2.0\]"):
        model_config("textif-fast", sharpen_dim=4, sharpen_layers=0)
    with pytest.raises(ValueError, match=r"sharpen_sigmas > 0, got 4, 3, \[1.0, 0.0\]"):
        model_config("textif-fast", sharpen_dim=4, sharpen_sigmas=(1.0, 0.0))


def test_fast_preset_takes_the_body_of_restore_and_needs_multiples_of_32():
    from textif.models.textif import grow_model, model_config, transplant_weights

    torch.manual_seed(0)
    restore = grow_model(create_model("textif-small"), model_config("textif-restore"))
    fast, fresh = transplant_weights(restore, model_config("textif-fast"))
    cfg = fast.config
    assert (cfg.stem, cfg.window, cfg.detail_dim, cfg.multiple) == (4, 8, 8, 32)
    assert {k.split(".")[0] for k in fresh} == {"encoder_vis", "encoder_ir", "output", "detail"}
    body = {k: v for k, v in fast.state_dict().items() if k.startswith(("cross_attention.", "decoders.", "sigm."))}
    assert body and all(torch.equal(v, restore.state_dict()[k]) for k, v in body.items())
    with torch.no_grad():
        out = fast.eval()(torch.rand(1, 3, 64, 96), torch.rand(1, 1, 64, 96), torch.randn(1, 384))
    assert out.shape == (1, 3, 64, 96)
    with pytest.raises(ValueError, match="multiples of 32"):
        fast(torch.rand(1, 3, 48, 96), torch.rand(1, 1, 48, 96), torch.randn(1, 384))


def test_paper_preset_stays_faithful():
    cfg = model_config("textif-paper")
    assert (cfg.window, cfg.detail_dim, cfg.stem, cfg.sharpen_dim) == (0, 0, 1, 0)
    net = create_model("textif-paper")
    assert net.detail is None and net.sharpen is None
