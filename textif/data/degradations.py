"""Seeded synthesis of the degradations Text-IF is trained to undo.

Every degradation ``x`` has a pair of functions:

* ``add_x(img, severity, *, generator=None, **sub_parameters)`` applies it with a given
  severity and, unless given, canonical sub-parameters (for example a blur's kind);
* ``random_add_x(img, *, generator, severity=(0.1, 1.0))`` draws a severity (per sample,
  uniformly in the range, or uses a fixed float) and random sub-parameters, then calls
  ``add_x``.

Conventions shared by all of them:

* ``img`` is a floating-point tensor in ``[0, 1]``, ``(B, C, H, W)`` or ``(C, H, W)``.
  Visible degradations are meant for ``(B, 3, H, W)`` RGB, infrared ones for
  ``(B, 1, H, W)``; both accept 1 or 3 channels (an infrared degradation adds the same
  noise to every channel, so a gray image stays gray; colour casts and desaturation
  are skipped on 1-channel images).
* ``severity`` is a float in ``[0, 1]`` or one value per sample (a ``(B,)`` tensor or a
  sequence). ``0`` returns the input unchanged; ``1`` is strong but still plausible.
  Every effect grows monotonically with severity for a fixed generator state.
* The output has the input's shape, device and dtype and is clamped to ``[0, 1]``.
  Random numbers are drawn on the generator's device (CPU by default) in float32 and
  then moved, so a seeded ``torch.Generator`` gives the same result on any device.
  ``float16``/``bfloat16`` inputs are processed in float32 and cast back.

:data:`DEGRADATIONS` is a :class:`~textif.core.registry.Registry` of
:class:`DegradationInfo` ``(modality, add_fn, random_fn, description)``;
:func:`apply_degradation` applies one by name, :func:`degrade_pair` applies a task
(a degradation name, a composite ``"a+b"`` or ``"fusion"``) to a visible/infrared pair,
and :func:`sample_composite` draws a composite.
"""
from __future__ import annotations

import math
import random as _pyrandom
from typing import Any, Callable, Literal, Mapping, NamedTuple, Sequence, Union

import torch
import torch.nn.functional as F
from kornia.filters import filter2d, gaussian_blur2d, get_gaussian_kernel2d
from torch import Tensor

from textif.core.errors import TextIFError
from textif.core.registry import Registry
from textif.ops.color import luminance

__all__ = [
    "DegradationError",
    "DegradationInfo",
    "DegradedPair",
    "DEGRADATIONS",
    "VIS_DEGRADATIONS",
    "IR_DEGRADATIONS",
    "APPLY_ORDER",
    "COMPOSITES",
    "NEUTRAL_TASK",
    "SEVERITY_BANDS",
    "severity_band",
    "apply_degradation",
    "degrade_pair",
    "sample_composite",
    "composite_name",
    "split_task",
    "modality_of",
    "add_low_light",
    "random_add_low_light",
    "add_overexposure",
    "random_add_overexposure",
    "add_noise",
    "random_add_noise",
    "add_blur",
    "random_add_blur",
    "add_haze",
    "random_add_haze",
    "add_rain",
    "random_add_rain",
    "add_ir_low_contrast",
    "random_add_ir_low_contrast",
    "add_ir_noise",
    "random_add_ir_noise",
    "add_ir_stripe",
    "random_add_ir_stripe",
]

Severity = Union[float, Sequence[float], Tensor]
SeverityArg = Union[float, tuple[float, float]]
Param = Union[float, Sequence[float], Tensor, None]

#: Task name of a clean input (no degradation, neutral prompt).
NEUTRAL_TASK = "fusion"

#: Severity bands used by prompts: ``[0, 0.35)`` mild, ``[0.35, 0.7)`` moderate, ``[0.7, 1]`` severe.
SEVERITY_BANDS = ("mild", "moderate", "severe")

_DEFAULT_RANGE = (0.1, 1.0)


class DegradationError(TextIFError, ValueError):
    """A degradation was called with a bad image, severity or name."""


# ----------------------------------------------------------------------------- helpers


def _prepare(img: Tensor, name: str) -> tuple[Tensor, bool]:
    """Check ``img`` and return it as a 4-D working tensor (float32 for half types)."""
    if not isinstance(img, Tensor):
        raise DegradationError(f"{name}: expected a torch.Tensor, got {type(img).__name__}")
    if not img.is_floating_point():
        raise DegradationError(
            f"{name}: expected a floating-point tensor with values in [0, 1], got dtype {img.dtype}"
        )
    if img.ndim not in (3, 4):
        raise DegradationError(f"{name}: expected shape (B, C, H, W) or (C, H, W), got {tuple(img.shape)}")
    x = img.unsqueeze(0) if img.ndim == 3 else img
    if x.shape[1] not in (1, 3):
        raise DegradationError(f"{name}: expected 1 or 3 channels, got shape {tuple(img.shape)}")
    if x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    return x, img.ndim == 3


def _finish(out: Tensor, x: Tensor, sev: Tensor, img: Tensor, squeeze: bool) -> Tensor:
    """Clamp, make severity-0 samples exact copies, restore dtype and rank."""
    out = out.clamp(0.0, 1.0)
    out = torch.where((sev == 0).view(-1, 1, 1, 1), x.clamp(0.0, 1.0), out)
    out = out.to(img.dtype)
    return out[0] if squeeze else out


def _severity(severity: Severity, batch: int, like: Tensor, name: str) -> Tensor:
    """``severity`` as a ``(B,)`` tensor on ``like``'s device and dtype, checked in [0, 1]."""
    if isinstance(severity, Tensor):
        s = severity.detach().to(device=like.device, dtype=like.dtype).flatten()
    elif isinstance(severity, (int, float)) and not isinstance(severity, bool):
        s = torch.tensor([float(severity)], device=like.device, dtype=like.dtype)
    elif isinstance(severity, Sequence) and not isinstance(severity, str):
        try:
            s = torch.tensor([float(v) for v in severity], device=like.device, dtype=like.dtype)
        except (TypeError, ValueError):
            raise DegradationError(f"{name}: severity must be numbers in [0, 1], got {severity!r}") from None
    else:
        raise DegradationError(f"{name}: severity must be a number in [0, 1], got {severity!r}")
    if s.numel() == 1:
        s = s.expand(batch)
    if s.numel() != batch:
        raise DegradationError(f"{name}: got {s.numel()} severity values for a batch of {batch}")
    if not torch.isfinite(s).all() or (s < 0).any() or (s > 1).any():
        raise DegradationError(f"{name}: severity must be in [0, 1], got {s.tolist()}")
    return s.contiguous()


def _param(value: Param, default: Tensor, name: str, what: str) -> Tensor:
    """A sub-parameter broadcast to ``default``'s shape (``(B,)`` or ``(B, C)``); ``None`` -> default."""
    if value is None:
        return default
    if isinstance(value, Tensor):
        t = value.detach().to(device=default.device, dtype=default.dtype)
    else:
        try:
            t = torch.as_tensor(value, dtype=default.dtype, device=default.device)
        except (TypeError, ValueError):
            raise DegradationError(f"{name}: {what} must be numeric, got {value!r}") from None
    try:
        return torch.broadcast_to(t, default.shape)
    except RuntimeError:
        raise DegradationError(
            f"{name}: {what} must be a number or {tuple(default.shape)} values, got shape {tuple(t.shape)}"
        ) from None


def _gen_device(generator: torch.Generator | None, like: Tensor) -> torch.device:
    return generator.device if generator is not None else like.device


def _rand(shape: Sequence[int], generator: torch.Generator | None, like: Tensor) -> Tensor:
    r = torch.rand(tuple(shape), generator=generator, device=_gen_device(generator, like), dtype=torch.float32)
    return r.to(device=like.device, dtype=like.dtype)


def _randn(shape: Sequence[int], generator: torch.Generator | None, like: Tensor) -> Tensor:
    r = torch.randn(tuple(shape), generator=generator, device=_gen_device(generator, like), dtype=torch.float32)
    return r.to(device=like.device, dtype=like.dtype)


def _uniform(lo: float, hi: float, shape: Sequence[int], generator: torch.Generator | None, like: Tensor) -> Tensor:
    return lo + (hi - lo) * _rand(shape, generator, like)


def _draw_severity(severity: SeverityArg, batch: int, generator: torch.Generator | None, like: Tensor,
                   name: str) -> Tensor:
    if isinstance(severity, tuple):
        if len(severity) != 2:
            raise DegradationError(f"{name}: severity range must be (low, high), got {severity!r}")
        lo, hi = float(severity[0]), float(severity[1])
        if not (0.0 <= lo <= hi <= 1.0):
            raise DegradationError(f"{name}: severity range must satisfy 0 <= low <= high <= 1, got {severity!r}")
        return _uniform(lo, hi, (batch,), generator, like)
    return _severity(severity, batch, like, name)


def _v(s: Tensor) -> Tensor:
    """``(B,)`` -> ``(B, 1, 1, 1)``."""
    return s.view(-1, 1, 1, 1)


def _require_generator(generator: object, name: str) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise DegradationError(f"{name}: generator must be a torch.Generator, got {type(generator).__name__}")


# ----------------------------------------------------------------------------- kernels


def _centred_grid(size: int, like: Tensor) -> tuple[Tensor, Tensor]:
    r = torch.arange(size, device=like.device, dtype=like.dtype) - (size - 1) / 2
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    return yy, xx


def _disk_kernel(radius: float, size: int, like: Tensor) -> Tensor:
    """Anti-aliased pill-box (defocus) kernel of the given radius in pixels, sum 1."""
    yy, xx = _centred_grid(size, like)
    k = (radius + 0.5 - torch.sqrt(xx * xx + yy * yy)).clamp(0.0, 1.0)
    return k / k.sum()


def _line_kernel(length: float, angle_deg: float, size: int, like: Tensor) -> Tensor:
    """Anti-aliased line segment through the centre (motion blur / rain streak), sum 1.

    ``angle_deg`` is measured counter-clockwise from the image's x axis (0 = horizontal,
    90 = vertical).
    """
    yy, xx = _centred_grid(size, like)
    n = max(2, int(math.ceil(length * 3)) + 1)
    t = torch.linspace(-length / 2, length / 2, n, device=like.device, dtype=like.dtype)
    a = math.radians(angle_deg)
    px, py = t * math.cos(a), -t * math.sin(a)
    wx = (1 - (xx[None] - px[:, None, None]).abs()).clamp(min=0)
    wy = (1 - (yy[None] - py[:, None, None]).abs()).clamp(min=0)
    k = (wx * wy).sum(0)
    return k / k.sum()


def _odd(n: float) -> int:
    n = int(math.ceil(n))
    return n if n % 2 == 1 else n + 1


# ----------------------------------------------------------------------------- visible


def add_low_light(
    img: Tensor,
    severity: Severity,
    *,
    generator: torch.Generator | None = None,
    cast: Param = None,
    shot_noise: Param = None,
    read_noise: Param = None,
) -> Tensor:
    """Low light: exposure drop, gamma darkening, colour cast and Poisson-Gaussian sensor noise.

    ``out = k * x**g * (1 + s * cast)`` with ``k = 1 - 0.8 s`` and ``g = 1 + s``, plus
    zero-mean noise of variance ``a * out + b**2`` (signal-dependent shot noise ``a``,
    read noise ``b``), as a camera shooting at night would record it.

    Args:
        img: ``(B, 3, H, W)`` (or ``(B, 1, H, W)``) float in ``[0, 1]``.
        severity: in ``[0, 1]``; at 1 a mid-gray 0.5 becomes about 0.05.
        generator: seeds the noise.
        cast: per-channel relative gain at severity 1, ``(3,)`` or ``(B, 3)``; default
            ``(-0.15, 0.0, 0.10)`` (a cool, bluish night cast).
        shot_noise: ``a / s``, default ``0.002``. read_noise: ``b / s``, default ``0.008``
            (no gain is applied, so the noise is faint until the image is brightened).

    Returns:
        Tensor like ``img``, clamped to ``[0, 1]``.
    """
    name = "low_light"
    _require_generator(generator, name)
    x, squeeze = _prepare(img, name)
    b, c = x.shape[:2]
    s = _severity(severity, b, x, name)
    cast_t = _param(cast, x.new_tensor([-0.15, 0.0, 0.10]).expand(b, 3), name, "cast")
    a = _param(shot_noise, x.new_full((b,), 0.002), name, "shot_noise") * s
    rd = _param(read_noise, x.new_full((b,), 0.008), name, "read_noise") * s
    sv = _v(s)
    out = (1 - 0.8 * sv) * x.clamp(0, 1).pow(1 + sv)
    if c == 3:
        out = out * (1 + sv * cast_t.view(b, 3, 1, 1))
    out = out.clamp(0, 1)
    var = _v(a) * out + _v(rd) ** 2
    out = out + torch.sqrt(var) * _randn(x.shape, generator, x)
    return _finish(out, x, s, img, squeeze)


def random_add_low_light(img: Tensor, *, generator: torch.Generator | None,
                         severity: SeverityArg = _DEFAULT_RANGE) -> Tensor:
    """:func:`add_low_light` with random severity (range or fixed), cast and noise mix."""
    x, _ = _prepare(img, "low_light")
    b = x.shape[0]
    s = _draw_severity(severity, b, generator, x, "low_light")
    cast = _uniform(-0.2, 0.2, (b, 3), generator, x)
    shot = _uniform(0.0005, 0.005, (b,), generator, x)
    read = _uniform(0.002, 0.015, (b,), generator, x)
    return add_low_light(img, s, generator=generator, cast=cast, shot_noise=shot, read_noise=read)


def add_overexposure(
    img: Tensor,
    severity: Severity,
    *,
    generator: torch.Generator | None = None,
    ev: Param = None,
    desaturation: Param = None,
) -> Tensor:
    """Overexposure: exposure push in linear light with clipped highlights and washed-out colour.

    ``lin = x**2.2 * 2**(ev * s)``, back to display gamma, clipped at 1, then a blend
    toward luminance by ``desaturation * s``.

    Args:
        img: ``(B, 3, H, W)`` (or 1-channel) float in ``[0, 1]``.
        severity: in ``[0, 1]``.
        generator: unused (the effect is deterministic); accepted for a uniform API.
        ev: exposure push in stops at severity 1, default ``1.6``.
        desaturation: colour wash at severity 1, default ``0.3``.
    """
    name = "overexposure"
    _require_generator(generator, name)
    x, squeeze = _prepare(img, name)
    b = x.shape[0]
    s = _severity(severity, b, x, name)
    ev_t = _param(ev, x.new_full((b,), 1.6), name, "ev")
    de = _param(desaturation, x.new_full((b,), 0.3), name, "desaturation")
    gain = torch.pow(2.0, _v(ev_t * s))
    lin = x.clamp(0, 1).pow(2.2) * gain
    out = lin.clamp(0, 1).pow(1 / 2.2)
    if x.shape[1] == 3:
        out = torch.lerp(out, luminance(out).expand_as(out), _v(de * s))
    return _finish(out, x, s, img, squeeze)


def random_add_overexposure(img: Tensor, *, generator: torch.Generator | None,
                            severity: SeverityArg = _DEFAULT_RANGE) -> Tensor:
    """:func:`add_overexposure` with random severity, exposure push (1.0-2.0 EV) and colour wash."""
    x, _ = _prepare(img, "overexposure")
    b = x.shape[0]
    s = _draw_severity(severity, b, generator, x, "overexposure")
    ev = _uniform(1.0, 2.0, (b,), generator, x)
    de = _uniform(0.0, 0.5, (b,), generator, x)
    return add_overexposure(img, s, generator=generator, ev=ev, desaturation=de)


def add_noise(
    img: Tensor,
    severity: Severity,
    *,
    generator: torch.Generator | None = None,
    chroma: Param = None,
) -> Tensor:
    """Additive white Gaussian noise, standard deviation ``s * 50/255``.

    Args:
        img: ``(B, 3, H, W)`` (or 1-channel) float in ``[0, 1]``.
        severity: in ``[0, 1]``; 1 gives sigma = 50/255.
        generator: seeds the noise.
        chroma: share of independent per-channel noise (1, default) versus noise shared by
            the three channels (0, luminance-only noise).
    """
    name = "noise"
    _require_generator(generator, name)
    x, squeeze = _prepare(img, name)
    b, c, h, w = x.shape
    s = _severity(severity, b, x, name)
    ch = _v(_param(chroma, x.new_ones(b), name, "chroma").clamp(0, 1))
    n_ind = _randn((b, c, h, w), generator, x)
    n_lum = _randn((b, 1, h, w), generator, x)
    n = torch.sqrt(ch) * n_ind + torch.sqrt(1 - ch) * n_lum
    out = x + _v(s) * (50.0 / 255.0) * n
    return _finish(out, x, s, img, squeeze)


def random_add_noise(img: Tensor, *, generator: torch.Generator | None,
                     severity: SeverityArg = _DEFAULT_RANGE) -> Tensor:
    """:func:`add_noise` with random severity and chroma share in ``[0.5, 1]``."""
    x, _ = _prepare(img, "noise")
    b = x.shape[0]
    s = _draw_severity(severity, b, generator, x, "noise")
    chroma = _uniform(0.5, 1.0, (b,), generator, x)
    return add_noise(img, s, generator=generator, chroma=chroma)


BLUR_KINDS = ("gaussian", "defocus", "motion")


def add_blur(
    img: Tensor,
    severity: Severity,
    *,
    generator: torch.Generator | None = None,
    kind: str | Sequence[str] = "gaussian",
    angle: Param = None,
) -> Tensor:
    """Blur: Gaussian (sigma ``3 s`` px), defocus disk (radius ``5 s`` px) or linear motion
    (length ``17 s`` px), one kind per sample; borders replicate.

    Args:
        img: ``(B, 3, H, W)`` (or 1-channel) float in ``[0, 1]``.
        severity: in ``[0, 1]``.
        generator: unused (the effect is deterministic); accepted for a uniform API.
        kind: ``"gaussian"``, ``"defocus"`` or ``"motion"``, or one per sample.
        angle: motion direction in degrees counter-clockwise from horizontal (default 0).
    """
    name = "blur"
    _require_generator(generator, name)
    x, squeeze = _prepare(img, name)
    b = x.shape[0]
    s = _severity(severity, b, x, name)
    kinds = [kind] * b if isinstance(kind, str) else list(kind)
    if len(kinds) != b:
        raise DegradationError(f"{name}: got {len(kinds)} blur kinds for a batch of {b}")
    for k in kinds:
        if k not in BLUR_KINDS:
            raise DegradationError(f"{name}: unknown blur kind {k!r} (use one of {', '.join(BLUR_KINDS)})")
    ang = _param(angle, x.new_zeros(b), name, "angle")
    sl = s.tolist()
    sigmas = [max(3.0 * v, 1e-3) for v in sl]
    radii = [5.0 * v for v in sl]
    lengths = [17.0 * v for v in sl]
    sizes = []
    for i, k in enumerate(kinds):
        if k == "gaussian":
            sizes.append(_odd(6 * sigmas[i] + 1))
        elif k == "defocus":
            sizes.append(_odd(2 * radii[i] + 3))
        else:
            sizes.append(_odd(lengths[i] + 3))
    size = max(3, max(sizes))
    kernels = []
    for i, k in enumerate(kinds):
        if k == "gaussian":
            sig = x.new_tensor([[sigmas[i], sigmas[i]]])
            kernels.append(get_gaussian_kernel2d((size, size), sig, device=x.device, dtype=x.dtype)[0])
        elif k == "defocus":
            kernels.append(_disk_kernel(radii[i], size, x))
        else:
            kernels.append(_line_kernel(lengths[i], float(ang[i]), size, x))
    out = filter2d(x, torch.stack(kernels), border_type="replicate")
    return _finish(out, x, s, img, squeeze)


def random_add_blur(img: Tensor, *, generator: torch.Generator | None,
                    severity: SeverityArg = _DEFAULT_RANGE, kinds: Sequence[str] = BLUR_KINDS) -> Tensor:
    """:func:`add_blur` with random severity, kind (one of ``kinds``, by default Gaussian, defocus
    or motion) and angle. The random draws are the same whatever ``kinds`` holds."""
    kinds = tuple(kinds)
    if not kinds or any(k not in BLUR_KINDS for k in kinds):
        raise DegradationError(f"blur: kinds must be a non-empty selection of {', '.join(BLUR_KINDS)}, got {list(kinds)}")
    x, _ = _prepare(img, "blur")
    b = x.shape[0]
    s = _draw_severity(severity, b, generator, x, "blur")
    idx = (_rand((b,), generator, x) * len(kinds)).long().clamp(max=len(kinds) - 1).tolist()
    angle = _uniform(0.0, 180.0, (b,), generator, x)
    return add_blur(img, s, generator=generator, kind=[kinds[i] for i in idx], angle=angle)


def _smooth_field(b: int, h: int, w: int, generator: torch.Generator | None, like: Tensor) -> Tensor:
    """A smooth random field in ``[0, 1]``, ``(B, 1, H, W)`` (bilinear upsampling of 4x4 noise)."""
    coarse = _rand((b, 1, 4, 4), generator, like)
    f = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    lo = f.amin(dim=(2, 3), keepdim=True)
    hi = f.amax(dim=(2, 3), keepdim=True)
    return (f - lo) / (hi - lo).clamp(min=1e-6)


def add_haze(
    img: Tensor,
    severity: Severity,
    *,
    generator: torch.Generator | None = None,
    airlight: Param = None,
    depth: Tensor | None = None,
) -> Tensor:
    """Haze by the atmospheric scattering model ``I = J t + A (1 - t)``, ``t = exp(-2.5 s d)``.

    Without ``depth``, a depth proxy in ``[0.15, 1]`` is built: a vertical ramp (top of the
    frame far, bottom near, as in road and surveillance scenes) mixed 70/30 with a smooth
    random field (drawn from ``generator``).

    Args:
        img: ``(B, 3, H, W)`` (or 1-channel) float in ``[0, 1]``.
        severity: in ``[0, 1]``; at 1 the far top of the frame keeps 8-16 % of its signal.
        generator: seeds the depth field.
        airlight: atmospheric light ``A``, a number, ``(B,)`` or ``(B, C)``; default 0.9.
        depth: optional ``(B, 1, H, W)`` relative depth in ``[0, 1]`` (1 = far).
    """
    name = "haze"
    _require_generator(generator, name)
    x, squeeze = _prepare(img, name)
    b, c, h, w = x.shape
    s = _severity(severity, b, x, name)
    if depth is None:
        ramp = torch.linspace(1.0, 0.0, h, device=x.device, dtype=x.dtype).view(1, 1, h, 1).expand(b, 1, h, w)
        field = _smooth_field(b, h, w, generator, x)
        d = 0.15 + 0.85 * (0.7 * ramp + 0.3 * field)
    else:
        if not isinstance(depth, Tensor) or depth.shape != (b, 1, h, w):
            got = tuple(depth.shape) if isinstance(depth, Tensor) else type(depth).__name__
            raise DegradationError(f"{name}: depth must be a tensor of shape {(b, 1, h, w)}, got {got}")
        d = depth.to(device=x.device, dtype=x.dtype).clamp(0, 1)
    if airlight is None:
        a = x.new_full((b, c, 1, 1), 0.9)
    else:
        at = torch.as_tensor(airlight, dtype=x.dtype, device=x.device)
        if at.ndim == 1 and at.numel() == b:
            at = at.view(b, 1)
        a = _param(at, x.new_zeros(b, c), name, "airlight").view(b, c, 1, 1)
    t = torch.exp(-2.5 * _v(s) * d)
    out = x * t + a * (1 - t)
    return _finish(out, x, s, img, squeeze)


def random_add_haze(img: Tensor, *, generator: torch.Generator | None,
                    severity: SeverityArg = _DEFAULT_RANGE) -> Tensor:
    """:func:`add_haze` with random severity, airlight level 0.7-1.0 and a slight tint."""
    x, _ = _prepare(img, "haze")
    b, c = x.shape[:2]
    s = _draw_severity(severity, b, generator, x, "haze")
    level = _uniform(0.7, 1.0, (b, 1), generator, x)
    tint = _uniform(-0.03, 0.03, (b, c), generator, x) if c == 3 else x.new_zeros(b, c)
    return add_haze(img, s, generator=generator, airlight=(level + tint).clamp(0, 1))


def add_rain(
    img: Tensor,
    severity: Severity,
    *,
    generator: torch.Generator | None = None,
    angle: Param = None,
    length: Param = None,
    opacity: Param = None,
) -> Tensor:
    """Rain streaks: random drops smeared along a near-vertical line, screen-blended, plus a
    light veil.

    Drop density is ``0.006 s`` per pixel, streak length ``10 + 15 s`` px (unless
    ``length``), opacity ``0.4 + 0.5 s`` (unless ``opacity``); a veil toward 0.8 of
    strength ``0.15 s`` mimics the scattering of heavy rain.

    Args:
        img: ``(B, 3, H, W)`` (or 1-channel) float in ``[0, 1]``.
        severity: in ``[0, 1]``.
        generator: seeds the drop positions and brightness.
        angle: streak direction in degrees from horizontal (default 100, falling slightly
            to the left); per sample allowed.
        length: streak length in pixels; opacity: blend strength in ``[0, 1]``.
    """
    name = "rain"
    _require_generator(generator, name)
    x, squeeze = _prepare(img, name)
    b, c, h, w = x.shape
    s = _severity(severity, b, x, name)
    ang = _param(angle, x.new_full((b,), 100.0), name, "angle")
    ln = _param(length, 10.0 + 15.0 * s, name, "length").clamp(min=1.0)
    op = _param(opacity, 0.4 + 0.5 * s, name, "opacity").clamp(0, 1)
    drops = (_rand((b, 1, h, w), generator, x) < _v(0.006 * s)).to(x.dtype)
    drops = drops * _uniform(0.6, 1.0, (b, 1, h, w), generator, x)
    size = _odd(float(ln.max()) + 3)
    kernels = torch.stack([_line_kernel(float(ln[i]), float(ang[i]), size, x) for i in range(b)])
    kernels = kernels / kernels.amax(dim=(1, 2), keepdim=True)  # a drop keeps its brightness along the streak
    streaks = filter2d(drops, kernels, border_type="constant")
    streaks = gaussian_blur2d(streaks, (3, 3), (0.7, 0.7), border_type="replicate").clamp(0, 1)
    out = x + _v(op) * streaks * (1 - x)
    veil = _v(0.15 * s)
    out = out * (1 - veil) + 0.8 * veil
    return _finish(out, x, s, img, squeeze)


def random_add_rain(img: Tensor, *, generator: torch.Generator | None,
                    severity: SeverityArg = _DEFAULT_RANGE) -> Tensor:
    """:func:`add_rain` with random severity, angle 70-110 deg and streak length."""
    x, _ = _prepare(img, "rain")
    b = x.shape[0]
    s = _draw_severity(severity, b, generator, x, "rain")
    angle = _uniform(70.0, 110.0, (b,), generator, x)
    length = (8.0 + 20.0 * s) * _uniform(0.7, 1.3, (b,), generator, x)
    return add_rain(img, s, generator=generator, angle=angle, length=length)


# ----------------------------------------------------------------------------- infrared


def add_ir_low_contrast(
    img: Tensor,
    severity: Severity,
    *,
    generator: torch.Generator | None = None,
    shift: Param = None,
) -> Tensor:
    """Infrared low contrast: the range is compressed toward the image mean by ``1 - 0.75 s``
    and shifted by ``shift * s`` (default 0.2: a washed-out, foggy thermal image).

    Args:
        img: ``(B, 1, H, W)`` float in ``[0, 1]`` (3 equal channels also work).
        severity: in ``[0, 1]``; 1 keeps a quarter of the contrast.
        generator: unused (deterministic); accepted for a uniform API.
        shift: brightness offset at severity 1, number or ``(B,)``.
    """
    name = "ir_low_contrast"
    _require_generator(generator, name)
    x, squeeze = _prepare(img, name)
    b = x.shape[0]
    s = _severity(severity, b, x, name)
    sh = _param(shift, x.new_full((b,), 0.2), name, "shift")
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    out = m + (x - m) * _v(1 - 0.75 * s) + _v(sh * s)
    return _finish(out, x, s, img, squeeze)


def random_add_ir_low_contrast(img: Tensor, *, generator: torch.Generator | None,
                               severity: SeverityArg = _DEFAULT_RANGE) -> Tensor:
    """:func:`add_ir_low_contrast` with random severity and a shift in ``[-0.05, 0.35]``."""
    x, _ = _prepare(img, "ir_low_contrast")
    b = x.shape[0]
    s = _draw_severity(severity, b, generator, x, "ir_low_contrast")
    shift = _uniform(-0.05, 0.35, (b,), generator, x)
    return add_ir_low_contrast(img, s, generator=generator, shift=shift)


def add_ir_noise(
    img: Tensor,
    severity: Severity,
    *,
    generator: torch.Generator | None = None,
    correlation: Param = None,
    fixed_pattern: Param = None,
    offset: Param = None,
) -> Tensor:
    """Infrared sensor noise: Gaussian, standard deviation ``s * 40/255``, shared by all channels,
    optionally with the other marks of an uncorrected microbolometer.

    Args:
        img: ``(B, 1, H, W)`` float in ``[0, 1]``.
        severity: in ``[0, 1]``.
        generator: seeds the noise.
        correlation: share of spatially correlated noise (white noise blurred with
            sigma 1 px, renormalised to the same deviation) in ``[0, 1]``; default 0.
        fixed_pattern: deviation of one offset per column, relative to the noise deviation
            (rows get half of it), ``>= 0``; default 0 (no fixed pattern).
        offset: black-level drift added to every pixel (not scaled by severity), in
            ``[-1, 1]``; default 0.
    """
    name = "ir_noise"
    _require_generator(generator, name)
    x, squeeze = _prepare(img, name)
    b, _, h, w = x.shape
    s = _severity(severity, b, x, name)
    rho = _v(_param(correlation, x.new_zeros(b), name, "correlation").clamp(0, 1))
    fp = _v(_param(fixed_pattern, x.new_zeros(b), name, "fixed_pattern").clamp(min=0))
    drift = _v(_param(offset, x.new_zeros(b), name, "offset").clamp(-1, 1))
    white = _randn((b, 1, h, w), generator, x)
    base = _randn((b, 1, h, w), generator, x)
    k = get_gaussian_kernel2d((5, 5), x.new_tensor([[1.0, 1.0]]), device=x.device, dtype=x.dtype)
    corr = filter2d(base, k, border_type="reflect" if min(h, w) > 2 else "replicate") / torch.sqrt((k * k).sum())
    n = torch.sqrt(1 - rho) * white + torch.sqrt(rho) * corr
    if bool((fp > 0).any()):
        n = n + fp * (_randn((b, 1, 1, w), generator, x) + 0.5 * _randn((b, 1, h, 1), generator, x))
    out = x + _v(s) * (40.0 / 255.0) * n + drift
    return _finish(out, x, s, img, squeeze)


def random_add_ir_noise(img: Tensor, *, generator: torch.Generator | None,
                        severity: SeverityArg = _DEFAULT_RANGE, sensor_marks: bool = True) -> Tensor:
    """:func:`add_ir_noise` with random severity, a correlated share in ``[0, 0.8]``, and (each
    half of the time) a fixed pattern in ``[0.2, 0.8]`` and a black-level drift in ``[-0.05, 0.15]``.

    ``sensor_marks=False`` draws plain noise as before December 2026 (correlated share in
    ``[0, 0.5]``, no fixed pattern, no drift; the same random stream), e.g. for a detector that
    must keep stripes a type of their own."""
    x, _ = _prepare(img, "ir_noise")
    b = x.shape[0]
    s = _draw_severity(severity, b, generator, x, "ir_noise")
    if not sensor_marks:
        return add_ir_noise(img, s, generator=generator, correlation=_uniform(0.0, 0.5, (b,), generator, x))
    rho = _uniform(0.0, 0.8, (b,), generator, x)
    fp = _uniform(0.2, 0.8, (b,), generator, x) * (_rand((b,), generator, x) < 0.5)
    drift = _uniform(-0.05, 0.15, (b,), generator, x) * (_rand((b,), generator, x) < 0.5)
    return add_ir_noise(img, s, generator=generator, correlation=rho, fixed_pattern=fp, offset=drift)


def add_ir_stripe(
    img: Tensor,
    severity: Severity,
    *,
    generator: torch.Generator | None = None,
    gain_share: Param = None,
    orientation: Literal["vertical", "horizontal"] | Sequence[str] = "vertical",
) -> Tensor:
    """Infrared stripe (fixed-pattern) noise: one offset and one gain per column
    (``"vertical"`` stripes) or per row, plus a little white noise.

    Offsets have deviation ``0.08 s (1 - gain_share)`` + gains deviation ``0.16 s gain_share``
    (default ``gain_share`` 0.25); white noise deviation is ``0.01 s``.

    Args:
        img: ``(B, 1, H, W)`` float in ``[0, 1]``.
        severity: in ``[0, 1]``.
        generator: seeds the pattern.
        gain_share: share of multiplicative (gain) non-uniformity, ``[0, 1]``.
        orientation: ``"vertical"`` (column stripes, the usual case) or ``"horizontal"``,
            or one per sample.
    """
    name = "ir_stripe"
    _require_generator(generator, name)
    x, squeeze = _prepare(img, name)
    b, _, h, w = x.shape
    s = _severity(severity, b, x, name)
    orients = [orientation] * b if isinstance(orientation, str) else list(orientation)
    if len(orients) != b or any(o not in ("vertical", "horizontal") for o in orients):
        raise DegradationError(f"{name}: orientation must be 'vertical' or 'horizontal' (one per sample), "
                               f"got {orientation!r}")
    gs = _v(_param(gain_share, x.new_full((b,), 0.25), name, "gain_share").clamp(0, 1))
    col_o = _randn((b, 1, 1, w), generator, x)
    col_g = _randn((b, 1, 1, w), generator, x)
    row_o = _randn((b, 1, h, 1), generator, x)
    row_g = _randn((b, 1, h, 1), generator, x)
    white = _randn((b, 1, h, w), generator, x)
    vert = x.new_tensor([o == "vertical" for o in orients]).view(b, 1, 1, 1)
    off = torch.where(vert > 0, col_o.expand(b, 1, h, w), row_o.expand(b, 1, h, w))
    gain = torch.where(vert > 0, col_g.expand(b, 1, h, w), row_g.expand(b, 1, h, w))
    sv = _v(s)
    out = x * (1 + 0.16 * sv * gs * gain) + 0.08 * sv * (1 - gs) * off + 0.01 * sv * white
    return _finish(out, x, s, img, squeeze)


def random_add_ir_stripe(img: Tensor, *, generator: torch.Generator | None,
                         severity: SeverityArg = _DEFAULT_RANGE) -> Tensor:
    """:func:`add_ir_stripe` with random severity, gain share and (15 %) horizontal stripes."""
    x, _ = _prepare(img, "ir_stripe")
    b = x.shape[0]
    s = _draw_severity(severity, b, generator, x, "ir_stripe")
    gs = _uniform(0.0, 0.6, (b,), generator, x)
    horiz = (_rand((b,), generator, x) < 0.15).tolist()
    orient = ["horizontal" if hz else "vertical" for hz in horiz]
    return add_ir_stripe(img, s, generator=generator, gain_share=gs, orientation=orient)


# ----------------------------------------------------------------------------- registry


class DegradationInfo(NamedTuple):
    """One entry of :data:`DEGRADATIONS`."""

    modality: Literal["vis", "ir"]
    add_fn: Callable[..., Tensor]
    random_fn: Callable[..., Tensor]
    description: str


DEGRADATIONS: Registry[DegradationInfo] = Registry("degradation")
for _name, _info in (
    ("low_light", DegradationInfo("vis", add_low_light, random_add_low_light,
                                  "visible image too dark: exposure drop, gamma, colour cast, sensor noise")),
    ("overexposure", DegradationInfo("vis", add_overexposure, random_add_overexposure,
                                     "visible image overexposed: clipped highlights, washed-out colour")),
    ("noise", DegradationInfo("vis", add_noise, random_add_noise, "random Gaussian noise in the visible image")),
    ("blur", DegradationInfo("vis", add_blur, random_add_blur,
                             "visible image blurred: Gaussian, defocus or motion blur")),
    ("haze", DegradationInfo("vis", add_haze, random_add_haze,
                             "haze or fog over the visible image (atmospheric scattering)")),
    ("rain", DegradationInfo("vis", add_rain, random_add_rain, "rain streaks over the visible image")),
    ("ir_low_contrast", DegradationInfo("ir", add_ir_low_contrast, random_add_ir_low_contrast,
                                        "infrared image with low contrast")),
    ("ir_noise", DegradationInfo("ir", add_ir_noise, random_add_ir_noise, "random noise in the infrared image")),
    ("ir_stripe", DegradationInfo("ir", add_ir_stripe, random_add_ir_stripe,
                                  "stripe (column fixed-pattern) noise in the infrared image")),
):
    DEGRADATIONS.add(_name, _info)

#: Visible-image degradations, in registry order.
VIS_DEGRADATIONS = ("low_light", "overexposure", "noise", "blur", "haze", "rain")
#: Infrared degradations, in registry order.
IR_DEGRADATIONS = ("ir_low_contrast", "ir_noise", "ir_stripe")
#: Order in which the parts of a composite are applied (scene -> optics -> exposure -> sensor).
APPLY_ORDER = ("haze", "rain", "blur", "low_light", "overexposure", "noise",
               "ir_low_contrast", "ir_stripe", "ir_noise")
_INCOMPATIBLE = {frozenset(("low_light", "overexposure"))}


def _allowed_pair(a: str, b: str) -> bool:
    return a != b and frozenset((a, b)) not in _INCOMPATIBLE


def composite_name(parts: Sequence[str]) -> str:
    """``["ir_noise", "low_light"]`` -> ``"low_light+ir_noise"`` (parts sorted by :data:`APPLY_ORDER`)."""
    for p in parts:
        DEGRADATIONS.get(p)
    return "+".join(sorted(parts, key=APPLY_ORDER.index))


#: All composite task names: one degradation in each modality, or two compatible ones in one.
COMPOSITES: tuple[str, ...] = tuple(
    composite_name((a, b))
    for i, a in enumerate(APPLY_ORDER)
    for b in APPLY_ORDER[i + 1:]
    if _allowed_pair(a, b)
)


def modality_of(name: str) -> str:
    """``"vis"`` or ``"ir"`` for a degradation name (unknown names raise with suggestions)."""
    return DEGRADATIONS.get(name).modality


def split_task(task: str) -> tuple[str, ...]:
    """Parts of a task name in application order: ``"fusion"`` -> ``()``,
    ``"low_light"`` -> ``("low_light",)``, ``"ir_noise+low_light"`` -> ``("low_light", "ir_noise")``.

    Raises:
        UnknownNameError: a part is not a degradation name (with "did you mean").
        DegradationError: a part repeats, or the combination is not allowed
            (low light with overexposure).
    """
    if not isinstance(task, str):
        raise DegradationError(f"task must be a string, got {type(task).__name__}")
    t = task.strip().lower()
    if t in ("", NEUTRAL_TASK, "clean", "none"):
        return ()
    parts = tuple(p.strip() for p in t.split("+"))
    for p in parts:
        DEGRADATIONS.get(p)
    if len(set(parts)) != len(parts):
        raise DegradationError(f"task {task!r} repeats a degradation")
    for i, a in enumerate(parts):
        for b in parts[i + 1:]:
            if not _allowed_pair(a, b):
                raise DegradationError(f"task {task!r}: {a} and {b} cannot be combined")
    return tuple(sorted(parts, key=APPLY_ORDER.index))


def severity_band(severity: float) -> str:
    """``"mild"`` below 0.35, ``"moderate"`` below 0.7, else ``"severe"``."""
    s = float(severity)
    return "mild" if s < 0.35 else ("moderate" if s < 0.7 else "severe")


def apply_degradation(name: str, img: Tensor, severity: Severity,
                      generator: torch.Generator | None = None) -> Tensor:
    """Apply degradation ``name`` (or a same-modality composite ``"a+b"``) with canonical
    sub-parameters. ``img``: ``(B, C, H, W)`` or ``(C, H, W)`` float in ``[0, 1]``.

    Raises:
        UnknownNameError: unknown name (the message suggests close names).
        DegradationError: a composite that mixes modalities (use :func:`degrade_pair`).
    """
    parts = split_task(name)
    if not parts:
        _prepare(img, NEUTRAL_TASK)
        return img.clamp(0, 1)
    if len({modality_of(p) for p in parts}) > 1:
        raise DegradationError(f"{name!r} degrades both modalities; use degrade_pair(vis, ir, ...)")
    out = img
    for p in parts:
        out = DEGRADATIONS.get(p).add_fn(out, severity, generator=generator)
    return out


class DegradedPair(NamedTuple):
    """Result of :func:`degrade_pair`."""

    vis: Tensor
    ir: Tensor
    severity: dict[str, float]


def degrade_pair(
    vis: Tensor,
    ir: Tensor,
    task: str,
    *,
    severity: float | tuple[float, float] | dict[str, float] | None = None,
    generator: torch.Generator | None = None,
    randomize: bool = True,
    random_options: Mapping[str, Mapping[str, Any]] | None = None,
) -> DegradedPair:
    """Apply a task (``"fusion"``, a degradation or a composite ``"a+b"``) to a pair.

    Args:
        vis: ``(B, 3, H, W)`` or ``(3, H, W)`` float in ``[0, 1]``.
        ir: ``(B, 1, H, W)`` or ``(1, H, W)`` float in ``[0, 1]``.
        task: task name; parts apply in :data:`APPLY_ORDER`, each to its own modality.
        severity: a float for every part, a ``(low, high)`` range to draw each part's
            severity from, a ``{part: severity}`` dict, or ``None`` for ``(0.1, 1.0)``.
        generator: drives every random choice.
        randomize: draw random sub-parameters (``random_add_x``) rather than the
            canonical ones (``add_x``).
        random_options: extra keyword arguments per degradation for its ``random_add_x``
            (with ``randomize``), e.g. ``{"blur": {"kinds": ["gaussian"]}}``.

    Returns:
        ``DegradedPair(vis, ir, severity)`` with the severity used for each part (for a
        batch, that of the first sample).
    """
    parts = split_task(task)
    used: dict[str, float] = {}
    for p in parts:
        info = DEGRADATIONS.get(p)
        target = vis if info.modality == "vis" else ir
        if isinstance(severity, dict):
            if p not in severity:
                raise DegradationError(f"degrade_pair: no severity given for {p!r}")
            sp = float(severity[p])
        elif isinstance(severity, tuple):
            sp = None
            rng = severity
        elif severity is None:
            sp, rng = None, _DEFAULT_RANGE
        else:
            sp = float(severity)
        if sp is None:
            lo, hi = float(rng[0]), float(rng[1])
            if not (0.0 <= lo <= hi <= 1.0):
                raise DegradationError(f"degrade_pair: severity range must satisfy 0 <= low <= high <= 1, "
                                       f"got {rng!r}")
            u = torch.rand((), generator=generator, device=_gen_device(generator, target)).item()
            sp = lo + (hi - lo) * u
        used[p] = sp
        if randomize:
            out = info.random_fn(target, generator=generator, severity=sp, **dict((random_options or {}).get(p, {})))
        else:
            out = info.add_fn(target, sp, generator=generator)
        if info.modality == "vis":
            vis = out
        else:
            ir = out
    return DegradedPair(vis, ir, used)


def sample_composite(
    generator: torch.Generator | _pyrandom.Random | None = None,
    *,
    names: Sequence[str] | None = None,
    cross_modal_prob: float = 0.6,
) -> str:
    """Draw a composite task name ``"a+b"``.

    With probability ``cross_modal_prob`` one visible and one infrared degradation,
    otherwise two compatible ones in the same modality.

    Args:
        generator: ``torch.Generator`` or ``random.Random``.
        names: the degradations allowed (default all).
        cross_modal_prob: in ``[0, 1]``.

    Raises:
        DegradationError: ``names`` allow no composite.
    """
    if names is None:
        pool = list(DEGRADATIONS.names())
    else:
        pool = [n.lower() for n in names]
        for n in pool:
            DEGRADATIONS.get(n)
    if not 0.0 <= cross_modal_prob <= 1.0:
        raise DegradationError(f"cross_modal_prob must be in [0, 1], got {cross_modal_prob}")

    def rnd() -> float:
        if isinstance(generator, _pyrandom.Random):
            return generator.random()
        return float(torch.rand((), generator=generator))

    vis = [n for n in pool if modality_of(n) == "vis"]
    ir = [n for n in pool if modality_of(n) == "ir"]
    cross = [(a, b) for a in vis for b in ir]
    same = [(a, b) for grp in (vis, ir) for i, a in enumerate(grp) for b in grp[i + 1:] if _allowed_pair(a, b)]
    if not cross and not same:
        raise DegradationError(f"no composite can be formed from {pool}")
    use_cross = bool(cross) and (not same or rnd() < cross_modal_prob)
    options = sorted(cross if use_cross else same)
    pick = options[min(int(rnd() * len(options)), len(options) - 1)]
    return composite_name(pick)
