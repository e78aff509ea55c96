from __future__ import annotations

from pathlib import Path

import pytest
import torch

from textif.core.errors import ModelNotFoundError
from textif.models import TextIFConfig, create_model, list_models
from textif.models.hub import from_pretrained, resolve_model, save_pretrained
from textif.models.layers import SIGM, _full_attention, chunked_attention, sigm_modulate
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
