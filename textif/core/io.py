"""Image reading and writing: 8/16-bit, gray/colour/alpha/palette, atomic writes.

Arrays returned here are ``float32`` in ``[0, 1]`` with shape ``(H, W)`` (gray) or
``(H, W, 3)`` (RGB order). OpenCV does the decoding (it handles 16-bit PNG/TIFF and
palette PNG); files are read through ``numpy.fromfile`` so any path works.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

import cv2
import numpy as np

from textif.core.errors import ImageReadError, ImageWriteError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

__all__ = [
    "IMAGE_EXTENSIONS",
    "decode_image_file",
    "atomic_write",
    "write_text_atomic",
    "ImageInfo",
    "read_image",
    "read_image_with_info",
    "write_image",
    "list_images",
    "pair_folders",
    "header_size",
    "to_gray",
    "to_rgb",
]


@dataclass(frozen=True)
class ImageInfo:
    """What was in the file: ``bit_depth`` 8 or 16 and the number of stored colour channels."""

    bit_depth: int
    channels: int


def to_gray(img: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` RGB -> ``(H, W)`` luminance (ITU-R BT.601 weights); gray passes through."""
    if img.ndim == 2:
        return img
    return (img[..., 0] * 0.299 + img[..., 1] * 0.587 + img[..., 2] * 0.114).astype(img.dtype)


def to_rgb(img: np.ndarray) -> np.ndarray:
    """``(H, W)`` gray -> ``(H, W, 3)`` by repetition; RGB passes through."""
    if img.ndim == 3:
        return img
    return np.repeat(img[..., None], 3, axis=2)


def decode_image_file(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file as OpenCV stores it: native dtype, BGR(A) channel order, any path.

    Raises:
        ImageReadError: the file is missing, a folder, empty or not a decodable image.
    """
    p = Path(path)
    if not p.exists():
        raise ImageReadError(f"{p}: file not found")
    if p.is_dir():
        raise ImageReadError(f"{p}: is a folder, not an image file")
    try:
        buf = np.fromfile(str(p), dtype=np.uint8)
    except OSError as e:
        raise ImageReadError(f"{p}: cannot be read ({e.strerror or e})") from None
    if buf.size == 0:
        raise ImageReadError(f"{p}: file is empty")
    arr = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if arr is None or arr.size == 0:
        raise ImageReadError(f"{p}: not a readable image (supported: {', '.join(IMAGE_EXTENSIONS)})")
    return arr


def read_image_with_info(
    path: str | os.PathLike, *, channels: Literal[1, 3] | None = None
) -> tuple[np.ndarray, ImageInfo]:
    """Read an image file as float32 in [0, 1].

    Args:
        path: PNG, JPEG, BMP, TIFF or WebP file, 8- or 16-bit, gray, RGB, RGBA or palette.
        channels: ``1`` gives ``(H, W)`` (colour converted to luminance), ``3`` gives
            ``(H, W, 3)`` RGB (gray repeated), ``None`` keeps what the file has (alpha dropped;
            a colour file whose three channels are equal is returned as gray).

    Raises:
        ImageReadError: the file is missing, empty, not an image, or of an unsupported depth.
    """
    p = Path(path)
    arr = decode_image_file(p)
    if arr.dtype == np.uint8:
        depth, scale = 8, 255.0
    elif arr.dtype == np.uint16:
        depth, scale = 16, 65535.0
    elif arr.dtype in (np.float32, np.float64):
        depth, scale = 32, 1.0
    else:
        raise ImageReadError(f"{p}: unsupported pixel type {arr.dtype} (use 8- or 16-bit images)")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    stored = 1 if arr.ndim == 2 else 3
    if arr.ndim == 3:
        arr = arr[..., :3]  # drop alpha
        if arr.shape[2] != 3:
            raise ImageReadError(f"{p}: has {arr.shape[2]} channels; expected 1, 3 or 4")
        arr = arr[..., ::-1]  # BGR -> RGB
    img = np.ascontiguousarray(arr, dtype=np.float32) / np.float32(scale)
    if depth == 32:
        if not np.isfinite(img).all():
            raise ImageReadError(f"{p}: contains NaN or infinite values")
        img = np.clip(img, 0.0, 1.0)
    if channels is None and img.ndim == 3 and _is_gray(img):
        img = img[..., 0].copy()
    if channels == 1:
        img = to_gray(img)
    elif channels == 3:
        img = to_rgb(img)
    return img, ImageInfo(bit_depth=min(depth, 16), channels=stored)


def read_image(path: str | os.PathLike, *, channels: Literal[1, 3] | None = None) -> np.ndarray:
    """Like :func:`read_image_with_info`, returning only the array."""
    return read_image_with_info(path, channels=channels)[0]


def _is_gray(img: np.ndarray) -> bool:
    return bool(np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2]))


def write_image(path: str | os.PathLike, img: np.ndarray, *, bit_depth: Literal[8, 16] = 8) -> Path:
    """Write ``img`` (float in [0, 1], ``(H, W)`` or ``(H, W, 3)`` RGB) atomically.

    The file is encoded to a temporary file in the destination folder and renamed into
    place, so a crash never leaves a half-written output. The format follows the suffix
    (PNG unless given otherwise); 16-bit needs PNG or TIFF.

    Raises:
        ImageWriteError: the folder does not exist or is not writable, or the format is unknown.
    """
    p = Path(path)
    suffix = p.suffix.lower() or ".png"
    if suffix not in IMAGE_EXTENSIONS:
        raise ImageWriteError(f"{p}: unknown image format {suffix!r} (use one of {', '.join(IMAGE_EXTENSIONS)})")
    if bit_depth not in (8, 16):
        raise ImageWriteError(f"{p}: bit depth must be 8 or 16, got {bit_depth}")
    if bit_depth == 16 and suffix not in (".png", ".tif", ".tiff"):
        raise ImageWriteError(f"{p}: 16-bit output needs a .png or .tif file")
    # one float copy, then in place (an 8K RGB image is 400 MB per float copy); BGR order for OpenCV
    src = np.asarray(img, dtype=np.float32)
    arr = np.array(src[..., ::-1] if src.ndim == 3 else src, dtype=np.float32, order="C")
    del src
    np.nan_to_num(arr, copy=False)
    np.clip(arr, 0.0, 1.0, out=arr)
    arr *= 255.0 if bit_depth == 8 else 65535.0
    np.rint(arr, out=arr)
    out = arr.astype(np.uint8 if bit_depth == 8 else np.uint16)
    del arr
    ok, data = cv2.imencode(suffix, out)
    if not ok:
        raise ImageWriteError(f"{p}: could not encode image as {suffix}")
    data = data.tobytes()
    return atomic_write(p, lambda tmp: tmp.write_bytes(data))


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Create ``path`` atomically: ``write(tmp)`` fills a temporary file in the same folder,
    which is then renamed into place; on any failure the temporary file is removed.

    Raises:
        ImageWriteError: the folder does not exist or cannot be written.
    """
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise ImageWriteError(f"{p}: output folder {folder} does not exist")
    try:
        tmp = _create_temp(folder, p.name)
    except OSError as e:
        raise ImageWriteError(f"{p}: cannot write to {folder} ({e.strerror or e})") from None
    try:
        mode = os.stat(tmp).st_mode & 0o777  # what the process umask allows for a new file
        write(Path(tmp))
        os.chmod(tmp, mode)  # in case the writer replaced the file
        os.replace(tmp, p)
    except OSError as e:
        raise ImageWriteError(f"{p}: cannot write ({e.strerror or e})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p


def _create_temp(folder: Path, name: str) -> str:
    """Create an empty hidden temporary file in ``folder`` with the usual permissions: opened with
    mode 0o666, so the kernel applies the process umask (which is never changed: changing it, even
    for a moment, races with other threads creating files)."""
    for _ in range(100):
        tmp = str(folder / f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"cannot create a temporary file in {folder}")  # pragma: no cover


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline=""))


def list_images(folder: str | os.PathLike) -> dict[str, Path]:
    """Image files of a folder keyed by file stem (any extension in :data:`IMAGE_EXTENSIONS`).

    Raises:
        ImageReadError: the folder does not exist, or two files share a stem.
    """
    d = Path(folder)
    if not d.is_dir():
        raise ImageReadError(f"{d}: folder not found")
    out: dict[str, Path] = {}
    for f in sorted(d.iterdir()):
        if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS and not f.name.startswith("."):
            if f.stem in out:
                raise ImageReadError(f"{d}: two images share the name {f.stem!r} ({out[f.stem].name}, {f.name})")
            out[f.stem] = f
    return out


def pair_folders(vis_dir: str | os.PathLike, ir_dir: str | os.PathLike) -> tuple[list[tuple[str, Path, Path]], list[tuple[str, str]]]:
    """The images of two folders matched by file stem: ``[(stem, vis, ir)]`` in stem order, and the
    files without a partner as ``[(file name, message)]`` (visible ones first). Every folder job
    (``Fuser.fuse_folder``, the Ray engine, ``textif detect``) pairs its inputs here.

    Raises:
        ImageReadError: a folder is missing, has no images, or has two images with one stem.
    """
    vis_files, ir_files = list_images(vis_dir), list_images(ir_dir)
    if not vis_files:
        raise ImageReadError(f"{vis_dir}: no images found")
    if not ir_files:
        raise ImageReadError(f"{ir_dir}: no images found")
    unmatched = [(vis_files[s].name, f"{vis_files[s]}: no infrared image named {s}.* in {ir_dir}")
                 for s in sorted(set(vis_files) - set(ir_files))]
    unmatched += [(ir_files[s].name, f"{ir_files[s]}: no visible image named {s}.* in {vis_dir}")
                  for s in sorted(set(ir_files) - set(vis_files))]
    pairs = [(s, vis_files[s], ir_files[s]) for s in sorted(set(vis_files) & set(ir_files))]
    return pairs, unmatched


def header_size(path: Path) -> tuple[int, int] | None:
    """``(width, height)`` from the file header without decoding; ``(0, pixels)`` for an image over PIL's
    decompression-bomb limit (only its pixel count is known); ``None`` when PIL cannot tell. The size
    checks of the CLI, the API and the web app read it before any pixel is decoded."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        return None
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                return int(im.size[0]), int(im.size[1])
    except Image.DecompressionBombError as e:
        import re

        m = re.search(r"\((\d+) pixels\)", str(e))
        return 0, int(m.group(1)) if m else 1 << 40  # sides unknown: (0, pixel count)
    except Exception:  # noqa: BLE001 - not readable by PIL: the decoder decides and explains
        return None
