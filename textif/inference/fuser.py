"""The Fuser: a loaded model plus its text encoder, device and precision.

    fuser = textif.load("textif-small", device="cpu")
    fused = fuser.fuse("vis.png", "ir.png", text="the visible image is too dark")

``fuse`` accepts file paths, PIL images, numpy arrays ``(H, W)`` / ``(H, W, 3)`` (uint8,
uint16 or float in [0, 1]) or tensors ``(B, C, H, W)`` in [0, 1], and returns the kind it was
given (a PIL image for paths). Images are never resized: they are padded to the network's
multiple and cropped back; large images are fused in overlapping tiles.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from textif.core.errors import ImageReadError, SizeMismatchError, TextEncoderError, TextIFError, UntrainedModelError
from textif.core.io import list_images, read_image_with_info, write_image
from textif.data.prompts import NEUTRAL_PROMPT
from textif.inference.tiling import padded_forward, tiled_forward
from textif.models.hub import Checkpoint, resolve_model
from textif.models.text import CachedTextEncoder, get_text_encoder

__all__ = ["Fuser", "load", "FolderReport", "DEFAULT_MODEL", "NEUTRAL_PROMPT", "resolve_device"]

DEFAULT_MODEL = "textif-small"

Precision = Literal["fp32", "fp16", "bf16"]
_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA, then Apple MPS, then the CPU. Raises a clear error for a device
    that this machine does not have."""
    d = str(device).lower()
    if d == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(d)
    except RuntimeError:
        raise TextIFError(f"--device: unknown device {device!r} (use auto, cpu, cuda, cuda:N or mps)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise TextIFError("--device cuda: no CUDA GPU is available on this machine (use --device cpu or auto)")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise TextIFError("--device mps: Apple MPS is not available on this machine (use --device cpu or auto)")
    return dev


@dataclass
class _Input:
    tensor: Tensor  # (B, C, H, W) float32 in [0, 1], CPU or device
    kind: str  # "path" | "pil" | "numpy" | "tensor"
    gray: bool  # single channel given
    dtype: Any = None  # numpy dtype / torch dtype of the input
    label: str = ""  # file name or argument name for messages
    bit_depth: int = 8


@dataclass
class FolderReport:
    """Outcome of :meth:`Fuser.fuse_folder`."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (name, message)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


class Fuser:
    """Fuses visible/infrared pairs with a Text-IF model.

    Args:
        checkpoint: a loaded :class:`~textif.models.hub.Checkpoint`.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"`` or a :class:`torch.device`.
        precision: ``"fp32"``; ``"fp16"``/``"bf16"`` only on a GPU.
        tile: fuse in tiles of this size (pixels); ``None`` tiles automatically above ``max_pixels``.
        tile_overlap: pixels shared by neighbouring tiles.
        max_pixels: images with more pixels than this are tiled automatically.
        text_encoder_path: folder of the text encoder's weights (CLIP), if not the default.
        allow_untrained: fuse even with random weights (tests and benchmarks only).
    """

    def __init__(
        self,
        checkpoint: Checkpoint,
        *,
        device: str | torch.device = "auto",
        precision: Precision = "fp32",
        tile: int | None = None,
        tile_overlap: int = 64,
        max_pixels: int = 2_200_000,
        text_encoder: str | None = None,
        text_encoder_path: str | os.PathLike | None = None,
        allow_untrained: bool = False,
    ) -> None:
        self.device = resolve_device(device)
        if precision not in _DTYPES:
            raise TextIFError(f"--precision: unknown precision {precision!r} (use fp32, fp16 or bf16)")
        if precision != "fp32" and self.device.type == "cpu":
            raise TextIFError(f"--precision {precision}: half precision is only supported on a GPU; use fp32 on the CPU")
        self.precision = precision
        self.dtype = _DTYPES[precision]
        self.checkpoint = checkpoint
        self.model = checkpoint.model.to(self.device, self.dtype).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.multiple = self.model.config.multiple
        self.tile = tile
        self.tile_overlap = tile_overlap
        self.max_pixels = max_pixels
        self.allow_untrained = allow_untrained
        enc_name = checkpoint.text_encoder
        if text_encoder is not None and text_encoder.lower() != enc_name:
            raise TextEncoderError(
                f"model {checkpoint.name!r} was trained with the {enc_name!r} text encoder, not {text_encoder!r}"
            )
        self._text_encoder_name = enc_name
        self._text_encoder_path = text_encoder_path
        self._encoder: CachedTextEncoder | None = None

    # ------------------------------------------------------------------ text
    @property
    def text_encoder(self) -> CachedTextEncoder:
        if self._encoder is None:
            enc = get_text_encoder(self._text_encoder_name, self._text_encoder_path)
            if enc.dim != self.model.config.text_dim:
                raise TextEncoderError(
                    f"text encoder {enc.name!r} gives {enc.dim}-d embeddings but model {self.checkpoint.name!r} "
                    f"expects {self.model.config.text_dim}"
                )
            shipped = self.checkpoint.text_cache
            if shipped:
                enc.add(list(shipped), torch.stack(list(shipped.values())))
            self._encoder = enc
        return self._encoder

    def embed(self, text: str | None) -> Tensor:
        """``(1, text_dim)`` embedding of ``text`` (the neutral prompt when ``None`` or blank)."""
        t = NEUTRAL_PROMPT if text is None or not str(text).strip() else str(text).strip()
        return self.text_encoder.encode([t]).to(self.device, self.dtype)

    # ------------------------------------------------------------------ core
    @torch.no_grad()
    def fuse_tensor(self, vis: Tensor, ir: Tensor, text: str | Tensor | None = None, *, tile: int | None = None) -> Tensor:
        """Fuse tensors. ``vis: (B, 3, H, W)``, ``ir: (B, 1, H, W)``, float in [0, 1], any size.

        ``text`` is a sentence, ``None`` (neutral) or an embedding ``(1 or B, text_dim)``.
        Returns ``(B, 3, H, W)`` float32 in [0, 1] on the fuser's device.
        """
        self._check_trained()
        emb = text.to(self.device, self.dtype) if isinstance(text, Tensor) else self.embed(text)
        vis = vis.to(self.device, self.dtype)
        ir = ir.to(self.device, self.dtype)
        if emb.shape[0] not in (1, vis.shape[0]):
            raise TextIFError(f"got {emb.shape[0]} text embeddings for a batch of {vis.shape[0]}")

        def run(v: Tensor, i: Tensor) -> Tensor:
            return self.model(v, i, emb.expand(v.shape[0], -1))

        h, w = vis.shape[-2:]
        tile = tile or self.tile
        if tile is None and h * w > self.max_pixels:
            tile = 1024
        if tile:
            out = tiled_forward(run, vis, ir, multiple=self.multiple, tile=int(tile), overlap=self.tile_overlap)
        else:
            out = padded_forward(run, vis, ir, self.multiple)
        return out.float().clamp_(0.0, 1.0)

    def _check_trained(self) -> None:
        if not self.checkpoint.trained and not self.allow_untrained:
            raise UntrainedModelError(
                f"model {self.checkpoint.name!r} has no trained weights, so it would only produce noise; "
                "pass a trained checkpoint folder with --model DIR (see `textif models`), or train one with `textif train`"
            )

    # ------------------------------------------------------------------ any input kind
    def fuse(
        self,
        vis: Any,
        ir: Any,
        text: str | None = None,
        *,
        tile: int | None = None,
        resize_ir_to_vis: bool = False,
    ) -> Any:
        """Fuse one pair (or a batch of tensors), returning the kind of ``vis``.

        Args:
            vis: path, PIL image, numpy ``(H, W)``/``(H, W, 3)`` (uint8, uint16, float in [0, 1]) or
                tensor ``(B, 3|1, H, W)`` in [0, 1]. A gray visible image gives a gray output.
            ir: the same kinds; colour infrared is converted to luminance.
            text: what to repair, e.g. ``"the visible image is too dark"``; ``None`` = neutral fusion.
            tile: force tiled inference with this tile size.
            resize_ir_to_vis: resize the infrared image to the visible image's size when they differ
                (only for pairs that differ in resolution, not in framing).

        Returns:
            PIL image (for paths and PIL inputs), numpy array (same dtype as ``vis``) or tensor.
        """
        self._check_trained()
        v = _as_input(vis, "visible")
        out = self._fuse_inputs(v, _as_input(ir, "infrared"), text, resize_ir_to_vis, tile=tile)
        return _as_output(out, v)

    def fuse_file(
        self,
        vis_path: str | os.PathLike,
        ir_path: str | os.PathLike,
        out_path: str | os.PathLike,
        text: str | None = None,
        *,
        bit_depth: Literal[8, 16] = 8,
        resize_ir_to_vis: bool = False,
    ) -> Path:
        """Fuse two image files and write the result atomically (PNG unless the suffix says otherwise)."""
        self._check_trained()
        v = _as_input(Path(vis_path), "visible")
        out = self._fuse_inputs(v, _as_input(Path(ir_path), "infrared"), text, resize_ir_to_vis)
        return _write(out, out_path, bit_depth)

    def fuse_folder(
        self,
        vis_dir: str | os.PathLike,
        ir_dir: str | os.PathLike,
        out_dir: str | os.PathLike,
        text: str | None = None,
        *,
        overwrite: bool = False,
        bit_depth: Literal[8, 16] = 8,
        resize_ir_to_vis: bool = False,
        progress: bool = True,
        suffix: str = ".png",
    ) -> FolderReport:
        """Fuse every pair matched by file stem; go on past bad pairs and report them.

        Existing outputs are skipped unless ``overwrite``. Unmatched stems are reported as failures.
        """
        self._check_trained()
        vis_files, ir_files = list_images(vis_dir), list_images(ir_dir)
        if not vis_files:
            raise ImageReadError(f"{vis_dir}: no images found")
        if not ir_files:
            raise ImageReadError(f"{ir_dir}: no images found")
        out = Path(out_dir)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise TextIFError(f"{out}: cannot create output folder ({e.strerror or e})") from None
        report = FolderReport()
        for stem in sorted(set(vis_files) - set(ir_files)):
            report.failed.append((vis_files[stem].name, f"{vis_files[stem]}: no infrared image named {stem}.* in {ir_dir}"))
        for stem in sorted(set(ir_files) - set(vis_files)):
            report.failed.append((ir_files[stem].name, f"{ir_files[stem]}: no visible image named {stem}.* in {vis_dir}"))
        stems = sorted(set(vis_files) & set(ir_files))
        t0 = time.perf_counter()
        emb = self.embed(text)
        from tqdm.auto import tqdm

        for stem in tqdm(stems, desc="fusing", unit="pair", disable=not progress, dynamic_ncols=True):
            target = out / f"{stem}{suffix}"
            if target.exists() and not overwrite:
                report.skipped.append(target)
                continue
            try:
                v = _as_input(vis_files[stem], "visible")
                fused = self._fuse_inputs(v, _as_input(ir_files[stem], "infrared"), emb, resize_ir_to_vis)
                _write(fused, target, bit_depth)
                report.written.append(target)
            except TextIFError as e:
                report.failed.append((stem, str(e)))
        report.seconds = time.perf_counter() - t0
        return report

    def _fuse_inputs(
        self, v: _Input, i: _Input, text: str | Tensor | None, resize_ir_to_vis: bool, *, tile: int | None = None
    ) -> Tensor:
        """Bring converted inputs to (B, 3, H, W) / (B, 1, H, W), check sizes, fuse; gray in -> gray out."""
        vt = v.tensor.expand(-1, 3, -1, -1)
        it = i.tensor if i.tensor.shape[1] == 1 else _luma(i.tensor)
        if vt.shape[-2:] != it.shape[-2:]:
            if not resize_ir_to_vis:
                raise SizeMismatchError(
                    f"size mismatch: visible {v.label} is {vt.shape[-1]}x{vt.shape[-2]} but infrared {i.label} is "
                    f"{it.shape[-1]}x{it.shape[-2]} (use --resize-ir-to-vis if they differ only in resolution)"
                )
            it = torch.nn.functional.interpolate(it, size=vt.shape[-2:], mode="bilinear", align_corners=False, antialias=True)
        if vt.shape[0] != it.shape[0]:
            raise SizeMismatchError(f"batch sizes differ: visible {vt.shape[0]}, infrared {it.shape[0]}")
        out = self.fuse_tensor(vt, it, text, tile=tile).cpu()
        return _luma(out) if v.gray else out


# ---------------------------------------------------------------------- conversions
def _luma(x: Tensor) -> Tensor:
    """``(B, 3, H, W)`` -> ``(B, 1, H, W)`` BT.601 luminance."""
    w = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def _to_bchw(arr: np.ndarray) -> Tensor:
    """``(H, W)`` or ``(H, W, C)`` float32 array -> contiguous ``(1, C, H, W)`` tensor."""
    t = torch.from_numpy(np.ascontiguousarray(arr))
    t = t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]
    return t.contiguous()


def _as_input(x: Any, role: str) -> _Input:
    if isinstance(x, (str, os.PathLike)):
        arr, info = read_image_with_info(x)
        t = _to_bchw(arr)
        return _Input(t, "path", t.shape[1] == 1, np.uint8, str(x), info.bit_depth)
    if isinstance(x, Tensor):
        t = x
        if t.ndim == 3:
            t = t[None]
        if t.ndim != 4 or t.shape[1] not in (1, 3):
            raise TextIFError(f"{role} tensor must be (B, 1|3, H, W), got {tuple(x.shape)}")
        if not t.is_floating_point():
            raise TextIFError(f"{role} tensor must be float in [0, 1], got {t.dtype}")
        if not torch.isfinite(t).all():
            raise TextIFError(f"{role} tensor contains NaN or infinite values")
        return _Input(t.float().clamp(0, 1), "tensor", t.shape[1] == 1, x.dtype, f"{role} tensor")
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        Image = None
    if Image is not None and isinstance(x, Image.Image):
        img = x
        if img.mode == "P":
            img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        if img.mode in ("I;16", "I;16B", "I;16L", "I"):
            arr = np.asarray(img).astype(np.float32) / 65535.0
        elif img.mode in ("L", "LA", "1"):
            arr = np.asarray(img.convert("L")).astype(np.float32) / 255.0
        else:
            arr = np.asarray(img.convert("RGB")).astype(np.float32) / 255.0
        t = _to_bchw(arr)
        return _Input(t, "pil", t.shape[1] == 1, None, f"{role} PIL image")
    if isinstance(x, np.ndarray):
        a = x
        if a.ndim == 3 and a.shape[2] == 1:
            a = a[..., 0]
        if a.ndim == 3 and a.shape[2] == 4:
            a = a[..., :3]
        if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
            raise TextIFError(f"{role} array must be (H, W) or (H, W, 3), got {x.shape}")
        if a.dtype == np.uint8:
            f = a.astype(np.float32) / 255.0
        elif a.dtype == np.uint16:
            f = a.astype(np.float32) / 65535.0
        elif np.issubdtype(a.dtype, np.floating):
            f = a.astype(np.float32)
            if not np.isfinite(f).all():
                raise TextIFError(f"{role} array contains NaN or infinite values")
            if f.min() < -1e-3 or f.max() > 1 + 1e-3:
                raise TextIFError(
                    f"{role} float array must be in [0, 1], got [{f.min():.3g}, {f.max():.3g}] (divide by 255 or 65535)"
                )
            f = np.clip(f, 0, 1)
        else:
            raise TextIFError(f"{role} array has unsupported dtype {a.dtype} (use uint8, uint16 or float in [0, 1])")
        t = _to_bchw(f)
        return _Input(t, "numpy", t.shape[1] == 1, x.dtype, f"{role} array")
    raise TextIFError(f"{role}: unsupported input type {type(x).__name__} (use a path, PIL image, numpy array or tensor)")


def _write(out: Tensor, path: str | os.PathLike, bit_depth: Literal[8, 16]) -> Path:
    """Write the first image of ``out: (B, 1|3, H, W)`` atomically."""
    arr = out[0].permute(1, 2, 0).numpy()
    return write_image(path, arr[..., 0] if arr.shape[2] == 1 else arr, bit_depth=bit_depth)


def _as_output(out: Tensor, like: _Input) -> Any:
    """``out: (B, C, H, W)`` float in [0, 1] -> the kind of ``like``."""
    if like.kind == "tensor":
        return out.to(like.dtype if isinstance(like.dtype, torch.dtype) and like.dtype.is_floating_point else torch.float32)
    arr = out[0].permute(1, 2, 0).numpy()
    if arr.shape[2] == 1:
        arr = arr[..., 0]
    if like.kind in ("path", "pil"):
        from PIL import Image

        return Image.fromarray(np.round(arr * 255.0).astype(np.uint8))
    if like.dtype == np.uint8:
        return np.round(arr * 255.0).astype(np.uint8)
    if like.dtype == np.uint16:
        return np.round(arr * 65535.0).astype(np.uint16)
    return arr.astype(like.dtype if np.issubdtype(like.dtype, np.floating) else np.float32)


def load(
    model: str | os.PathLike | None = None,
    *,
    device: str | torch.device = "auto",
    precision: Precision = "fp32",
    **kwargs: Any,
) -> Fuser:
    """Load a fusion model by preset name or checkpoint folder (default: the shipped default model).

    Extra keyword arguments go to :class:`Fuser` (``tile``, ``tile_overlap``, ``max_pixels``,
    ``text_encoder_path``, ``allow_untrained``).
    """
    ckpt = resolve_model(model or DEFAULT_MODEL)
    return Fuser(ckpt, device=device, precision=precision, **kwargs)
