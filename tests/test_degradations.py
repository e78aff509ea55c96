"""Degradation synthesis: identity at 0, determinism, direction of change, dtype/device, registry."""
from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F

from textif.core.registry import UnknownNameError
from textif.data import degradations as D

VIS = D.VIS_DEGRADATIONS
IR = D.IR_DEGRADATIONS
ALL = VIS + IR
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _textured(b: int, c: int, h: int = 48, w: int = 48, seed: int = 0) -> torch.Tensor:
    """Smooth shapes plus fine texture, in [0.15, 0.85]."""
    g = torch.Generator().manual_seed(seed)
    coarse = F.interpolate(torch.rand(b, c, 6, 6, generator=g), size=(h, w), mode="bilinear", align_corners=False)
    fine = torch.rand(b, c, h, w, generator=g)
    return (0.15 + 0.5 * coarse + 0.2 * fine).clamp(0, 1)


def _img(name: str, b: int = 2) -> torch.Tensor:
    return _textured(b, 3 if name in VIS else 1)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _grad_energy(x: torch.Tensor) -> float:
    return float((x[..., 1:, :] - x[..., :-1, :]).pow(2).mean() + (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean())


def _hf_energy(x: torch.Tensor) -> float:
    """Energy of the 3x3 Laplacian response."""
    k = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=x.dtype).view(1, 1, 3, 3)
    y = F.conv2d(x.reshape(-1, 1, *x.shape[-2:]), k)
    return float(y.pow(2).mean())


def _add(name: str, x: torch.Tensor, s, seed: int = 0) -> torch.Tensor:
    return D.DEGRADATIONS.get(name).add_fn(x, s, generator=_gen(seed))


# ----------------------------------------------------------------------------- common behaviour


@pytest.mark.parametrize("name", ALL)
def test_severity_zero_is_identity(name: str) -> None:
    x = _img(name)
    assert torch.equal(_add(name, x, 0.0), x)


@pytest.mark.parametrize("name", ALL)
def test_seeded_determinism_and_range(name: str) -> None:
    info = D.DEGRADATIONS.get(name)
    x = _img(name)
    a, b = info.add_fn(x, 0.7, generator=_gen(3)), info.add_fn(x, 0.7, generator=_gen(3))
    assert torch.equal(a, b)
    ra, rb = info.random_fn(x, generator=_gen(5)), info.random_fn(x, generator=_gen(5))
    assert torch.equal(ra, rb)
    assert not torch.equal(ra, info.random_fn(x, generator=_gen(6)))  # severity/sub-parameters differ
    for out in (a, ra):
        assert out.shape == x.shape and out.dtype == x.dtype
        assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
        assert not torch.equal(out, x)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float16])
@pytest.mark.parametrize("device", DEVICES)
def test_dtype_and_device_follow_input(name: str, dtype: torch.dtype, device: str) -> None:
    x32 = _img(name)
    x = x32.to(device=device, dtype=dtype)
    out = _add(name, x, 0.5)
    assert out.dtype == dtype and out.device.type == device
    ref = _add(name, x32, 0.5)
    tol = 2e-2 if dtype == torch.float16 else 1e-4
    assert torch.allclose(out.float().cpu(), ref, atol=tol)


@pytest.mark.parametrize("name", ALL)
def test_unbatched_input_and_per_sample_severity(name: str) -> None:
    x = _img(name, b=2)
    single = _add(name, x[0], 0.5)
    assert single.shape == x[0].shape
    out = _add(name, x, torch.tensor([0.0, 0.8]))
    assert torch.equal(out[0], x[0])
    assert not torch.equal(out[1], x[1])


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "high", [0.2, 0.3, 0.4]])
def test_bad_severity_raises(bad) -> None:
    with pytest.raises(D.DegradationError, match="severity"):
        D.add_noise(_textured(2, 3), bad)


def test_bad_inputs_raise() -> None:
    with pytest.raises(D.DegradationError, match="floating-point"):
        D.add_noise(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), 0.5)
    with pytest.raises(D.DegradationError, match="shape"):
        D.add_noise(torch.zeros(8, 8), 0.5)
    with pytest.raises(D.DegradationError, match="channels"):
        D.add_noise(torch.zeros(1, 4, 8, 8), 0.5)
    with pytest.raises(D.DegradationError, match="generator"):
        D.add_noise(torch.zeros(1, 3, 8, 8), 0.5, generator=1)  # type: ignore[arg-type]
    with pytest.raises(D.DegradationError, match="blur kind"):
        D.add_blur(torch.zeros(1, 3, 8, 8), 0.5, kind="box")


# ----------------------------------------------------------------------------- direction of change

SEVERITIES = (0.0, 0.3, 0.6, 1.0)


def _series(name: str, metric, x: torch.Tensor, **kw) -> list[float]:
    fn = D.DEGRADATIONS.get(name).add_fn
    return [metric(fn(x, s, generator=_gen(0), **kw)) for s in SEVERITIES]


def _increasing(v: list[float]) -> bool:
    return all(b > a for a, b in zip(v, v[1:]))


def _decreasing(v: list[float]) -> bool:
    return all(b < a for a, b in zip(v, v[1:]))


def test_low_light_darkens() -> None:
    assert _decreasing(_series("low_light", lambda y: float(y.mean()), _textured(2, 3)))


def test_overexposure_brightens() -> None:
    assert _increasing(_series("overexposure", lambda y: float(y.mean()), _textured(2, 3)))


@pytest.mark.parametrize("name", ["noise", "ir_noise"])
def test_noise_raises_high_frequency_energy(name: str) -> None:
    x = _img(name)
    series = _series(name, _hf_energy, x)
    assert _increasing(series)
    mean_shift = abs(float(_add(name, x, 1.0).mean() - x.mean()))
    assert mean_shift < 0.01  # zero-mean noise


def test_ir_noise_fixed_pattern_and_drift_match_their_definitions() -> None:
    """Uncorrected-sensor marks: column offsets with deviation ``fixed_pattern`` x the noise
    deviation (rows half of it), and a black-level drift added as is."""
    x = torch.full((1, 1, 256, 256), 0.5)
    sigma = 0.5 * 40 / 255
    plain = D.add_ir_noise(x, 0.5, generator=_gen(1)) - x
    fpn = D.add_ir_noise(x, 0.5, generator=_gen(1), fixed_pattern=0.6) - x
    assert float(plain.mean(dim=2).std()) < 0.15 * sigma  # white noise averages out down a column
    assert float(fpn.mean(dim=2).std()) == pytest.approx(0.6 * sigma, rel=0.2)
    assert float(fpn.mean(dim=3).std()) == pytest.approx(0.3 * sigma, rel=0.25)
    drift = D.add_ir_noise(x, 0.5, generator=_gen(1), offset=0.12) - x
    assert float((drift - plain).mean()) == pytest.approx(0.12, abs=1e-4)
    assert torch.equal(D.add_ir_noise(x, 0.0, generator=_gen(1), offset=0.12), x)  # severity 0: untouched


def test_random_ir_noise_sometimes_carries_stripes() -> None:
    x = torch.full((1, 1, 96, 96), 0.5)
    col_dev = [float((D.random_add_ir_noise(x, generator=_gen(i), severity=0.6) - x).mean(dim=2).std())
               for i in range(16)]
    sigma = 0.6 * 40 / 255
    assert min(col_dev) < 0.25 * sigma and max(col_dev) > 0.4 * sigma  # some samples striped, some not
    plain = [float((D.random_add_ir_noise(x, generator=_gen(i), severity=0.6, sensor_marks=False) - x).mean(dim=2).std())
             for i in range(16)]
    assert max(plain) < 0.25 * sigma


@pytest.mark.parametrize("kind", D.BLUR_KINDS)
def test_blur_lowers_gradient_energy(kind: str) -> None:
    assert _decreasing(_series("blur", _grad_energy, _textured(2, 3), kind=kind))


def test_random_blur_draws_all_kinds() -> None:
    x = _textured(1, 3)
    outs = {D.random_add_blur(x, generator=_gen(i), severity=0.8).sum().item() for i in range(12)}
    assert len(outs) > 3
    assert all(_grad_energy(D.random_add_blur(x, generator=_gen(i))) < _grad_energy(x) for i in range(4))


def test_random_blur_kinds_restricts_the_kernel_and_keeps_the_draws() -> None:
    """``kinds=["gaussian"]`` gives exactly the Gaussian blur of the drawn severity; the severity is
    drawn as without the option, so a restricted stream blurs by the same amounts."""
    x = _textured(1, 3)
    for i in range(6):
        g = D.random_add_blur(x, generator=_gen(i), severity=(0.2, 0.9), kinds=["gaussian"])
        s = float(D._draw_severity((0.2, 0.9), 1, _gen(i), x, "blur")[0])
        torch.testing.assert_close(g, D.add_blur(x, s, kind="gaussian"))
    # through degrade_pair, the option reaches the blur only
    ir = _textured(1, 1)
    a = D.degrade_pair(x, ir, "blur+ir_noise", severity=0.6, generator=_gen(3),
                       random_options={"blur": {"kinds": ["motion"]}})
    b = D.degrade_pair(x, ir, "blur+ir_noise", severity=0.6, generator=_gen(3),
                       random_options={"blur": {"kinds": ["gaussian"]}})
    assert not torch.equal(a.vis, b.vis) and torch.equal(a.ir, b.ir)
    with pytest.raises(D.DegradationError, match="kinds must be a non-empty selection.*got \\['box'\\]"):
        D.random_add_blur(x, generator=_gen(0), kinds=["box"])


def test_haze_lowers_contrast_toward_airlight() -> None:
    x = _textured(2, 3)
    assert _decreasing(_series("haze", _grad_energy, x))
    assert _decreasing(_series("haze", lambda y: float(y.std()), x))
    top = [float(D.add_haze(x, s, generator=_gen(0))[..., :8, :].mean()) for s in SEVERITIES]
    assert _increasing(top) and top[-1] > 0.75  # far rows approach the airlight (0.9)


def test_rain_adds_bright_near_vertical_streaks() -> None:
    x = torch.full((1, 3, 96, 96), 0.3)
    assert _increasing(_series("rain", lambda y: float(y.mean()), x))
    r = D.add_rain(x, 1.0, generator=_gen(0), angle=90.0)[0, 0] - D.add_rain(x, 0.0)[0, 0]
    r = r - r.mean()
    vert = float((r[3:, :] * r[:-3, :]).mean())  # autocorrelation at a 3-pixel lag
    horiz = float((r[:, 3:] * r[:, :-3]).mean())
    assert vert > 0.5 * float((r * r).mean()) > 0.5 * 10 * horiz


def test_ir_low_contrast_lowers_std() -> None:
    assert _decreasing(_series("ir_low_contrast", lambda y: float(y.std()), _textured(2, 1)))


def test_ir_stripe_is_column_correlated() -> None:
    x = torch.full((1, 1, 64, 64), 0.5)
    stds = _series("ir_stripe", lambda y: float((y - x).std()), x)
    assert _increasing(stds)
    n = (D.add_ir_stripe(x, 1.0, generator=_gen(0)) - x)[0, 0]
    col_var = float(n.mean(dim=0).var())  # variance of column means
    row_var = float(n.mean(dim=1).var())  # variance of row means
    assert col_var > 20 * row_var
    h = (D.add_ir_stripe(x, 1.0, generator=_gen(0), orientation="horizontal") - x)[0, 0]
    assert float(h.mean(dim=1).var()) > 20 * float(h.mean(dim=0).var())


def test_low_light_noise_is_signal_dependent() -> None:
    x = torch.cat([torch.full((1, 3, 64, 64), 0.2), torch.full((1, 3, 64, 64), 0.9)])
    clean = D.add_low_light(x, 0.5, shot_noise=0.0, read_noise=0.0)
    noisy = D.add_low_light(x, 0.5, generator=_gen(0), read_noise=0.0)
    resid = (noisy - clean).flatten(1).std(1)
    assert resid[1] > 1.5 * resid[0]


# ----------------------------------------------------------------------------- registry, composites


def test_registry_contents() -> None:
    assert set(D.DEGRADATIONS.names()) == set(ALL)
    for name in ALL:
        modality, add_fn, random_fn, description = D.DEGRADATIONS.get(name)
        assert modality == ("vis" if name in VIS else "ir")
        assert callable(add_fn) and callable(random_fn) and description
    with pytest.raises(UnknownNameError, match="did you mean 'low_light'"):
        D.DEGRADATIONS.get("low_ligth")


def test_apply_degradation() -> None:
    x = _textured(1, 3)
    assert torch.equal(D.apply_degradation("haze", x, 0.4, _gen(1)), D.add_haze(x, 0.4, generator=_gen(1)))
    assert D.apply_degradation("blur+noise", x, 0.4, _gen(1)).shape == x.shape
    assert torch.equal(D.apply_degradation("fusion", x, 0.4), x)
    with pytest.raises(D.DegradationError, match="both modalities"):
        D.apply_degradation("low_light+ir_noise", x, 0.5)
    with pytest.raises(UnknownNameError, match="did you mean"):
        D.apply_degradation("hazee", x, 0.5)


def test_split_task_and_composites() -> None:
    assert D.split_task("fusion") == ()
    assert D.split_task("ir_noise+low_light") == ("low_light", "ir_noise")
    assert D.composite_name(["ir_noise", "low_light"]) == "low_light+ir_noise"
    with pytest.raises(D.DegradationError, match="cannot be combined"):
        D.split_task("low_light+overexposure")
    with pytest.raises(D.DegradationError, match="repeats"):
        D.split_task("noise+noise")
    assert len(D.COMPOSITES) == len(set(D.COMPOSITES)) > 20
    for c in D.COMPOSITES:
        assert D.composite_name(D.split_task(c)) == c and len(D.split_task(c)) == 2


@pytest.mark.parametrize("rng", ["torch", "python"])
def test_sample_composite(rng: str) -> None:
    make = (lambda: _gen(7)) if rng == "torch" else (lambda: random.Random(7))
    g1, g2 = make(), make()
    a = [D.sample_composite(g1) for _ in range(40)]
    assert a == [D.sample_composite(g2) for _ in range(40)]
    assert set(a) <= set(D.COMPOSITES)
    mods = [{D.modality_of(p) for p in D.split_task(t)} for t in a]
    assert any(len(m) == 2 for m in mods) and any(len(m) == 1 for m in mods)
    only_vis = D.sample_composite(make(), names=["noise", "blur"])
    assert only_vis == "blur+noise"
    with pytest.raises(D.DegradationError, match="no composite"):
        D.sample_composite(make(), names=["low_light", "overexposure"])


def test_degrade_pair_routes_by_modality() -> None:
    vis, ir = _textured(1, 3), _textured(1, 1, seed=1)
    out = D.degrade_pair(vis, ir, "low_light", severity=0.5, generator=_gen(0))
    assert torch.equal(out.ir, ir) and not torch.equal(out.vis, vis)
    assert out.severity == {"low_light": 0.5}
    out = D.degrade_pair(vis, ir, "ir_stripe+haze", severity=(0.2, 0.4), generator=_gen(0))
    assert not torch.equal(out.ir, ir) and not torch.equal(out.vis, vis)
    assert set(out.severity) == {"haze", "ir_stripe"} and all(0.2 <= s <= 0.4 for s in out.severity.values())
    again = D.degrade_pair(vis, ir, "ir_stripe+haze", severity=(0.2, 0.4), generator=_gen(0))
    assert torch.equal(again.vis, out.vis) and torch.equal(again.ir, out.ir)
    clean = D.degrade_pair(vis, ir, "fusion", generator=_gen(0))
    assert torch.equal(clean.vis, vis) and clean.severity == {}
    canon = D.degrade_pair(vis, ir, "noise", severity=0.3, generator=_gen(2), randomize=False)
    assert torch.equal(canon.vis, D.add_noise(vis, 0.3, generator=_gen(2)))


def test_severity_band() -> None:
    assert [D.severity_band(s) for s in (0.0, 0.34, 0.35, 0.69, 0.7, 1.0)] == [
        "mild", "mild", "moderate", "moderate", "severe", "severe"]
