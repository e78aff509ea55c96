"""Fusion losses: values against outside references (hand-computed values on tiny arrays,
scikit-image's SSIM, SciPy's Sobel filter, the BT.601 definition of Cb/Cr, the paper's weight
table), zero where expected, gradcheck, per-task weights; and smoke tests (module == function).

Outside reference per loss:

* ``intensity_loss``: hand-computed value on a 2x2 image (``test_intensity_loss_hand_computed``);
* ``ssim_loss``: :func:`skimage.metrics.structural_similarity` (Gaussian window, sigma 1.5);
* ``gradient_loss``: :func:`scipy.ndimage.sobel` with a replicated border;
* ``color_loss``: hand-computed BT.601 Cb/Cr differences of pure colours;
* ``textif_loss``: the weight table of the paper / official release (``test_weight_table``) and the
  weighted sum of the four terms above (``test_total_uses_per_sample_task_weights``).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from textif.core.registry import UnknownNameError
from textif.losses import (
    LOSS_TERMS,
    TASK_WEIGHTS,
    ColorLoss,
    GradientLoss,
    IntensityLoss,
    LossInputError,
    LossWeights,
    SSIMLoss,
    TextIFLoss,
    color_loss,
    gradient_loss,
    intensity_loss,
    loss_weights,
    ssim_loss,
    textif_loss,
    weights_tensor,
)
from textif.ops.color import chroma, luminance

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _batch(b: int = 2, h: int = 24, w: int = 24, seed: int = 0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    fused = torch.rand(b, 3, h, w, generator=g, dtype=dtype)
    ir = torch.rand(b, 1, h, w, generator=g, dtype=dtype)
    vis = torch.rand(b, 3, h, w, generator=g, dtype=dtype)
    return fused, ir, vis


def test_color_helpers() -> None:
    x = torch.rand(2, 3, 5, 5)
    y = luminance(x)
    assert y.shape == (2, 1, 5, 5)
    assert torch.allclose(y, 0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:])
    gray = y.expand(-1, 3, -1, -1)
    assert torch.allclose(chroma(gray), torch.full((2, 2, 5, 5), 0.5), atol=1e-6)
    assert torch.equal(chroma(y), torch.full((2, 2, 5, 5), 0.5))


def test_zero_where_expected() -> None:
    fused, ir, vis = _batch()
    assert float(color_loss(vis, vis)) == 0.0
    # intensity: a gray image equal to max(Y(vis), ir)
    target = torch.maximum(luminance(vis), ir).expand(-1, 3, -1, -1)
    assert float(intensity_loss(target, ir, vis)) < 1e-6
    assert float(intensity_loss(vis, torch.zeros_like(ir), vis)) < 1e-6
    # SSIM: identical luminance -> 0; the infrared term only counts with delta_ir
    assert float(ssim_loss(vis, ir, vis, 0.0)) < 1e-6
    assert float(ssim_loss(vis, luminance(vis), vis, 1.0)) < 1e-6
    assert float(ssim_loss(vis, ir, vis, 1.0)) > 0.1
    # gradient: when one source is flat the max-gradient image is the other source
    flat_ir = torch.full_like(ir, 0.3)
    assert float(gradient_loss(vis, flat_ir, vis)) < 1e-6
    flat_vis = torch.full_like(vis, 0.4)
    assert float(gradient_loss(ir.expand(-1, 3, -1, -1), ir, flat_vis)) < 1e-6
    assert float(gradient_loss(flat_vis, ir, vis)) > 0.1


def test_gradient_loss_prefers_the_stronger_edges() -> None:
    x = torch.linspace(0, 1, 16).view(1, 1, 1, 16).expand(1, 1, 16, 16)
    strong, weak = x.expand(1, 3, -1, -1).contiguous(), 0.3 * x
    assert float(gradient_loss(strong, weak, strong)) < 1e-6  # strong visible edges are the target
    assert float(gradient_loss(weak.expand(1, 3, -1, -1), weak, strong)) > 0.1


def test_reduction_and_per_sample_values() -> None:
    fused, ir, vis = _batch(b=3)
    for fn in (lambda **k: intensity_loss(fused, ir, vis, **k), lambda **k: ssim_loss(fused, ir, vis, **k),
               lambda **k: gradient_loss(fused, ir, vis, **k), lambda **k: color_loss(fused, vis, **k)):
        per = fn(reduction="none")
        assert per.shape == (3,)
        assert torch.allclose(fn(), per.mean()) and torch.allclose(fn(reduction="sum"), per.sum())
    per = intensity_loss(fused, ir, vis, reduction="none")
    assert torch.allclose(per[1], intensity_loss(fused[1:2], ir[1:2], vis[1:2]))
    d = torch.tensor([0.0, 1.0, 2.0])
    per_d = ssim_loss(fused, ir, vis, d, reduction="none")
    for i in range(3):
        assert torch.allclose(per_d[i], ssim_loss(fused[i:i + 1], ir[i:i + 1], vis[i:i + 1], float(d[i])))


def test_gradcheck_float64() -> None:
    fused, ir, vis = _batch(b=2, h=7, w=7, seed=1, dtype=torch.float64)
    fused.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda f: intensity_loss(f, ir, vis), (fused,))
    assert torch.autograd.gradcheck(lambda f: ssim_loss(f, ir, vis, 0.5, window_size=5), (fused,))
    assert torch.autograd.gradcheck(lambda f: gradient_loss(f, ir, vis), (fused,))
    assert torch.autograd.gradcheck(lambda f: color_loss(f, vis), (fused,))
    assert torch.autograd.gradcheck(
        lambda f: textif_loss(f, ir, vis, ["low_light", "overexposure+ir_noise"], window_size=5)[0], (fused,))


def test_smoke_modules_equal_functions() -> None:
    """Smoke test: each ``nn.Module`` is a thin wrapper of its function (the values themselves are
    checked against outside references in the ``*_hand_computed`` / ``*_matches_*`` tests)."""
    fused, ir, vis = _batch()
    assert torch.equal(IntensityLoss()(fused, ir, vis), intensity_loss(fused, ir, vis))
    assert torch.equal(SSIMLoss(delta_ir=0.3)(fused, ir, vis), ssim_loss(fused, ir, vis, 0.3))
    assert torch.equal(SSIMLoss()(fused, ir, vis, 0.7), ssim_loss(fused, ir, vis, 0.7))
    assert torch.equal(GradientLoss(reduction="none")(fused, ir, vis), gradient_loss(fused, ir, vis, reduction="none"))
    assert torch.equal(ColorLoss()(fused, vis), color_loss(fused, vis))
    tasks = ["low_light", "ir_noise"]
    m_total, m_terms = TextIFLoss()(fused, ir, vis, tasks)
    f_total, f_terms = textif_loss(fused, ir, vis, tasks)
    assert torch.equal(m_total, f_total)
    assert m_terms.keys() == f_terms.keys() == {"intensity", "ssim", "gradient", "color"}


def test_total_uses_per_sample_task_weights() -> None:
    fused, ir, vis = _batch(b=3)
    tasks = ["low_light", "overexposure", "ir_noise+overexposure"]
    total, terms = textif_loss(fused, ir, vis, tasks, reduction="none")
    assert total.shape == (3,)
    for i, t in enumerate(tasks):
        w = loss_weights(t)
        one = (fused[i:i + 1], ir[i:i + 1], vis[i:i + 1])
        expect = (w.intensity * intensity_loss(*one) + w.ssim * ssim_loss(*one, w.delta_ir)
                  + w.gradient * gradient_loss(*one) + w.color * color_loss(one[0], one[2]))
        assert torch.allclose(total[i], expect, rtol=1e-5)
    assert not terms["intensity"].requires_grad
    # one name for the batch, or an explicit weight tensor
    same = textif_loss(fused, ir, vis, "haze")[0]
    assert torch.allclose(same, textif_loss(fused, ir, vis, weights_tensor(["haze"] * 3))[0])
    custom = {"fusion": LossWeights(1, 0, 0, 0, 0)}
    assert torch.allclose(textif_loss(fused, ir, vis, "fusion", weights=custom)[0], intensity_loss(fused, ir, vis))


def test_weight_table() -> None:
    official = {"low_light": (8, 1, 10, 12), "overexposure": (4, 0, 2, 12), "ir_low_contrast": (8, 1, 10, 12),
                "ir_noise": (6, 1, 10, 12)}
    for task, row in official.items():
        assert TASK_WEIGHTS[task].as_tuple()[:4] == row
    assert LOSS_TERMS == ("intensity", "ssim", "gradient", "color", "delta_ir")
    comp = loss_weights("ir_noise+overexposure")
    assert comp == loss_weights("overexposure+ir_noise")
    assert comp.as_tuple() == (5.0, 0.5, 6.0, 12.0, 1.0)
    w = weights_tensor(["fusion", "blur+rain"], dtype=torch.float64)
    assert w.shape == (2, 5) and w.dtype == torch.float64
    with pytest.raises(UnknownNameError, match="did you mean"):
        loss_weights("ir_nois")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("device", DEVICES)
def test_device_and_dtype(dtype: torch.dtype, device: str) -> None:
    fused, ir, vis = (t.to(device=device, dtype=dtype) for t in _batch())
    total, terms = TextIFLoss()(fused, ir, vis, ["noise", "fusion"])
    assert total.dtype == dtype and total.device.type == device
    assert all(v.dtype == dtype for v in terms.values())


def test_bad_inputs() -> None:
    fused, ir, vis = _batch()
    with pytest.raises(LossInputError, match=r"ir_gt must have shape \(B, 1, H, W\)"):
        intensity_loss(fused, vis, vis)
    with pytest.raises(LossInputError, match="batch/size"):
        gradient_loss(fused, ir[:, :, :10], vis)
    with pytest.raises(LossInputError, match="floating-point"):
        color_loss(fused, (vis * 255).to(torch.uint8))
    with pytest.raises(LossInputError, match="reduction"):
        color_loss(fused, vis, reduction="avg")  # type: ignore[arg-type]
    with pytest.raises(LossInputError, match="window_size"):
        ssim_loss(fused, ir, vis, window_size=4)
    with pytest.raises(LossInputError, match="tasks for a batch"):
        textif_loss(fused, ir, vis, ["noise"])
    with pytest.raises(LossInputError, match="delta_ir"):
        ssim_loss(fused, ir, vis, torch.ones(5))


# ----------------------------------------------------------------------------- outside references
def test_intensity_loss_hand_computed() -> None:
    """``mean |Y_f - max(Y_vis, ir)|`` on a 2x2 grey image, computed by hand."""
    f = torch.tensor([[0.5, 0.2], [0.9, 0.0]], dtype=torch.float64).view(1, 1, 2, 2)
    vis = torch.tensor([[0.4, 0.4], [0.1, 0.1]], dtype=torch.float64).view(1, 1, 2, 2)
    ir = torch.tensor([[0.6, 0.1], [0.3, 0.2]], dtype=torch.float64).view(1, 1, 2, 2)
    # target max = [[0.6, 0.4], [0.3, 0.2]]; |f - target| = 0.1, 0.2, 0.6, 0.2 -> mean 1.1 / 4
    assert float(intensity_loss(f, ir, vis)) == pytest.approx(0.275, abs=1e-12)
    # an RGB fused image counts through its BT.601 luma: pure green has Y = 0.587
    green = torch.zeros(1, 3, 2, 2, dtype=torch.float64)
    green[:, 1] = 1.0
    zero = torch.zeros(1, 1, 2, 2, dtype=torch.float64)
    assert float(intensity_loss(green, zero, zero)) == pytest.approx(0.587, abs=1e-12)


def test_ssim_loss_matches_scikit_image() -> None:
    """``(1 - SSIM(f, vis)) + delta (1 - SSIM(f, ir))`` against scikit-image's Gaussian SSIM."""
    skm = pytest.importorskip("skimage.metrics")
    g = torch.Generator().manual_seed(3)
    base = torch.rand(1, 1, 40, 36, generator=g, dtype=torch.float64)
    f = (0.7 * base + 0.3 * torch.rand(1, 1, 40, 36, generator=g, dtype=torch.float64))
    vis = (0.5 * base + 0.5 * torch.rand(1, 1, 40, 36, generator=g, dtype=torch.float64))
    ir = torch.rand(1, 1, 40, 36, generator=g, dtype=torch.float64)

    def sk(a: torch.Tensor, b: torch.Tensor) -> float:
        # Wang et al.'s SSIM: 11-tap Gaussian (sigma 1.5, truncate 3.5), population covariance,
        # K1 = 0.01, K2 = 0.03, L = 1, averaged over the positions the window fits ('valid')
        return skm.structural_similarity(a[0, 0].numpy(), b[0, 0].numpy(), data_range=1.0, gaussian_weights=True,
                                         sigma=1.5, use_sample_covariance=False)

    s_vis, s_ir = sk(f, vis), sk(f, ir)
    assert 0.2 < s_vis < 0.9  # a non-trivial case
    assert float(ssim_loss(f, ir, vis, 0.0)) == pytest.approx(1 - s_vis, rel=1e-9)
    assert float(ssim_loss(f, ir, vis, 0.7)) == pytest.approx((1 - s_vis) + 0.7 * (1 - s_ir), rel=1e-9)


def test_gradient_loss_matches_scipy_sobel() -> None:
    """Sum over x and y of ``mean | |S f| - max(|S vis|, |S ir|) |`` with SciPy's Sobel filter."""
    ndi = pytest.importorskip("scipy.ndimage")
    g = torch.Generator().manual_seed(4)
    f, ir, vis = (torch.rand(1, 1, 13, 17, generator=g, dtype=torch.float64) for _ in range(3))

    def sob(t: torch.Tensor, axis: int):
        return abs(ndi.sobel(t[0, 0].numpy(), axis=axis, mode="nearest"))  # unnormalised, replicated border

    want = sum(abs(sob(f, ax) - np.maximum(sob(vis, ax), sob(ir, ax))).mean() for ax in (0, 1))
    assert float(gradient_loss(f, ir, vis)) == pytest.approx(want, rel=1e-12)


def test_color_loss_hand_computed() -> None:
    """``mean |Cb_f - Cb_vis| + mean |Cr_f - Cr_vis|`` from the BT.601 definition
    ``Cb = 0.5 (B - Y) / (1 - 0.114)``, ``Cr = 0.5 (R - Y) / (1 - 0.299)`` (+ 0.5)."""
    red_blue = torch.zeros(1, 3, 1, 2, dtype=torch.float64)
    red_blue[0, 0, 0, 0] = 1.0  # a red pixel ...
    red_blue[0, 2, 0, 1] = 1.0  # ... and a blue one
    grey = torch.full((1, 3, 1, 2), 0.5, dtype=torch.float64)  # neutral chroma
    # red: |Cb| = 0.5 * 0.299 / 0.886, |Cr| = 0.5; blue: |Cb| = 0.5, |Cr| = 0.5 * 0.114 / 0.701
    cb = (0.5 * 0.299 / 0.886 + 0.5) / 2
    cr = (0.5 + 0.5 * 0.114 / 0.701) / 2
    # kornia's rgb_to_ycbcr rounds the factors to 0.564 / 0.713: agreement to 1e-3
    assert float(color_loss(red_blue, grey)) == pytest.approx(cb + cr, rel=1e-3)
    assert float(color_loss(grey[:, :1], grey)) == 0.0  # a grey fused image has neutral chroma


def test_distill_loss_pixel_and_gradient_terms():
    """The pixel term is the mean absolute difference; the Sobel term is zero for a constant
    offset (no edge changed) and, for a blurred copy, large next to its pixel difference."""
    import torch.nn.functional as F

    from textif.losses import DistillLoss, LossInputError, distill_loss

    torch.manual_seed(0)
    sharp = torch.rand(2, 3, 32, 32)
    assert distill_loss(sharp, sharp, gradient_weight=1.0).item() == 0.0
    shifted = sharp + 0.1
    assert distill_loss(shifted, sharp).item() == pytest.approx(0.1, abs=1e-6)
    # a constant offset leaves every edge as it was: interior Sobel responses are unchanged
    # (kornia replicates the border, so the border rows stay unchanged too)
    assert distill_loss(shifted, sharp, gradient_weight=1.0).item() == pytest.approx(0.1, abs=1e-5)
    blurred = F.avg_pool2d(F.pad(sharp, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    pixel = distill_loss(blurred, sharp).item()
    with_grad = distill_loss(blurred, sharp, gradient_weight=1.0).item()
    assert with_grad - pixel > 2 * pixel  # blur costs more in the Sobel term than in pixels
    assert DistillLoss(gradient_weight=1.0)(blurred, sharp).item() == pytest.approx(with_grad)
    # no gradient reaches the teacher
    s, t = blurred.clone().requires_grad_(), sharp.clone().requires_grad_()
    distill_loss(s, t, gradient_weight=1.0).backward()
    assert s.grad is not None and t.grad is None
    with pytest.raises(LossInputError, match="same"):
        distill_loss(sharp, sharp[:, :1])
    with pytest.raises(LossInputError, match="gradient_weight"):
        distill_loss(sharp, sharp, gradient_weight=-1)
    # per-sample weights: a weight of 0 leaves that sample out of the batch mean
    far = sharp.clone()
    far[1] += 0.5
    assert distill_loss(far, sharp, sample_weight=torch.tensor([1.0, 0.0])).item() == pytest.approx(0.0)
    assert distill_loss(far, sharp, sample_weight=torch.tensor([0.0, 1.0])).item() == pytest.approx(0.25, abs=1e-6)
    assert distill_loss(far, sharp, sample_weight=torch.ones(2)).item() == pytest.approx(distill_loss(far, sharp).item())
    with pytest.raises(LossInputError, match="sample_weight"):
        distill_loss(far, sharp, sample_weight=torch.ones(3))
