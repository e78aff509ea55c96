"""The fusion metrics of the infrared-visible literature, on 0-255 grey images.

Every function takes ``(H, W)`` float64 arrays of grey levels 0..255 (see :mod:`textif.metrics.io`
for how files are read): ``fused`` and, where the metric compares with the sources, ``ir`` and
``vis``. The default ``convention="cddfuse"`` reproduces the Python evaluator of CDDFuse
(Zhao et al., CVPR 2023, ``utils/Evaluator.py``), whose conventions the field's tables use;
other conventions are documented per function and in ``docs/evaluation.md``.

Undefined values (e.g. the correlation with a constant image) are returned as ``nan`` with a
:class:`~textif.metrics.errors.MetricWarning`; they are never replaced by a made-up number.
"""
from __future__ import annotations

import math
import warnings

import cv2
import numpy as np

from textif.metrics.errors import MetricInputError, MetricWarning

__all__ = [
    "entropy",
    "standard_deviation",
    "spatial_frequency",
    "average_gradient",
    "mutual_information",
    "scd",
    "vif",
    "qabf",
    "ssim",
    "mse",
    "psnr",
    "nabf",
    "cc",
]


# ----------------------------------------------------------------------------- helpers
def _check_conv(name: str, convention: str, options: tuple[str, ...]) -> str:
    conv = str(convention).lower()
    if conv not in options:
        raise MetricInputError(f"{name}: unknown convention {convention!r} (options: {', '.join(options)})")
    return conv


def _nan(metric: str, why: str) -> float:
    warnings.warn(f"{metric}: {why}; the value is undefined (nan)", MetricWarning, stacklevel=3)
    return float("nan")


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two arrays (nan when either is constant)."""
    da = a - a.mean()
    db = b - b.mean()
    den = math.sqrt(float(np.sum(da * da)) * float(np.sum(db * db)))
    if den == 0.0:
        return float("nan")
    return float(np.sum(da * db)) / den


def _filter(img: np.ndarray, kernel: np.ndarray, border: int) -> np.ndarray:
    """2-D correlation (OpenCV ``filter2D``) in float64 with the given border rule."""
    return cv2.filter2D(img, cv2.CV_64F, kernel, borderType=border)


def _sep_valid(img: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``scipy.signal.convolve2d(img, outer(g, g), 'valid')`` for a symmetric 1-D kernel ``g``."""
    r = len(g) // 2
    out = cv2.sepFilter2D(img, cv2.CV_64F, g, g, borderType=cv2.BORDER_REFLECT)
    return out[r : out.shape[0] - r, r : out.shape[1] - r]


def _min_size(name: str, img: np.ndarray, n: int) -> None:
    if img.shape[0] < n or img.shape[1] < n:
        raise MetricInputError(f"{name}: image is {img.shape[1]}x{img.shape[0]}; needs at least {n}x{n} pixels")


# ----------------------------------------------------------------------------- fused-only statistics
def entropy(fused: np.ndarray) -> float:
    """EN, Shannon entropy of the grey-level histogram, in bits.

    ``EN = -sum_l p_l log2 p_l`` over the 256-bin histogram of the rounded grey levels
    (Roberts et al., J. Appl. Remote Sens. 2008; CDDFuse ``Evaluator.EN``). Range [0, 8]; higher
    means more information.
    """
    levels = np.clip(np.round(fused), 0, 255).astype(np.int64).ravel()
    p = np.bincount(levels, minlength=256) / levels.size
    p = p[p > 0]
    return float(0.0 - np.sum(p * np.log2(p)))  # 0.0 - x avoids -0.0 for a constant image


def standard_deviation(fused: np.ndarray) -> float:
    """SD, population standard deviation of the grey levels: ``sqrt(mean((F - mean F)^2))``.

    CDDFuse ``Evaluator.SD`` (``numpy.std``, ddof 0). Range [0, 127.5]; higher means more contrast.
    """
    return float(np.std(fused))


def spatial_frequency(fused: np.ndarray, convention: str = "cddfuse") -> float:
    """SF, spatial frequency (Eskicioglu & Fisher, IEEE T-Com 1995).

    ``cddfuse``: ``sqrt(mean(dx^2) + mean(dy^2))`` with ``dx = F[:, 1:] - F[:, :-1]`` averaged over
    its ``H (W-1)`` entries and ``dy`` over ``(H-1) W`` (CDDFuse ``Evaluator.SF``).
    ``vifb``: both sums divided by ``H W`` (MATLAB VIFB toolbox ``metricsSpatial_frequency.m``).
    Range [0, inf); higher means more detail.
    """
    conv = _check_conv("sf", convention, ("cddfuse", "vifb"))
    _min_size("sf", fused, 2)
    dx2 = np.diff(fused, axis=1) ** 2
    dy2 = np.diff(fused, axis=0) ** 2
    if conv == "vifb":
        n = fused.size
        return float(math.sqrt(dx2.sum() / n + dy2.sum() / n))
    return float(math.sqrt(dx2.mean() + dy2.mean()))


def average_gradient(fused: np.ndarray, convention: str = "cddfuse") -> float:
    """AG, average gradient (Cui et al., Opt. Commun. 2015).

    Gradients as MATLAB ``gradient``/``numpy.gradient``: central differences ``(F[i+1]-F[i-1])/2``
    inside, one-sided differences on the border; ``AG = sum(sqrt((Gx^2 + Gy^2)/2)) / N``.
    ``cddfuse``: ``N = H W`` (mean; CDDFuse ``Evaluator.AG``). ``vifb``: ``N = (H-1)(W-1)`` (MATLAB
    VIFB ``metricsAvg_gradient.m``). Range [0, inf); higher means sharper.
    """
    conv = _check_conv("ag", convention, ("cddfuse", "vifb"))
    _min_size("ag", fused, 2)
    gy, gx = np.gradient(fused)
    s = np.sqrt((gx * gx + gy * gy) / 2.0)
    if conv == "vifb":
        return float(s.sum() / ((fused.shape[0] - 1) * (fused.shape[1] - 1)))
    return float(s.mean())


# ----------------------------------------------------------------------------- information
def _mi_pair(a: np.ndarray, b: np.ndarray) -> float:
    """Mutual information in nats of two arrays of integer levels 0..255 (joint 256x256 histogram)."""
    ia = a.astype(np.int64).ravel()
    ib = b.astype(np.int64).ravel()
    joint = np.bincount(ia * 256 + ib, minlength=65536).astype(np.float64).reshape(256, 256) / ia.size
    pa = joint.sum(axis=1)
    pb = joint.sum(axis=0)
    nz = joint > 0
    outer = np.outer(pa, pb)
    return float(np.sum(joint[nz] * np.log(joint[nz] / outer[nz])))


def _vifb_levels(x: np.ndarray) -> np.ndarray:
    lo, hi = float(x.min()), float(x.max())
    if hi == lo:
        return np.zeros_like(x)
    return np.floor((x - lo) / (hi - lo) * 255.0 + 0.5)  # MATLAB int16() rounds half away from zero


def mutual_information(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray, convention: str = "cddfuse") -> float:
    """MI, ``MI(F, IR) + MI(F, VIS)`` (Qu et al., Electron. Lett. 2002).

    ``MI(X, Y) = sum_xy p(x, y) log(p(x, y) / (p(x) p(y)))`` from the joint histogram of the grey
    levels (one bin per level 0..255).
    ``cddfuse``: natural log, i.e. nats (CDDFuse uses ``sklearn.metrics.mutual_info_score``).
    ``bits``: the same in bits (log2; ``= nats / ln 2``).
    ``vifb``: each image first min-max stretched to 0..255 and rounded, then nats (MATLAB VIFB
    ``metricsMutinf.m``). Range [0, 2 ln 256 ~ 11.09] nats (16 bits); higher is better.
    """
    conv = _check_conv("mi", convention, ("cddfuse", "bits", "vifb"))
    if conv == "vifb":
        f = _vifb_levels(fused)
        return _mi_pair(f, _vifb_levels(ir)) + _mi_pair(f, _vifb_levels(vis))
    v = _mi_pair(fused, ir) + _mi_pair(fused, vis)
    return v / math.log(2.0) if conv == "bits" else v


# ----------------------------------------------------------------------------- correlation
def scd(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """SCD, sum of the correlations of differences (Aslantas & Bendes, AEU 2015).

    ``SCD = r(IR, F - VIS) + r(VIS, F - IR)`` with Pearson's ``r`` (CDDFuse ``Evaluator.SCD``).
    Range [-2, 2]; higher is better. ``nan`` when a term is undefined (a constant image/difference).
    """
    v = _corr(ir, fused - vis) + _corr(vis, fused - ir)
    if math.isnan(v):
        return _nan("scd", "a source or a difference image is constant")
    return v


def cc(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """CC, correlation coefficient ``(r(IR, F) + r(VIS, F)) / 2`` with Pearson's ``r``.

    CDDFuse ``Evaluator.CC``. Range [-1, 1]; higher is better. ``nan`` when an image is constant.
    """
    v = (_corr(ir, fused) + _corr(vis, fused)) / 2.0
    if math.isnan(v):
        return _nan("cc", "an image is constant")
    return v


# ----------------------------------------------------------------------------- VIF
def _vif_window(n: int) -> np.ndarray:
    # MATLAB fspecial('gaussian', n, n/5); for n in {17, 9, 5, 3} no tap is below eps*max, so the
    # 2-D window is exactly the outer product of this normalised 1-D Gaussian.
    sd = n / 5.0
    x = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sd * sd))
    return g / g.sum()


def _vifp_terms(refs: list[np.ndarray], dist: np.ndarray) -> list[tuple[float, float]]:
    """Numerators and denominators of pixel-domain VIF of ``dist`` against each reference."""
    sigma_nsq = 2.0
    eps = 1e-10
    nums = [0.0] * len(refs)
    dens = [0.0] * len(refs)
    refs = list(refs)
    for scale in range(1, 5):
        n = 2 ** (4 - scale + 1) + 1
        g = _vif_window(n)
        if scale > 1:
            refs = [_sep_valid(r, g)[::2, ::2] for r in refs]
            dist = _sep_valid(dist, g)[::2, ::2]
        if min(dist.shape) < n:
            raise MetricInputError(f"vif: image too small for the 4-scale VIF (scale {scale} needs {n}x{n})")
        mu2 = _sep_valid(dist, g)
        mu2_sq = mu2 * mu2
        sigma2_sq = _sep_valid(dist * dist, g) - mu2_sq
        sigma2_sq[sigma2_sq < 0] = 0
        small2 = sigma2_sq < eps
        for i, ref in enumerate(refs):
            mu1 = _sep_valid(ref, g)
            sigma1_sq = _sep_valid(ref * ref, g) - mu1 * mu1
            sigma12 = _sep_valid(ref * dist, g) - mu1 * mu2
            sigma1_sq[sigma1_sq < 0] = 0
            gain = sigma12 / (sigma1_sq + eps)
            sv_sq = sigma2_sq - gain * sigma12
            small1 = sigma1_sq < eps
            gain[small1] = 0
            sv_sq[small1] = sigma2_sq[small1]
            sigma1_sq[small1] = 0
            gain[small2] = 0
            sv_sq[small2] = 0
            neg = gain < 0
            sv_sq[neg] = sigma2_sq[neg]
            gain[neg] = 0
            sv_sq[sv_sq <= eps] = eps
            nums[i] += float(np.sum(np.log10(1.0 + gain * gain * sigma1_sq / (sv_sq + sigma_nsq))))
            dens[i] += float(np.sum(np.log10(1.0 + sigma1_sq / sigma_nsq)))
    return list(zip(nums, dens))


def vif(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """VIF, ``VIFp(IR, F) + VIFp(VIS, F)``: the LIVE pixel-domain visual information fidelity.

    Sheikh & Bovik, IEEE TIP 2006, pixel-domain version ``vifvec``/``vifp_mscale`` of the LIVE
    release: 4 scales with Gaussian windows of 17, 9, 5, 3 taps (sigma = N/5), ``sigma_n^2 = 2``,
    ``VIFp = sum_s sum log10(1 + g^2 s1^2 / (sv^2 + 2)) / sum_s sum log10(1 + s1^2 / 2)``, summed
    over the two sources as in CDDFuse ``Evaluator.VIFF`` (which the tables call VIF). Range
    [0, inf) (about [0, 2] for ordinary fusions); higher is better. ``nan`` (CDDFuse would report
    1.0) when a source is constant.
    """
    total = 0.0
    for num, den in _vifp_terms([ir, vis], fused):
        if den == 0.0:
            return _nan("vif", "a source image has no variance")
        total += num / den
    return total


# ----------------------------------------------------------------------------- Qabf / Nabf
_SOBEL_H = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], dtype=np.float64)
_SOBEL_V = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)


def _qabf_edges(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # CDDFuse convolves (flipped kernels) with zero padding; flipping these antisymmetric kernels only
    # changes the sign of both components, which leaves the magnitude and atan(y / x) unchanged.
    sx = _filter(img, _SOBEL_V, cv2.BORDER_CONSTANT)
    sy = _filter(img, _SOBEL_H, cv2.BORDER_CONSTANT)
    g = np.sqrt(sx * sx + sy * sy)
    a = np.full_like(img, math.pi / 2)
    nz = sx != 0
    a[nz] = np.arctan(sy[nz] / sx[nz])
    return g, a


def _qabf_q(a_s: np.ndarray, g_s: np.ndarray, a_f: np.ndarray, g_f: np.ndarray) -> np.ndarray:
    tg, kg, dg = 0.9994, -15.0, 0.5
    ta, ka, da = 0.9879, -22.0, 0.8
    gaf = np.empty_like(g_s)
    gt = g_s > g_f
    lt = g_s < g_f
    eq = ~(gt | lt)
    gaf[gt] = g_f[gt] / g_s[gt]
    gaf[eq] = g_f[eq]  # CDDFuse's rule for equal strengths (kept for comparability)
    gaf[lt] = g_s[lt] / g_f[lt]
    aaf = 1.0 - np.abs(a_s - a_f) / (math.pi / 2)
    qg = tg / (1.0 + np.exp(kg * (gaf - dg)))
    qa = ta / (1.0 + np.exp(ka * (aaf - da)))
    return qg * qa


def qabf(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """Qabf (Q^AB/F), edge-information preservation (Xydeas & Petrovic, Electron. Lett. 2000).

    Sobel edge strength ``g`` and orientation ``a = atan(gy / gx)`` (``pi/2`` where ``gx = 0``),
    zero-padded borders; per source ``Q = Qg Qa`` with
    ``Qg = Tg / (1 + exp(kg (G - Dg)))``, ``Qa = Ta / (1 + exp(ka (A - Da)))``,
    ``G = min(gS, gF) / max(gS, gF)``, ``A = 1 - |aS - aF| / (pi/2)``, ``L = 1``, ``Tg = 0.9994``,
    ``kg = -15``, ``Dg = 0.5``, ``Ta = 0.9879``, ``ka = -22``, ``Da = 0.8``;
    ``Qabf = sum(Q_IR g_IR + Q_VIS g_VIS) / sum(g_IR + g_VIS)``. As in CDDFuse
    ``Evaluator.Qabf``, where ``gS == gF`` the ratio ``G`` is set to ``gF``. Range [0, 1]; higher is
    better. ``nan`` when both sources are constant.
    """
    g_a, a_a = _qabf_edges(ir)
    g_b, a_b = _qabf_edges(vis)
    g_f, a_f = _qabf_edges(fused)
    q_af = _qabf_q(a_a, g_a, a_f, g_f)
    q_bf = _qabf_q(a_b, g_b, a_f, g_f)
    den = float(np.sum(g_a + g_b))
    if den == 0.0:
        return _nan("qabf", "both sources are constant (no edges)")
    return float(np.sum(q_af * g_a + q_bf * g_b)) / den


_KUMAR_V = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64) / 8.0
_KUMAR_H = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64) / 8.0


def _kumar_edges(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    gv = _filter(img, _KUMAR_V, cv2.BORDER_REFLECT_101)  # periodic/mirror extension of per_extn_im_fn
    gh = _filter(img, _KUMAR_H, cv2.BORDER_REFLECT_101)
    g = np.sqrt(gv * gv + gh * gh)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.arctan(gv / gh)  # +-pi/2 where gh = 0 (IEEE division, as MATLAB)
    a[(gv == 0) & (gh == 0)] = 0.0
    return g, a


def nabf(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """Nabf, the modified fusion-artifacts measure of B. K. Shreyamsha Kumar (SIVP 2013/2015).

    Petrovic's gradient framework as in Kumar's ``objective_fusion_perform_fn.m`` (distributed with
    the CBF fusion code and the VIFB toolbox): Sobel/8 gradients with mirrored borders,
    ``Q_SF = sqrt(Qg Qa)`` with ``Qg = 0.9999 / (1 + exp(-19 (G - 0.5)))``,
    ``Qa = 0.9995 / (1 + exp(-22 (A - 0.5)))``, ``G = min/max`` of the edge strengths (0 if one is 0),
    ``A = | |aS - aF| - pi/2 | 2/pi``; weights ``w_S = g_S^1.5`` where ``g_S >= 2`` else ``0.001``;
    ``Nabf = sum(m ((1 - Q_IR,F) w_IR + (1 - Q_VIS,F) w_VIS)) / sum(w_IR + w_VIS)`` with
    ``m = 1`` where the fused edge is stronger than both sources' (artifacts). Range [0, 1];
    lower is better.

    Convention: grey levels 0..255, as Kumar's CBF code feeds it (``double(imread(...))``); the
    edge threshold ``Td = 2`` is in those units. On the RoadScene ``FLIR_00006`` test pair this
    reproduces the NABF output of ``objective_fusion_perform_fn.m`` run in GNU Octave to about
    1e-15 relative (``tests/test_metrics.py``). Evaluators that run the same MATLAB code on
    ``im2double`` images in [0, 1] (e.g. ``analysis_nabf`` called from ``analysis_Reference.m`` in
    the DenseFuse / RFN-Nest evaluation scripts and their copies) compute a different quantity:
    ``Td = 2`` is then never reached, so every pixel gets the weight 0.001, and ties
    ``g_F == g_S`` (common where the fused image copies a source) are broken by rounding. Their
    numbers are not comparable with these and are not reproduced here (on ``FLIR_00006``, pixel
    maximum: 3.75e-4 on [0, 1] against 5.26e-5 on 0..255).
    """
    td, wt_min, lg = 2.0, 0.001, 1.5
    nrg, kg, sg = 0.9999, 19.0, 0.5
    nra, ka, sa = 0.9995, 22.0, 0.5
    g_a, a_a = _kumar_edges(ir)
    g_b, a_b = _kumar_edges(vis)
    g_f, a_f = _kumar_edges(fused)

    def q(g_s: np.ndarray, a_s: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            gr = np.where(g_s > g_f, g_f / g_s, g_s / g_f)
        gr[(g_s == 0) | (g_f == 0)] = 0.0
        ar = np.abs(np.abs(a_s - a_f) - math.pi / 2) * 2.0 / math.pi
        qg = nrg / (1.0 + np.exp(-kg * (gr - sg)))
        qa = nra / (1.0 + np.exp(-ka * (ar - sa)))
        return np.sqrt(qg * qa)

    w_a = np.where(g_a >= td, g_a**lg, wt_min)
    w_b = np.where(g_b >= td, g_b**lg, wt_min)
    art = (g_f > g_a) & (g_f > g_b)
    num = np.sum(art * ((1.0 - q(g_a, a_a)) * w_a + (1.0 - q(g_b, a_b)) * w_b))
    return float(num / np.sum(w_a + w_b))


# ----------------------------------------------------------------------------- SSIM
def _ssim_uniform(x: np.ndarray, y: np.ndarray, data_range: float, win: int = 7) -> float:
    """scikit-image ``structural_similarity`` (uniform window, sample covariance, K1=.01, K2=.03)."""
    _min_size("ssim", x, win)
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    k = (win, win)
    border = cv2.BORDER_REFLECT  # only the cropped interior is averaged, so the rule does not matter
    ux = cv2.boxFilter(x, cv2.CV_64F, k, borderType=border)
    uy = cv2.boxFilter(y, cv2.CV_64F, k, borderType=border)
    uxx = cv2.boxFilter(x * x, cv2.CV_64F, k, borderType=border)
    uyy = cv2.boxFilter(y * y, cv2.CV_64F, k, borderType=border)
    uxy = cv2.boxFilter(x * y, cv2.CV_64F, k, borderType=border)
    cov_norm = win * win / (win * win - 1.0)
    vx = cov_norm * (uxx - ux * ux)
    vy = cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    pad = (win - 1) // 2
    return float(s[pad : s.shape[0] - pad, pad : s.shape[1] - pad].mean())


_SSIM_GAUSS = None


def _ssim_gauss(x: np.ndarray, y: np.ndarray) -> float:
    """Wang et al.'s SSIM: 11x11 Gaussian (sigma 1.5), L = 255, 'valid' filtering, mean map (VIFB)."""
    global _SSIM_GAUSS
    if _SSIM_GAUSS is None:
        t = np.arange(11, dtype=np.float64) - 5.0
        g = np.exp(-(t * t) / (2 * 1.5 * 1.5))
        _SSIM_GAUSS = g / g.sum()
    g = _SSIM_GAUSS
    _min_size("ssim", x, 11)
    c1 = (0.01 * 255) ** 2
    c2 = (0.03 * 255) ** 2
    ua, ub = _sep_valid(x, g), _sep_valid(y, g)
    saa = _sep_valid(x * x, g) - ua * ua
    sbb = _sep_valid(y * y, g) - ub * ub
    sab = _sep_valid(x * y, g) - ua * ub
    m = ((2 * ua * ub + c1) * (2 * sab + c2)) / ((ua * ua + ub * ub + c1) * (saa + sbb + c2))
    return float(m.mean())


def ssim(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray, convention: str = "cddfuse") -> float:
    """SSIM of the fused image against both sources (Wang et al., IEEE TIP 2004).

    ``cddfuse``: ``SSIM(F, IR) + SSIM(F, VIS)`` as CDDFuse ``Evaluator.SSIM`` effectively computed
    with the old scikit-image it pinned: 7x7 uniform window, sample covariance (N/(N-1)),
    ``K1 = 0.01``, ``K2 = 0.03``, ``data_range = 2`` (the float dtype range) on 0-255 values, mean
    over the map without its 3-pixel border. Range [-2, 2].
    ``mean``: the same, averaged over the two sources instead of summed. Range [-1, 1].
    ``vifb``: the sum with Wang's 11x11 Gaussian window (sigma 1.5) and ``L = 255``, 'valid'
    filtering (MATLAB VIFB ``metricsSsim.m``). Range [-2, 2].
    Higher is better.
    """
    conv = _check_conv("ssim", convention, ("cddfuse", "mean", "vifb"))
    if conv == "vifb":
        return _ssim_gauss(fused, ir) + _ssim_gauss(fused, vis)
    s = _ssim_uniform(fused, ir, 2.0) + _ssim_uniform(fused, vis, 2.0)
    return s / 2.0 if conv == "mean" else s


# ----------------------------------------------------------------------------- fidelity
def mse(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """MSE, ``(mean((IR - F)^2) + mean((VIS - F)^2)) / 2`` on 0-255 (CDDFuse ``Evaluator.MSE``).

    Range [0, 65025]. Fidelity to the sources; reported without a preferred direction.
    """
    return float((np.mean((ir - fused) ** 2) + np.mean((vis - fused) ** 2)) / 2.0)


def psnr(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray, convention: str = "cddfuse") -> float:
    """PSNR of the fused image against the sources, in dB.

    ``cddfuse``: ``10 log10(max(F)^2 / MSE)`` with the :func:`mse` of the two sources and the
    fused image's own maximum as peak (CDDFuse ``Evaluator.PSNR``; this reproduces the field's
    tables). ``peak255``: ``10 log10(255^2 / MSE)``. ``inf`` when ``MSE = 0``. Fidelity to the
    sources; reported without a preferred direction.
    """
    conv = _check_conv("psnr", convention, ("cddfuse", "peak255"))
    m = mse(fused, ir, vis)
    peak = 255.0 if conv == "peak255" else float(np.max(fused))
    if m == 0.0:
        return float("inf")
    if peak == 0.0:
        return _nan("psnr", "the fused image is black (peak 0)")
    return float(10.0 * math.log10(peak * peak / m))
