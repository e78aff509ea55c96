"""How the evaluation reads images: the field's grey-level convention.

The fusion literature's tables are computed on 8-bit grey levels read the way the widely used
Python evaluator of CDDFuse (``utils/Evaluator.py`` / ``image_read_cv2(path, "GRAY")``) reads
them: OpenCV decodes the file as BGR, the ``float32`` pixels go through
``cv2.cvtColor(..., COLOR_BGR2GRAY)`` (Y = 0.299 R + 0.587 G + 0.114 B) and the result is rounded
with ``numpy.round`` (half to even). :func:`load_gray` reproduces that exactly for 8-bit files.

The no-reference models (NIQE, BRISQUE) see the same rounded grey image: that is pyiqa's
luminance (Y = 0.299 R + 0.587 G + 0.114 B on 0-255) rounded to integer levels, which is what
NIQE does internally anyway and what the peers' table fed to BRISQUE (the unrounded luminance of
a colour image changes BRISQUE by up to about 0.4 on images with flat regions).

Documented handling of other inputs (never a silent guess):

* 16-bit files are mapped to 0-255 by ``v * 255 / 65535`` before the grey conversion and the
  rounding (CDDFuse's ``cv2.imread`` would keep only the high byte); the metrics of the field are
  defined on 256 grey levels.
* 32-bit float files (TIFF) must hold values in [0, 1]; they are scaled by 255.
* An alpha channel is dropped (not composited), as ``cv2.imread`` does; palette images are expanded.
* NaN or infinite values, values outside the expected range and unsupported pixel types raise
  :class:`~textif.metrics.errors.MetricInputError`.

Arrays may be given instead of paths: ``(H, W)`` grey or ``(H, W, 3)`` RGB (``(H, W, 4)`` RGBA:
alpha dropped). ``uint8`` is taken as grey levels, ``uint16`` is mapped as above, other integer
types must lie in 0..255, and floating-point arrays must be on the 0-255 scale (a float array whose
maximum is at most 1 and which has fractional values is rejected as a probable [0, 1] image).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

import cv2
import numpy as np

from textif.core.io import decode_image_file
from textif.metrics.errors import MetricInputError, MetricSizeError

ImageLike = Union[str, "os.PathLike[str]", np.ndarray]

__all__ = [
    "ImageLike",
    "Loaded",
    "describe",
    "load_gray",
    "load_image",
    "load_rgb01",
    "load_triplet",
    "check_same_size",
]


@dataclass
class Loaded:
    """One image on the 0-255 scale, in the channel order RGB.

    ``pixels`` is ``(H, W)`` float32 (grey) or ``(H, W, 3)`` float32 RGB; ``bit_depth`` is what the
    file (or array) held: 8, 16 or 32 (float).
    """

    pixels: np.ndarray
    bit_depth: int
    name: str

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.pixels.shape[0]), int(self.pixels.shape[1])


def describe(x: ImageLike, role: str = "image") -> str:
    """A short name for messages: the path, or ``'<role> array'``."""
    if isinstance(x, (str, os.PathLike)):
        return str(x)
    return f"{role} array"


def _decode_file(path: Path) -> Loaded:
    arr = decode_image_file(path)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3:
        if arr.shape[2] not in (3, 4):
            raise MetricInputError(f"{path}: has {arr.shape[2]} channels; expected 1, 3 or 4")
        arr = arr[..., 2::-1]  # BGR(A) -> RGB, alpha dropped as cv2.imread does
    if arr.dtype == np.uint8:
        depth, px = 8, arr.astype(np.float32)
    elif arr.dtype == np.uint16:
        depth, px = 16, arr.astype(np.float32) * np.float32(255.0 / 65535.0)
    elif arr.dtype == np.float32:
        depth, px = 32, arr.astype(np.float32)
        if not np.isfinite(px).all():
            raise MetricInputError(f"{path}: contains NaN or infinite values")
        if px.min() < 0.0 or px.max() > 1.0:
            raise MetricInputError(
                f"{path}: float image with values in [{px.min():.4g}, {px.max():.4g}]; expected [0, 1]"
            )
        px = px * np.float32(255.0)
    else:
        raise MetricInputError(f"{path}: unsupported pixel type {arr.dtype} (use 8- or 16-bit images)")
    return Loaded(np.ascontiguousarray(px), depth, str(path))


def _from_array(a: np.ndarray, role: str) -> Loaded:
    name = f"{role} array"
    a = np.asarray(a)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[..., :3]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
        raise MetricInputError(f"{name}: shape {a.shape}; expected (H, W) grey or (H, W, 3) RGB")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise MetricInputError(f"{name}: is empty (shape {a.shape})")
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
        raise MetricInputError(f"{name}: unsupported pixel type {a.dtype}")
    if a.dtype == np.uint8:
        return Loaded(a.astype(np.float32), 8, name)
    if a.dtype == np.uint16:
        return Loaded(a.astype(np.float32) * np.float32(255.0 / 65535.0), 16, name)
    if np.issubdtype(a.dtype, np.integer):
        if a.min() < 0 or a.max() > 255:
            raise MetricInputError(f"{name}: integer values in [{a.min()}, {a.max()}]; expected grey levels 0..255")
        return Loaded(a.astype(np.float32), 8, name)
    f = a.astype(np.float64)
    if not np.isfinite(f).all():
        raise MetricInputError(f"{name}: contains NaN or infinite values")
    lo, hi = float(f.min()), float(f.max())
    if lo < 0.0 or hi > 255.0:
        raise MetricInputError(f"{name}: values in [{lo:.4g}, {hi:.4g}]; expected the 0-255 scale")
    if hi <= 1.0 and np.any(f != np.round(f)):
        raise MetricInputError(
            f"{name}: values lie in [0, 1]; metrics use the 0-255 scale (multiply by 255 or pass uint8)"
        )
    return Loaded(f.astype(np.float32), 32, name)


def load_image(x: ImageLike, role: str = "image") -> Loaded:
    """Decode a path or array once (0-255 float32, RGB order); :func:`load_triplet` accepts the result."""
    return _load(x, role)


def _load(x: ImageLike, role: str) -> Loaded:
    if isinstance(x, Loaded):
        return x
    if isinstance(x, (str, os.PathLike)):
        return _decode_file(Path(x))
    if isinstance(x, np.ndarray) or hasattr(x, "__array__"):
        return _from_array(np.asarray(x), role)
    raise MetricInputError(f"{role}: expected a file path or a numpy array, got {type(x).__name__}")


def _gray_rounded(img: Loaded) -> np.ndarray:
    px = img.pixels
    if px.ndim == 3:
        px = cv2.cvtColor(px, cv2.COLOR_RGB2GRAY)  # float32: 0.299 R + 0.587 G + 0.114 B, as BGR2GRAY on BGR
    return np.round(px).astype(np.float64)


def load_gray(x: ImageLike, role: str = "image") -> np.ndarray:
    """The evaluator's grey image: ``(H, W)`` float64 holding integer grey levels 0..255."""
    return _gray_rounded(_load(x, role))


def load_rgb01(x: ImageLike, role: str = "image") -> np.ndarray:
    """``(H, W, 3)`` float32 RGB in [0, 1] (input of the learned no-reference models)."""
    px = _load(x, role).pixels
    if px.ndim == 2:
        px = np.repeat(px[..., None], 3, axis=2)
    return np.clip(px / np.float32(255.0), 0.0, 1.0).astype(np.float32)


def check_same_size(fused: tuple[int, int], fused_name: str, **sources: tuple[tuple[int, int], str]) -> None:
    """Raise :class:`MetricSizeError` unless every source has the fused image's height and width."""
    for role, (shape, name) in sources.items():
        if tuple(shape) != tuple(fused):
            raise MetricSizeError(
                f"{fused_name}: fused image is {fused[1]}x{fused[0]} (WxH) but the {role} source {name} is "
                f"{shape[1]}x{shape[0]}; fused images must have their sources' size (nothing is resized)"
            )


@dataclass
class Triplet:
    """A fused image and its two sources, loaded once and shared by all metrics.

    ``fused``, ``ir``, ``vis``: evaluator grey images ``(H, W)`` float64, integer levels 0..255
    (``ir``/``vis`` are ``None`` when not given). ``fused_rgb01`` (for the learned no-reference
    models) is computed on use.
    """

    fused: np.ndarray
    ir: Optional[np.ndarray]
    vis: Optional[np.ndarray]
    names: dict[str, str]
    bit_depths: dict[str, int]
    _fused_img: Loaded = field(repr=False, default=None)  # type: ignore[assignment]

    @property
    def fused_rgb01(self) -> np.ndarray:
        return load_rgb01(self._fused_img)


def load_triplet(fused: ImageLike, ir: Optional[ImageLike] = None, vis: Optional[ImageLike] = None) -> Triplet:
    """Load a fused image and (optionally) its sources; check that the sizes agree.

    Raises:
        ImageReadError, MetricInputError: a file or array is unusable.
        MetricSizeError: a source's height/width differs from the fused image's.
    """
    f = _load(fused, "fused")
    names = {"fused": f.name}
    depths = {"fused": f.bit_depth}
    out: dict[str, Optional[np.ndarray]] = {"ir": None, "vis": None}
    shapes = {}
    for role, x in (("ir", ir), ("vis", vis)):
        if x is None:
            continue
        img = _load(x, role)
        names[role], depths[role] = img.name, img.bit_depth
        shapes[role] = (img.shape, img.name)
        out[role] = _gray_rounded(img)
    check_same_size(f.shape, f.name, **{("infrared" if k == "ir" else "visible"): v for k, v in shapes.items()})
    return Triplet(_gray_rounded(f), out["ir"], out["vis"], names, depths, _fused_img=f)
