"""The degradation detector: a compact CNN that says what is wrong with each input image.

One branch per modality (visible: 3 channels, infrared: 1 channel). Each branch looks at

* a *global* view: the whole image resized to ``size x size`` (exposure, haze, rain layout);
* ``K`` *local* views: ``crop x crop`` crops at full resolution, where noise, stripes and
  blur live (downscaling would hide them); their features are averaged;
* a few hand-crafted statistics (:func:`image_statistics`): brightness percentiles,
  clipping, saturation, dark channel, a noise estimate, sharpness, column/row banding;

and predicts, per degradation type, a presence logit and a severity in [0, 1].

Preparation of the views from an image of any size is :func:`detector_views`; the network
only sees fixed-size tensors, so it costs the same for any input resolution.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textif.core.errors import ModelNotFoundError
from textif.core.io import atomic_write
from textif.core.registry import Registry

__all__ = [
    "DetectorConfig",
    "DegradationDetector",
    "DETECTORS",
    "register_detector",
    "create_detector",
    "detector_config",
    "list_detectors",
    "image_statistics",
    "ImageStatistics",
    "detector_views",
    "crop_positions",
    "N_STATS",
    "DetectorCheckpoint",
    "save_detector",
    "load_detector",
    "DETECTOR_WEIGHTS",
]

#: Folder of the shipped detector weights.
DETECTOR_WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "detector"

#: Number of values :func:`image_statistics` returns per image.
N_STATS = 19


@dataclass
class DetectorConfig:
    """Architecture of a :class:`DegradationDetector` (saved as ``config.json``).

    Attributes:
        vis_types / ir_types: degradation names of each head, in output order (the names of
            ``textif.data.degradations``).
        size: side of the global (resized) view.
        crop: side of the full-resolution crops.
        crops: crops taken at inference (training may use fewer).
        channels: widths of the four stages of the global CNN.
        local_channels: widths of the three stages of the local CNN.
        hidden: width of the head MLP.
    """

    vis_types: tuple[str, ...] = ("low_light", "overexposure", "noise", "blur", "haze", "rain")
    ir_types: tuple[str, ...] = ("ir_low_contrast", "ir_noise", "ir_stripe")
    size: int = 160
    crop: int = 96
    crops: int = 4
    channels: tuple[int, ...] = (12, 16, 32, 48)
    local_channels: tuple[int, ...] = (12, 24, 32)
    hidden: int = 96

    def __post_init__(self) -> None:
        self.vis_types = tuple(str(t) for t in self.vis_types)
        self.ir_types = tuple(str(t) for t in self.ir_types)
        self.channels = tuple(int(c) for c in self.channels)
        self.local_channels = tuple(int(c) for c in self.local_channels)
        if len(self.channels) != 4 or len(self.local_channels) != 3:
            raise ValueError("channels needs 4 widths and local_channels 3")
        if self.size < 32 or self.crop < 16 or self.crops < 1:
            raise ValueError(f"size >= 32, crop >= 16 and crops >= 1 required, got {self.size}, {self.crop}, {self.crops}")

    def types(self, modality: str) -> tuple[str, ...]:
        return self.vis_types if modality == "vis" else self.ir_types

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for k in ("vis_types", "ir_types", "channels", "local_channels"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DetectorConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown DetectorConfig fields: {sorted(unknown)}")
        return cls(**d)


# ---------------------------------------------------------------------------- statistics
def _luma(x: Tensor) -> Tensor:
    if x.shape[1] == 1:
        return x
    w = x.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def _quantiles(x: Tensor, qs: tuple[float, ...]) -> Tensor:
    """Per-sample quantiles of ``x: (B, ...)`` -> ``(B, len(qs))`` (on a strided subsample)."""
    flat = x.flatten(1)
    if flat.shape[1] > 4096:
        flat = flat[:, :: flat.shape[1] // 4096 + 1]
    srt = flat.sort(dim=1).values
    idx = [min(srt.shape[1] - 1, int(round(q * (srt.shape[1] - 1)))) for q in qs]
    return srt[:, idx]


def image_statistics(global_view: Tensor, crops: Tensor) -> Tensor:
    """Cheap hand-crafted cues of one modality.

    Args:
        global_view: ``(B, C, S, S)`` float in [0, 1], the resized whole image (C = 1 or 3).
        crops: ``(B, K, C, c, c)`` float in [0, 1], full-resolution crops.

    Returns:
        ``(B, N_STATS)`` float: luminance p1/p50/p99, standard deviation, shares of nearly black
        and nearly white pixels, mean saturation, dark-channel median (haze), global gradient
        energy, and from the crops: log noise estimate (MAD of a Laplacian), log gradient
        energy, the ratio of fine to coarse gradients (blur), log column and row banding
        (deviation of column/row means from their smoothed profile), their ratio, the
        share of saturated-white pixels in the crops, edge sharpness (99th percentile of the
        gradient over the crop's intensity range), and thin bright vertical-vs-horizontal
        structure (rain streaks) in the crops and in the global view.
    """
    x = global_view.float()
    b = x.shape[0]
    y = _luma(x)
    q = _quantiles(y, (0.01, 0.5, 0.99))
    std = y.flatten(1).std(dim=1, keepdim=True)
    black = (y < 0.03).float().flatten(1).mean(1, keepdim=True)
    white = (y > 0.97).float().flatten(1).mean(1, keepdim=True)
    if x.shape[1] == 3:
        mx, mn = x.max(1).values, x.min(1).values
        sat = ((mx - mn) / (mx + 1e-3)).flatten(1).mean(1, keepdim=True)
        dark = -F.max_pool2d(-mn[:, None], 5, stride=2, padding=2)
        dark = dark.flatten(1).mean(dim=1, keepdim=True)
    else:
        sat = x.new_zeros(b, 1)
        dark = x.new_zeros(b, 1)
    gy, gx = y[..., 1:, :] - y[..., :-1, :], y[..., :, 1:] - y[..., :, :-1]
    gglob = (gy.abs().flatten(1).mean(1, keepdim=True) + gx.abs().flatten(1).mean(1, keepdim=True))

    c = crops.float()
    k = c.shape[1]
    cy = _luma(c.flatten(0, 1))  # (B*K, 1, c, c)
    lap = cy[..., 1:-1, 1:-1] * 4 - cy[..., :-2, 1:-1] - cy[..., 2:, 1:-1] - cy[..., 1:-1, :-2] - cy[..., 1:-1, 2:]
    noise = lap.abs().flatten(1).median(dim=1).values / 0.6745 / 20 ** 0.5
    fine = (cy[..., 1:, :] - cy[..., :-1, :]).abs().mean((1, 2, 3)) + (cy[..., :, 1:] - cy[..., :, :-1]).abs().mean((1, 2, 3))
    half = F.avg_pool2d(cy, 2)
    coarse = (half[..., 1:, :] - half[..., :-1, :]).abs().mean((1, 2, 3)) + (half[..., :, 1:] - half[..., :, :-1]).abs().mean((1, 2, 3))
    ratio = fine / (coarse + 1e-4)

    def banding(profile: Tensor) -> Tensor:  # (N, L) -> (N,)
        smooth = F.avg_pool1d(F.pad(profile[:, None], (4, 4), mode="replicate"), 9, stride=1)[:, 0]
        return (profile - smooth).abs().mean(1)

    cols = banding(cy.mean(dim=2)[:, 0])
    rows = banding(cy.mean(dim=3)[:, 0])
    cwhite = (cy > 0.97).float().mean((1, 2, 3))
    grad = torch.maximum((cy[..., 1:, 1:] - cy[..., :-1, 1:]).abs(), (cy[..., 1:, 1:] - cy[..., 1:, :-1]).abs())
    gq = _quantiles(grad, (0.99,))[:, 0]
    rq = _quantiles(cy, (0.02, 0.98))
    sharp = gq / (rq[:, 1] - rq[:, 0] + 0.02)

    def streaks(z: Tensor) -> Tensor:  # thin bright lines: across-x contrast minus across-y contrast
        hx = F.relu(z[..., 2:-2, 2:-2] - 0.5 * (z[..., 2:-2, :-4] + z[..., 2:-2, 4:]))
        hy = F.relu(z[..., 2:-2, 2:-2] - 0.5 * (z[..., :-4, 2:-2] + z[..., 4:, 2:-2]))
        return (hx.mean((1, 2, 3)) - hy.mean((1, 2, 3))) / (hx.mean((1, 2, 3)) + hy.mean((1, 2, 3)) + 1e-3)

    def per_image(v: Tensor) -> Tensor:
        return v.view(b, k).mean(1, keepdim=True)

    eps = 1e-4
    stats = torch.cat(
        [
            q, std, black, white, sat, dark, gglob * 10,
            torch.log(per_image(noise) + eps) / 5,
            torch.log(per_image(fine) + eps) / 5,
            per_image(ratio),
            torch.log(per_image(cols) + eps) / 5,
            torch.log(per_image(rows) + eps) / 5,
            (torch.log(per_image(cols) + eps) - torch.log(per_image(rows) + eps)) / 2,
            per_image(cwhite),
            per_image(sharp),
            per_image(streaks(cy)),
            streaks(y)[:, None],
        ],
        dim=1,
    )
    return stats.to(global_view.dtype)


class ImageStatistics(nn.Module):
    """Module form of :func:`image_statistics`."""

    def forward(self, global_view: Tensor, crops: Tensor) -> Tensor:
        return image_statistics(global_view, crops)


# ---------------------------------------------------------------------------- views
def crop_positions(h: int, w: int, crop: int, n: int) -> list[tuple[int, int]]:
    """``n`` deterministic top-left corners of ``crop``-sized crops spread over an ``h x w`` image
    (a 2 x 2 grid inside the central 80 % for ``n = 4``; the centre for ``n = 1``)."""
    ch, cw = min(crop, h), min(crop, w)
    if n == 1:
        return [((h - ch) // 2, (w - cw) // 2)]
    g = int(round(n ** 0.5 + 0.4999))
    pos = []
    for i in range(n):
        r, c = divmod(i, g)
        fy = 0.1 + 0.8 * (r + 0.5) / g
        fx = 0.1 + 0.8 * (c + 0.5) / g
        pos.append((int(round(fy * h - ch / 2)), int(round(fx * w - cw / 2))))
    return [(min(max(0, y), h - ch), min(max(0, x), w - cw)) for y, x in pos]


def detector_views(img: Tensor, *, size: int, crop: int, positions: list[tuple[int, int]] | None = None,
                   crops: int = 4) -> tuple[Tensor, Tensor]:
    """The detector's input views of an image of any size.

    Args:
        img: ``(B, C, H, W)`` float in [0, 1].
        size: side of the global view (the whole image, resized with anti-aliasing).
        crop: side of the full-resolution crops (images smaller than that are padded by reflection).
        positions: top-left corners; default :func:`crop_positions` with ``crops`` crops.

    Returns:
        ``global_view (B, C, size, size)`` and ``crops (B, K, C, crop, crop)``, in ``img``'s dtype.
    """
    if img.ndim != 4:
        raise ValueError(f"expected (B, C, H, W), got {tuple(img.shape)}")
    h, w = img.shape[-2:]
    if h >= size and w >= size:
        g = F.adaptive_avg_pool2d(img, (size, size))  # area resampling: fast and alias-free
    else:
        g = F.interpolate(img, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    x = img
    if h < crop or w < crop:
        ph, pw = max(0, crop - h), max(0, crop - w)
        mode = "reflect" if (ph < h and pw < w) else "replicate"
        x = F.pad(img, (0, pw, 0, ph), mode=mode)
        h, w = x.shape[-2:]
    pos = positions if positions is not None else crop_positions(h, w, crop, crops)
    cs = torch.stack([x[..., y:y + crop, xx:xx + crop] for y, xx in pos], dim=1)
    return g, cs


# ---------------------------------------------------------------------------- network
def _conv(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class _Branch(nn.Module):
    def __init__(self, cfg: DetectorConfig, in_ch: int, n_types: int) -> None:
        super().__init__()
        c = cfg.channels
        self.glob = nn.Sequential(
            _conv(in_ch, c[0], 2),
            _conv(c[0], c[1], 2), _conv(c[1], c[1], 1),
            _conv(c[1], c[2], 2), _conv(c[2], c[2], 1),
            _conv(c[2], c[3], 2), _conv(c[3], c[3], 1),
        )
        lc = cfg.local_channels
        self.local = nn.Sequential(  # a strided 3x3 conv still sees pixel-level noise and stripes
            _conv(in_ch, lc[0], 2),
            _conv(lc[0], lc[1], 2), _conv(lc[1], lc[1], 1),
            _conv(lc[1], lc[2], 2),
        )
        self.stats_norm = nn.BatchNorm1d(N_STATS)
        feat = 2 * c[3] + 2 * lc[2] + N_STATS
        self.head = nn.Sequential(nn.Linear(feat, cfg.hidden), nn.ReLU(inplace=True), nn.Dropout(0.1),
                                  nn.Linear(cfg.hidden, 2 * n_types))
        self.n = n_types

    def forward(self, g: Tensor, crops: Tensor, stats: Tensor | None = None) -> tuple[Tensor, Tensor]:
        b, k = crops.shape[:2]
        stats = self.stats_norm(image_statistics(g, crops) if stats is None else stats.to(g.dtype))
        fg = self.glob(g * 2 - 1)
        fg = torch.cat([fg.mean((2, 3)), fg.amax((2, 3))], 1)
        fl = self.local(crops.flatten(0, 1) * 2 - 1)
        fl = torch.cat([fl.mean((2, 3)), fl.amax((2, 3))], 1).view(b, k, -1).mean(1)
        out = self.head(torch.cat([fg, fl, stats], 1))
        return out[:, : self.n], torch.sigmoid(out[:, self.n:])


class DegradationDetector(nn.Module):
    """Predicts, per modality, which degradations an image has and how strong they are.

    Example:
        >>> det = DegradationDetector(config=DetectorConfig(size=64, crop=32, crops=2))
        >>> g, c = detector_views(torch.rand(2, 3, 100, 120), size=64, crop=32, crops=2)
        >>> logits, severity = det.forward_modality("vis", g, c)
        >>> logits.shape, severity.shape
        (torch.Size([2, 6]), torch.Size([2, 6]))
    """

    def __init__(self, *, config: DetectorConfig | None = None, **overrides: Any) -> None:
        super().__init__()
        cfg = dataclasses.replace(config or DetectorConfig(), **overrides)
        self.config = cfg
        self.vis = _Branch(cfg, 3, len(cfg.vis_types))
        self.ir = _Branch(cfg, 1, len(cfg.ir_types))

    def forward_modality(self, modality: str, global_view: Tensor, crops: Tensor, stats: Tensor | None = None
                         ) -> tuple[Tensor, Tensor]:
        """One modality's prediction.

        Args:
            modality: ``"vis"`` (3-channel views) or ``"ir"`` (1-channel views).
            global_view: ``(B, C, size, size)`` float in [0, 1]; crops: ``(B, K, C, crop, crop)``.
            stats: ``(B, N_STATS)`` precomputed :func:`image_statistics` (training computes them
                on more crops than it feeds the CNN); ``None`` computes them from the views.

        Returns:
            ``logits (B, T)`` (presence, before the sigmoid) and ``severity (B, T)`` in [0, 1],
            T = number of types of that modality, in ``config.<modality>_types`` order.
        """
        if modality not in ("vis", "ir"):
            raise ValueError(f"modality must be 'vis' or 'ir', got {modality!r}")
        want = 3 if modality == "vis" else 1
        if global_view.shape[1] != want or crops.shape[2] != want:
            raise ValueError(f"{modality} views must have {want} channel(s), got {tuple(global_view.shape)} / {tuple(crops.shape)}")
        return (self.vis if modality == "vis" else self.ir)(global_view, crops, stats)

    def forward(self, vis_global: Tensor, vis_crops: Tensor, ir_global: Tensor, ir_crops: Tensor
                ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Both modalities: ``(vis_logits, vis_severity, ir_logits, ir_severity)``."""
        vl, vs = self.forward_modality("vis", vis_global, vis_crops)
        il, is_ = self.forward_modality("ir", ir_global, ir_crops)
        return vl, vs, il, is_


# ---------------------------------------------------------------------------- registry
DETECTORS: Registry[Callable[..., DetectorConfig]] = Registry("detector")


def register_detector(name: str) -> Callable[[Callable[..., DetectorConfig]], Callable[..., DetectorConfig]]:
    """Register a function returning the :class:`DetectorConfig` of a detector preset."""
    return DETECTORS.register(name)


@register_detector("detector")
def _default() -> DetectorConfig:
    """The shipped detector (global 160 px view + four 96 px full-resolution crops)."""
    return DetectorConfig()


@register_detector("detector-tiny")
def _tiny() -> DetectorConfig:
    """For tests: small views and narrow layers."""
    return DetectorConfig(size=64, crop=32, crops=2, channels=(4, 8, 8, 8), local_channels=(4, 8, 8), hidden=16)


def detector_config(name: str, **overrides: Any) -> DetectorConfig:
    return dataclasses.replace(DETECTORS.get(name)(), **overrides)


def create_detector(name: str = "detector", **overrides: Any) -> DegradationDetector:
    """Build a registered detector preset (untrained)."""
    return DegradationDetector(config=detector_config(name, **overrides))


def list_detectors() -> list[str]:
    return DETECTORS.names()


# ---------------------------------------------------------------------------- checkpoints
@dataclass
class DetectorCheckpoint:
    """A loaded detector with its decision thresholds and training provenance."""

    model: DegradationDetector
    thresholds: dict[str, float] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    trained: bool = False
    path: Path | None = None


def save_detector(model: DegradationDetector, folder: str | os.PathLike, *, thresholds: dict[str, float] | None = None,
                  training: dict[str, Any] | None = None, dtype: torch.dtype = torch.float16) -> Path:
    """Write ``folder/config.json`` and ``folder/model.safetensors`` (atomically; fp16 by default)."""
    from safetensors.torch import save_file

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: (v.detach().to("cpu", dtype) if v.is_floating_point() else v.detach().cpu()).contiguous()
             for k, v in model.state_dict().items()}
    meta = {
        "format_version": 1,
        "architecture": "degradation-detector",
        "config": model.config.to_dict(),
        "thresholds": thresholds or {},
        "trained": training is not None,
        "training": training or {},
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    atomic_write(out / "model.safetensors", lambda p: save_file(state, str(p), metadata={"format": "pt"}))
    atomic_write(out / "config.json", lambda p: p.write_text(json.dumps(meta, indent=2) + "\n"))
    return out


def load_detector(folder: str | os.PathLike | None = None) -> DetectorCheckpoint:
    """Load a detector folder (default: the shipped weights). Never unpickles.

    Raises:
        ModelNotFoundError: the folder or one of its files is missing or malformed.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    d = Path(folder) if folder is not None else DETECTOR_WEIGHTS
    cfg_file, weights = d / "config.json", d / "model.safetensors"
    if not cfg_file.is_file():
        raise ModelNotFoundError(f"{d}: not a detector checkpoint (config.json missing)")
    if not weights.is_file():
        raise ModelNotFoundError(f"{d}: model.safetensors missing")
    try:
        meta = json.loads(cfg_file.read_text())
        if meta.get("architecture") != "degradation-detector":
            raise ValueError(f"architecture is {meta.get('architecture')!r}, not 'degradation-detector'")
        config = DetectorConfig.from_dict(meta["config"])
    except (ValueError, KeyError, TypeError) as e:
        raise ModelNotFoundError(f"{cfg_file}: malformed detector config ({e})") from None
    model = DegradationDetector(config=config)
    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError) as e:
        raise ModelNotFoundError(f"{weights}: cannot read weights ({e})") from None
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise ModelNotFoundError(f"{weights}: weights do not match config.json ({str(e).splitlines()[0]})") from None
    return DetectorCheckpoint(model=model.eval(), thresholds={k: float(v) for k, v in meta.get("thresholds", {}).items()},
                              training=meta.get("training", {}), trained=bool(meta.get("trained", False)), path=d)
