"""The ONNX Runtime backend and ONNX export (``pip install "textif[onnx]"``).

The export has dynamic batch, height and width and takes the text embedding as an input, so one
file serves every sentence and every image size. :func:`cached_onnx_export` keeps one export per
weights file in textif's cache folder, keyed by the SHA-256 of the weights and the architecture,
so only the first use of a checkpoint pays for the export. ONNX Runtime's optimised graph is
cached beside it (per machine), which makes later sessions start faster.

Nothing here imports torch unless an export has to be made.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from textif.runtime.base import BackendError, ModelInfo, cache_root

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

__all__ = ["OPSET", "EXPORT_VERSION", "onnxruntime_available", "export_onnx", "cached_onnx_export", "OnnxRunner"]

OPSET = 17  # ONNX Runtime >= 1.14 on CPU and CUDA
EXPORT_VERSION = 2  # bump when the export changes, so cached exports are made again
INSTALL_HINT = 'pip install "textif[onnx]"'


def onnxruntime_available() -> bool:
    """Whether ONNX Runtime is installed (without importing it)."""
    return importlib.util.find_spec("onnxruntime") is not None


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise BackendError(f"the ONNX backend needs ONNX Runtime: {INSTALL_HINT} (or use --backend torch)") from None
    return onnxruntime


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:200]


@contextlib.contextmanager
def _one_attention_op(model: "nn.Module") -> Iterator[None]:
    """Trace attention as one operation over a dynamic number of pixels: chunked attention
    (a Python loop whose length depends on the image size) would be frozen at the example's size."""
    saved = []
    for m in model.modules():
        if isinstance(getattr(m, "max_elements", None), int):
            saved.append((m, m.max_elements))
            m.max_elements = 1 << 62
    try:
        yield
    finally:
        for m, v in saved:
            m.max_elements = v


def export_onnx(
    model: "nn.Module",
    path: str | os.PathLike,
    *,
    opset: int = OPSET,
    metadata: dict[str, str] | None = None,
    check: bool = True,
    name: str = "model",
) -> Path:
    """Export a Text-IF network to ONNX: inputs ``vis (B, 3, H, W)``, ``ir (B, 1, H, W)``,
    ``text (B, text_dim)``; output ``fused (B, 3, H, W)``; B, H and W dynamic (H, W multiples of
    ``model.config.multiple``). Written atomically.

    Args:
        model: the network (left unchanged; a CPU float32 copy is exported).
        path: output file. opset: ONNX opset. metadata: extra ``key: value`` strings stored in the file.
        check: run the export in ONNX Runtime at a size other than the example's and compare with torch.
        name: the model's name for messages.

    Raises:
        BackendError: the network does not export, or the export does not reproduce it.
    """
    import copy
    import warnings

    import torch

    from textif.core.io import atomic_write

    try:
        import onnx
    except ImportError:
        raise BackendError(f"ONNX export needs the onnx package: {INSTALL_HINT}") from None
    net = copy.deepcopy(model).to("cpu", torch.float32).eval()
    cfg = getattr(net, "config", None)
    mult = int(getattr(cfg, "multiple", 16))
    text_dim = int(getattr(cfg, "text_dim", 384))
    g = torch.Generator().manual_seed(0)
    h, w = 3 * mult, 4 * mult
    example = (torch.rand(1, 3, h, w, generator=g), torch.rand(1, 1, h, w, generator=g), torch.randn(1, text_dim, generator=g))
    dyn = {0: "batch", 2: "height", 3: "width"}
    meta = {"textif.multiple": str(mult), "textif.text_dim": str(text_dim), "textif.export_version": str(EXPORT_VERSION)}
    meta.update(metadata or {})

    def write(tmp: Path) -> None:
        try:
            with warnings.catch_warnings(), _one_attention_op(net), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    net, example, str(tmp), dynamo=False, opset_version=opset, do_constant_folding=True,
                    input_names=["vis", "ir", "text"], output_names=["fused"],
                    dynamic_axes={"vis": dyn, "ir": dyn, "text": {0: "batch"}, "fused": dyn},
                )
        except Exception as e:  # noqa: BLE001 - any exporter failure: one clear line
            raise BackendError(
                f"model {name!r} does not export to ONNX ({type(e).__name__}: {_first_line(e)}); use --backend torch"
            ) from None
        proto = onnx.load(str(tmp))
        for k, v in meta.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = k, str(v)
        onnx.save(proto, str(tmp))
        if check:
            _check_export(net, tmp, mult, text_dim, name)

    return atomic_write(Path(path), write)


def _check_export(net: "nn.Module", file: Path, mult: int, text_dim: int, name: str) -> None:
    """The export must reproduce the network at another size and batch than the example's."""
    import torch

    g = torch.Generator().manual_seed(1)
    h, w = 5 * mult, 2 * mult
    v, i, t = torch.rand(2, 3, h, w, generator=g), torch.rand(2, 1, h, w, generator=g), torch.randn(2, text_dim, generator=g)
    with torch.no_grad():
        ref = net(v, i, t).numpy()
    got = OnnxRunner(file, threads=1)(v.numpy(), i.numpy(), t.numpy())
    err = float(np.abs(got - ref).max())
    if not err <= 1e-3:
        raise BackendError(f"model {name!r}: the ONNX export differs from the network by {err:.3g}; use --backend torch")


def export_dir(info: ModelInfo) -> Path:
    """Cache folder of the ONNX export of a checkpoint (keyed by its weights' hash)."""
    return cache_root() / "onnx" / f"{info.weights_key[:32]}-v{EXPORT_VERSION}-opset{OPSET}"


def cached_onnx_export(info: ModelInfo, *, log: Any = None) -> Path:
    """The ONNX export of the checkpoint folder ``info.path``, made (once) if not cached.

    ``log``: called with one line when an export is made (it takes seconds to a minute).
    """
    target = export_dir(info) / "model.onnx"
    if target.is_file():
        return target
    from textif.models.hub import from_pretrained

    _ort()
    ckpt = from_pretrained(info.path)
    if log is not None:
        log(f"exporting {info.name} to ONNX once (cached in {target.parent})")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BackendError(f"{target.parent}: cannot create the ONNX cache ({e.strerror or e})") from None
    meta = {"textif.name": info.name, "textif.text_encoder": info.text_encoder, "textif.trained": str(info.trained),
            "textif.weights_sha256": info.weights_key}
    return export_onnx(ckpt.model, target, metadata=meta, name=info.name)


class OnnxRunner:
    """An ONNX export run by ONNX Runtime (see :class:`textif.runtime.base.Runner`).

    Args:
        path: the ``.onnx`` file (from ``textif export`` or :func:`export_onnx`).
        device: ``"cpu"`` or ``"cuda[:N]"`` (needs onnxruntime-gpu's CUDA provider).
        threads: intra-op threads (``None``: ONNX Runtime's default, one per physical core).
        cache_optimized: keep ONNX Runtime's optimised graph beside ``path`` (CPU only) so that the
            next session starts faster.

    Raises:
        BackendError: ONNX Runtime is missing, the device has no provider, or the file is not a
            usable textif export.
    """

    name = "onnx"

    def __init__(self, path: str | os.PathLike, *, device: str = "cpu", threads: int | None = None,
                 cache_optimized: bool = False) -> None:
        ort = _ort()
        self.path = p = Path(path)
        if not p.is_file():
            raise BackendError(f"{p}: ONNX file not found")
        dev = str(device)
        if dev.startswith("cuda"):
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise BackendError(
                    "--backend onnx on a GPU needs onnxruntime-gpu (CUDA provider not available here); "
                    "use --backend torch or --device cpu"
                )
            idx = int(dev.split(":")[1]) if ":" in dev else 0
            providers: list[Any] = [("CUDAExecutionProvider", {"device_id": idx}), "CPUExecutionProvider"]
            cache_optimized = False
        elif dev == "cpu":
            providers = ["CPUExecutionProvider"]
        else:
            raise BackendError(f"--backend onnx runs on cpu or cuda, not {dev!r}; use --backend torch")
        self.device = dev

        def options() -> Any:
            so = ort.SessionOptions()
            so.log_severity_level = 3
            if threads:
                so.intra_op_num_threads = int(threads)
                so.inter_op_num_threads = 1
            return so

        self.session = None
        opt = p.with_name(f"{p.stem}.ort{ort.__version__}-{platform.machine()}-{platform.node()}.opt.onnx")
        if cache_optimized and opt.is_file():
            so = options()
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # already optimised
            try:
                self.session = ort.InferenceSession(str(opt), so, providers=providers)
            except Exception:  # noqa: BLE001 - a stale or damaged cache file: rebuild it below
                with contextlib.suppress(OSError):
                    opt.unlink()
        if self.session is None:
            so = options()
            tmp = None
            if cache_optimized:
                fd, tmp = tempfile.mkstemp(prefix=".opt-", suffix=".onnx", dir=p.parent)
                os.close(fd)
                so.optimized_model_filepath = tmp
            try:
                self.session = ort.InferenceSession(str(p), so, providers=providers)
                if tmp is not None:
                    os.replace(tmp, opt)
            except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception types
                raise BackendError(f"{p}: not a usable ONNX model ({_first_line(e)})") from None
            finally:
                if tmp is not None and os.path.exists(tmp):
                    os.unlink(tmp)
        names = [x.name for x in self.session.get_inputs()]
        if names != ["vis", "ir", "text"]:
            raise BackendError(f"{p}: not a textif ONNX export (inputs {names}, expected ['vis', 'ir', 'text'])")
        self.meta: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        shape = self.session.get_inputs()[2].shape
        self.text_dim = int(shape[1]) if isinstance(shape[1], int) else int(self.meta.get("textif.text_dim", 0))
        self.multiple = int(self.meta.get("textif.multiple", 1))

    def __call__(self, vis: Any, ir: Any, text: Any) -> Any:
        torch_in = not isinstance(vis, np.ndarray)
        if torch_in:  # a torch tensor: run on its values, answer on its device
            device = vis.device
            vis, ir = vis.detach().float().cpu().numpy(), ir.detach().float().cpu().numpy()
        if not isinstance(text, np.ndarray):
            text = text.detach().float().cpu().numpy()
        text = np.ascontiguousarray(np.broadcast_to(text.astype(np.float32, copy=False), (vis.shape[0], text.shape[-1])))
        feed = {"vis": np.ascontiguousarray(vis, dtype=np.float32), "ir": np.ascontiguousarray(ir, dtype=np.float32),
                "text": text}
        try:
            out = self.session.run(["fused"], feed)[0]
        except Exception as e:  # noqa: BLE001
            if "alloc" in str(e).lower() or "memory" in str(e).lower():
                raise MemoryError(f"ONNX Runtime ran out of memory ({_first_line(e)})") from None
            raise
        if torch_in:
            import torch

            return torch.from_numpy(out).to(device)
        return out


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
