"""The interactive web app: upload (or pick) an infrared/visible pair, write a sentence, fuse, look, repeat.

    from textif.web.app import build_app, serve
    demo = build_app("path/to/checkpoint")   # a gr.Blocks; or pass a loaded textif Fuser
    demo.launch()
    serve(model="textif-fast", port=7860)   # what ``textif serve`` runs

The page has the two inputs (upload, or one of the bundled examples), a text box with the
suggested prompts one click away, a Fuse button, the fused result beside the inputs, a
before/after slider against the visible image, the time the fusion took and a download of the
full-resolution PNG. Fusions run in Gradio's queue (one at a time by default), large images go
through the fuser's tiled path, and every problem with the input (a missing image, a file that
is not an image, sizes that differ, an image or upload over the limits, an untrained model) is
shown as a one-line message on the page, never as a stack trace.

The endpoint is also an API (``/fuse``), e.g. through ``gradio_client``::

    Client(url).predict(handle_file("vis.png"), handle_file("ir.png"), "the visible image is too dark",
                        False, api_name="/fuse")
    # -> (fused.png, (visible.png, fused.png), fused.png, "status markdown")

Gradio is imported lazily so that ``import textif`` never needs it (``pip install "textif[web]"``).
"""
from __future__ import annotations

import atexit
import base64
import binascii
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from textif.core.errors import ImageReadError, TextIFError
from textif.core.io import header_size, read_image, write_image
from textif.data.prompts import NEUTRAL_PROMPT, suggested_prompts
from textif.inference.fuser import Fuser, load
from textif.web.cache import CachedResult, ResultCache, result_key

if TYPE_CHECKING:  # pragma: no cover
    import gradio as gr

__all__ = ["WebLimits", "FuseOutcome", "FusionService", "build_app", "serve", "bundled_examples", "DEFAULT_PORT"]

log = logging.getLogger("textif.web")

DEFAULT_PORT = 7860
#: Prompts for the bundled example pairs (by file stem): what each pair needs.
_EXAMPLE_TASKS = {"010007": "low_light", "00016N": "ir_noise"}
_TASK_LABELS = {
    "fusion": "Neutral",
    "low_light": "Too dark",
    "overexposure": "Overexposed",
    "noise": "Noisy (visible)",
    "blur": "Blurry",
    "haze": "Hazy",
    "rain": "Rain",
    "ir_low_contrast": "Low contrast (IR)",
    "ir_noise": "Noisy (IR)",
    "ir_stripe": "Stripes (IR)",
}


class WebInputError(TextIFError):
    """A problem with what was uploaded or typed on the page (shown there as one line)."""


@dataclass(frozen=True)
class WebLimits:
    """What the server accepts.

    Attributes:
        max_upload_mb: largest upload, in megabytes (enforced by Gradio on upload and again here).
        max_pixels: most pixels per input image (width x height), checked from the file header
            before the image is decoded.
        max_text_chars: longest prompt.
        concurrency: fusions run at once (Gradio's default concurrency limit for the queue).
        queue_size: requests that may wait in the queue; more are refused with a message.
        cache_items: fused results kept for repeated requests (0 disables the cache).
    """

    max_upload_mb: float = 50.0
    max_pixels: int = 12_000_000
    max_text_chars: int = 1000
    concurrency: int = 1
    queue_size: int = 16
    cache_items: int = 32

    def __post_init__(self) -> None:
        if self.max_upload_mb <= 0:
            raise TextIFError(f"--max-upload-mb must be positive, got {self.max_upload_mb}")
        if self.max_pixels < 64 * 64:
            raise TextIFError(f"--max-megapixels must allow at least 64x64 pixels, got {self.max_pixels} pixels")
        if self.concurrency < 1:
            raise TextIFError(f"--concurrency must be at least 1, got {self.concurrency}")
        if self.queue_size < 1:
            raise TextIFError(f"queue size must be at least 1, got {self.queue_size}")
        if self.cache_items < 0:
            raise TextIFError(f"--cache-size must be >= 0, got {self.cache_items}")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def gradio_max_file_size(self) -> str:
        """The upload limit in the form ``launch(max_file_size=...)`` takes."""
        return f"{max(1, int(self.max_upload_mb * 1024))}kb"


@dataclass(frozen=True)
class FuseOutcome:
    """What one press of Fuse produced: the cached files plus whether they came from the cache."""

    result: CachedResult
    from_cache: bool
    seconds: float  # time spent answering this request

    def status_markdown(self, model: str, device: str) -> str:
        r = self.result
        how = "tiled" if r.tiled else "whole image"
        if self.from_cache:
            return (
                f"**Fused {r.width}×{r.height}** from the cache in {self.seconds:.2f} s "
                f"(computed earlier in **{r.seconds:.2f} s**, {how}) · model `{model}` on {device}"
            )
        return f"**Fused {r.width}×{r.height} in {r.seconds:.2f} s** ({how}) · model `{model}` on {device}"


# ----------------------------------------------------------------------------- inputs
def _payload_file(payload: Any, role: str, scratch: Path) -> tuple[Path, str] | None:
    """``(path, display name)`` of an uploaded image payload (Gradio ``FileData`` dict, path or data URL)."""
    if payload is None:
        return None
    if isinstance(payload, (str, os.PathLike)):
        p = Path(payload)
        return p, p.name
    if isinstance(payload, Mapping):
        path, url, name = payload.get("path"), payload.get("url"), payload.get("orig_name")
        if path:
            p = Path(path)
            return p, str(name or p.name)
        if isinstance(url, str) and url.startswith("data:"):
            try:
                data = base64.b64decode(url.split(",", 1)[1], validate=False)
            except (IndexError, binascii.Error, ValueError):
                raise WebInputError(f"the {role} image could not be decoded (bad data URL)") from None
            scratch.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f"{role}-", suffix=".img", dir=scratch)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            return Path(tmp), str(name or f"{role} image")
        if url:
            raise WebInputError(f"the {role} image must be uploaded, not given as a link")
        return None
    raise WebInputError(f"the {role} image has an unsupported form ({type(payload).__name__})")


def _check_limits(path: Path, name: str, role: str, limits: WebLimits) -> None:
    try:
        size = path.stat().st_size
    except OSError:
        raise WebInputError(f"the {role} image {name!r} is no longer available; upload it again") from None
    if size > limits.max_upload_bytes:
        raise WebInputError(
            f"the {role} image {name!r} is {size / 2**20:.1f} MB; this server accepts uploads of at most "
            f"{limits.max_upload_mb:g} MB (start it with --max-upload-mb to change)"
        )
    if size == 0:
        raise WebInputError(f"the {role} file {name!r} is empty")
    wh = header_size(path)
    if wh is not None and (wh[1] if wh[0] == 0 else wh[0] * wh[1]) > limits.max_pixels:
        w, h = wh
        raise _too_many_pixels(role, name, w, h, limits)


def _read(path: Path, name: str, role: str, limits: WebLimits, channels: int | None) -> np.ndarray:
    _check_limits(path, name, role, limits)
    try:
        arr = read_image(path, channels=channels)  # type: ignore[arg-type]
    except ImageReadError as e:
        msg = str(e).replace(str(path), "").lstrip(": ").strip()
        if "not a readable image" in msg:
            msg = "is not an image (upload a PNG, JPEG, BMP, TIFF or WebP file)"
        raise WebInputError(f"the {role} file {name!r} {msg if msg.startswith('is') else 'cannot be used: ' + msg}") from None
    h, w = arr.shape[:2]
    if h * w > limits.max_pixels:  # the header could not be read before decoding
        raise _too_many_pixels(role, name, w, h, limits)
    return arr


def _too_many_pixels(role: str, name: str, w: int, h: int, limits: WebLimits) -> WebInputError:
    dims = f"about {h / 1e6:.3g} MP" if w == 0 else f"{w}×{h} ({w * h / 1e6:.3g} MP)"  # w == 0: only the pixel count is known
    return WebInputError(
        f"the {role} image {name!r} is {dims}; this server accepts at most {limits.max_pixels / 1e6:.3g} MP "
        "per image (start it with --max-megapixels to change)"
    )


def _safe_stem(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).stem)[:60].strip("._")
    return stem or "image"


def _model_label(fuser: Fuser) -> str:
    return str(fuser.name)


# ----------------------------------------------------------------------------- the service
class FusionService:
    """The work behind the page, free of Gradio: validate inputs, fuse (or answer from the cache),
    write the PNGs atomically into ``out_dir``.

    Args:
        fuser: a loaded :class:`~textif.inference.fuser.Fuser`.
        limits: what the server accepts.
        out_dir: folder for the results (a fresh temporary folder when ``None``, removed at exit).
        tile: force tiled fusion with this tile size (``None``: automatic above the fuser's ``max_pixels``).
    """

    def __init__(self, fuser: Fuser, limits: WebLimits | None = None, out_dir: str | os.PathLike | None = None,
                 *, tile: int | None = None) -> None:
        self.fuser = fuser
        self.limits = limits or WebLimits()
        if out_dir is None:
            self.out_dir = Path(tempfile.mkdtemp(prefix="textif-web-"))
            atexit.register(shutil.rmtree, self.out_dir, True)
        else:
            self.out_dir = Path(out_dir)
            self.out_dir.mkdir(parents=True, exist_ok=True)
        self.tile = tile
        self.cache = ResultCache(self.limits.cache_items)
        self.model = _model_label(fuser)
        self._model_id = f"{fuser.name}|{fuser.model_path}|{id(fuser)}|{fuser.precision}|{fuser.backend}"
        self._lock = threading.Lock()  # one fusion through one model at a time

    @property
    def trained(self) -> bool:
        return bool(self.fuser.trained) or bool(getattr(self.fuser, "allow_untrained", False))

    def untrained_message(self) -> str | None:
        """The model's 'no trained weights' message, or ``None`` when it can fuse."""
        if self.trained:
            return None
        try:
            self.fuser.check_trained()
        except TextIFError as e:
            return str(e)
        return None  # pragma: no cover

    def take_request(self, vis: Any, ir: Any, text: str | None, kind: str, hint: str = "") -> tuple[tuple[Path, str], tuple[Path, str], str]:
        """Check a request's uploads (``kind``: "image" or "video"), its prompt and the model:
        ``(visible file, infrared file, stripped prompt)``, each file as ``(path, shown name)``.
        Raises :class:`WebInputError` with a one-line message (``hint`` ends the missing-file ones)."""
        scratch = self.out_dir / "uploads"
        fv = _payload_file(vis, "visible", scratch)
        fi = _payload_file(ir, "infrared", scratch)
        if fv is None and fi is None:
            raise WebInputError(f"upload a visible and an infrared {kind}{hint}")
        if fv is None:
            raise WebInputError(f"upload a visible {kind} too{hint}")
        if fi is None:
            raise WebInputError(f"upload an infrared {kind} too{hint}")
        prompt = (text or "").strip()
        if len(prompt) > self.limits.max_text_chars:
            raise WebInputError(f"the prompt is {len(prompt)} characters long; at most {self.limits.max_text_chars} are allowed")
        msg = self.untrained_message()
        if msg is not None:
            raise WebInputError(msg)
        return fv, fi, prompt

    def fuse(self, vis: Any, ir: Any, text: str | None, resize_ir_to_vis: bool = False,
             ir_weight: float | None = None) -> FuseOutcome:
        """Fuse one uploaded pair. Raises :class:`~textif.core.errors.TextIFError` with a one-line message.

        ``ir_weight``: the modality-preference slider (``None`` or 0.5: neutral; other values need a
        model trained for it, see :attr:`textif.inference.fuser.Fuser.preference_strength`)."""
        t0 = time.perf_counter()
        fv, fi, prompt = self.take_request(vis, ir, text, "image", " (or pick an example pair below)")
        prompt = prompt or NEUTRAL_PROMPT
        v = _read(fv[0], fv[1], "visible", self.limits, None)
        i = _read(fi[0], fi[1], "infrared", self.limits, 1)
        if v.shape[:2] != i.shape[:2] and not resize_ir_to_vis:
            raise WebInputError(
                f"size mismatch: the visible image {fv[1]!r} is {v.shape[1]}×{v.shape[0]} but the infrared image "
                f"{fi[1]!r} is {i.shape[1]}×{i.shape[0]}; upload a registered pair, or tick "
                "'Resize infrared to the visible size' if they differ only in resolution"
            )
        resize = bool(resize_ir_to_vis and v.shape[:2] != i.shape[:2])
        from textif.data.preference import NEUTRAL_IR_WEIGHT, check_ir_weight

        weight = check_ir_weight(ir_weight)  # out of range: one line
        weight = None if weight == NEUTRAL_IR_WEIGHT else weight  # neutral shares the plain fusion's cache entry
        self.fuser.preference_shift(weight)  # a model not trained for it: one line
        from textif.web.detect_ui import resolve_prompt  # "auto": the detector chooses the sentence

        prompt = resolve_prompt(prompt, v, i)
        key = result_key(v, i, prompt, self._model_id, resize=resize, tile=self.tile,
                         **({"ir_weight": weight} if weight is not None else {}))
        hit = self.cache.get(key)
        if hit is not None:
            return FuseOutcome(hit, True, time.perf_counter() - t0)
        h, w = v.shape[:2]
        tiled = self.fuser.will_tile(h, w, self.tile)
        with self._lock:
            t1 = time.perf_counter()
            fused = self.fuser.fuse(v, i, prompt, tile=self.tile, resize_ir_to_vis=resize, ir_weight=weight)
            seconds = time.perf_counter() - t1
        folder = self.out_dir / key[:24]
        folder.mkdir(parents=True, exist_ok=True)
        fused_path = write_image(folder / f"textif-{_safe_stem(fv[1])}.png", fused)
        vis_path = write_image(folder / "visible.png", v)
        item = CachedResult(folder, fused_path, vis_path, int(w), int(h), seconds, tiled)
        self.cache.put(key, item)
        return FuseOutcome(item, False, time.perf_counter() - t0)


# ----------------------------------------------------------------------------- the page
def bundled_examples(examples_dir: str | os.PathLike | None = None) -> list[list[str]]:
    """``[[visible, infrared, prompt], ...]`` for the example pairs in ``examples_dir``
    (default: the repository's ``examples/`` folder, when textif runs from a checkout)."""
    root = Path(examples_dir) if examples_dir is not None else Path(__file__).resolve().parents[2] / "examples"
    vis_dir, ir_dir = root / "vis", root / "ir"
    if not (vis_dir.is_dir() and ir_dir.is_dir()):
        return []
    prompts = suggested_prompts()
    out = []
    for v in sorted(vis_dir.iterdir()):
        i = ir_dir / v.name
        if v.is_file() and i.is_file() and not v.name.startswith("."):
            out.append([str(v), str(i), prompts.get(_EXAMPLE_TASKS.get(v.stem, "fusion"), NEUTRAL_PROMPT)])
    return out


_CSS = """
#status { min-height: 2.5em; }
#prompts button { flex: 0 1 auto; min-width: 0; }
#result img { max-width: 100%; max-height: 100%; object-fit: contain; }
"""


def build_app(
    fuser_or_model: Fuser | str | os.PathLike | None = None,
    *,
    device: str = "auto",
    limits: WebLimits | None = None,
    tile: int | None = None,
    out_dir: str | os.PathLike | None = None,
    examples_dir: str | os.PathLike | None = None,
    title: str = "Text-IF: text-guided infrared-visible fusion",
    warm_up: bool = True,
    **load_kwargs: Any,
) -> "gr.Blocks":
    """Build the Gradio Blocks app.

    Args:
        fuser_or_model: a loaded :class:`~textif.inference.fuser.Fuser`, or a preset name or
            checkpoint folder to load (``None``: the default model).
        device: where to load the model (when a name or folder is given).
        limits: upload size, pixel count, concurrency, queue and cache limits.
        tile: force tiled fusion with this tile size.
        out_dir: folder for fused PNGs (default: a temporary folder removed at exit).
        examples_dir: folder with ``vis/`` and ``ir/`` example pairs (default: the repository's ``examples/``).
        title: page title.
        warm_up: load the text encoder before serving, so the first fusion is not slowed by it.
        **load_kwargs: passed to :func:`textif.load` when a name or folder is given.

    Returns:
        The ``gr.Blocks``, with its queue configured; the fusion endpoint is ``/fuse``.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    fuser = fuser_or_model if isinstance(fuser_or_model, Fuser) else load(fuser_or_model, device=device, **load_kwargs)
    limits = limits or WebLimits()
    service = FusionService(fuser, limits, out_dir, tile=tile)
    if warm_up and service.trained:
        fuser.embedding(NEUTRAL_PROMPT)  # load the text encoder now, not in the first request (fails early if it cannot)
    device_label = f"{fuser.device_name} ({'ONNX Runtime' if fuser.backend == 'onnx' else 'PyTorch'})"
    prompts = suggested_prompts()

    def fuse(vis: Any, ir: Any, text: str | None, resize: bool, ir_weight: float | None = 0.5) -> tuple[Any, ...]:
        try:
            outcome = service.fuse(vis, ir, text, bool(resize), ir_weight)
        except TextIFError as e:
            raise gr.Error(str(e), title="Cannot fuse", print_exception=False) from None
        except MemoryError:
            raise gr.Error(
                "out of memory while fusing; try smaller images or start the server with --tile 512",
                title="Fusion failed", print_exception=False,
            ) from None
        except Exception as e:  # noqa: BLE001 - a bug or a runtime failure: one line on the page, details in the log
            log.exception("fusion failed")
            first = (str(e).strip().splitlines() or [""])[0][:300]
            raise gr.Error(f"fusion failed: {type(e).__name__}: {first}", title="Fusion failed",
                           print_exception=False) from None
        r = outcome.result
        status = outcome.status_markdown(service.model, device_label)
        return str(r.fused), (str(r.visible), str(r.fused)), str(r.fused), status

    with gr.Blocks(title=title, analytics_enabled=False, delete_cache=(3600, 7200)) as demo:
        gr.Markdown(
            f"## {title}\n"
            "Upload a **visible** and an **infrared** image of the same scene (or pick an example pair below), "
            "describe what is wrong with them, and press **Fuse**. Change the sentence and fuse again to compare."
        )
        warn = service.untrained_message()
        if warn:
            gr.Markdown(f"> ⚠️ **This model cannot fuse yet.** {warn}", elem_id="model-warning")
        with gr.Row(equal_height=True):
            vis_in = gr.Image(label="Visible", type="filepath", image_mode=None, sources=["upload", "clipboard"],
                              height=320, elem_id="vis")
            ir_in = gr.Image(label="Infrared", type="filepath", image_mode=None, sources=["upload", "clipboard"],
                             height=320, elem_id="ir")
            result = gr.Image(label="Fused (full resolution)", type="filepath", format="png", interactive=False,
                              height=320, buttons=["download", "fullscreen"], elem_id="result")
        with gr.Row():
            with gr.Column(scale=1):
                text = gr.Textbox(
                    label="What should the fusion fix?", value=NEUTRAL_PROMPT, lines=2,
                    max_length=limits.max_text_chars, placeholder=NEUTRAL_PROMPT, elem_id="prompt",
                )
                gr.Markdown("Suggested prompts (click to use):")
                with gr.Row(elem_id="prompts"):
                    for task, sentence in prompts.items():
                        b = gr.Button(_TASK_LABELS.get(task, task.replace("_", " ").capitalize()), size="sm",
                                      variant="secondary", elem_id=f"prompt-{task}")
                        # set the text box in the browser: no round trip to the server
                        b.click(None, None, text, js=f"() => {_js_string(sentence)}", queue=False,
                                api_visibility="private")
                resize = gr.Checkbox(label="Resize infrared to the visible size (only for pairs that differ in resolution)",
                                     value=False, elem_id="resize")
                trained_pref = fuser.preference_strength is not None
                ir_weight = gr.Slider(
                    0.0, 1.0, value=0.5, step=0.05, label="Infrared weight (0 visible-dominant · 0.5 neutral · 1 infrared-dominant)",
                    interactive=trained_pref, elem_id="ir-weight",
                    info=None if trained_pref else f"model {service.model} was not trained for a modality preference",
                )
                from textif.web.detect_ui import add_detect_controls

                add_detect_controls(gr, service, vis_in, ir_in, text)
                fuse_btn = gr.Button("Fuse", variant="primary", elem_id="fuse")
                status = gr.Markdown(
                    f"Ready · model `{service.model}` on {device_label} · limits: {limits.max_upload_mb:g} MB per upload, "
                    f"{limits.max_pixels / 1e6:g} MP per image",
                    elem_id="status",
                )
                download = gr.DownloadButton("Download full-resolution PNG", value=None, elem_id="download")
            with gr.Column(scale=1):
                compare = gr.ImageSlider(label="Before / after: visible ↔ fused", type="filepath", format="png",
                                         max_height=480, elem_id="compare")
        examples = bundled_examples(examples_dir)
        if examples:
            gr.Examples(examples=examples, inputs=[vis_in, ir_in, text], label="Example pairs (click to load)",
                        cache_examples=False, examples_per_page=10, elem_id="examples",
                        api_visibility="private")
        dep = fuse_btn.click(
            fuse, inputs=[vis_in, ir_in, text, resize, ir_weight], outputs=[result, compare, download, status],
            api_name="fuse", preprocess=False, concurrency_limit="default", show_progress_on=[result],
        )
        dep.failure(None, None, status, js="() => 'The last fusion did not run: see the message in the corner.'",
                    queue=False, api_visibility="private")
        from textif.web.video_tab import add_video_tab  # the Video tab (short clips)

        demo.textif_video_service = add_video_tab(service)  # type: ignore[attr-defined]
    demo.queue(default_concurrency_limit=limits.concurrency, max_size=limits.queue_size, api_open=True)
    demo.textif_service = service  # type: ignore[attr-defined]
    demo.textif_limits = limits  # type: ignore[attr-defined]
    return demo


def _js_string(s: str) -> str:
    """``s`` as a JavaScript string literal."""
    return json.dumps(s)


def _theme() -> Any:
    import gradio as gr

    # system fonts only: the page must not fetch anything from the internet
    return gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                             font_mono=["ui-monospace", "Consolas", "monospace"])


def launch(demo: "gr.Blocks", *, host: str = "127.0.0.1", port: int = DEFAULT_PORT, block: bool = False,
           announce: bool = False) -> str:
    """Start ``demo`` (from :func:`build_app`) on ``host:port`` with the app's limits; return its address.

    ``announce`` prints the address; ``block`` keeps serving until Ctrl+C, otherwise the server runs in a
    background thread (``demo.close()`` stops it). Raises :class:`~textif.core.errors.TextIFError` when the
    port cannot be used.
    """
    limits: WebLimits = getattr(demo, "textif_limits", WebLimits())
    try:
        _, url, _ = demo.launch(
            server_name=host, server_port=int(port), share=False, inbrowser=False, prevent_thread_lock=True,
            quiet=True, show_error=False, max_file_size=limits.gradio_max_file_size, ssr_mode=False,
            theme=_theme(), css=_CSS, mcp_server=False, pwa=False, enable_monitoring=False,
        )
    except OSError as e:
        why = "the port is already in use" if "empty port" in str(e) else first_line(e)
        raise TextIFError(f"cannot listen on {host}:{port} ({why}); pick another port with --port") from None
    if announce:
        print(f"textif web app running at {url}  (Ctrl+C to stop)", flush=True)
    if block:
        demo.block_thread()
    return str(url)


def first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def serve(
    model: Fuser | str | os.PathLike | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    device: str = "auto",
    limits: WebLimits | None = None,
    tile: int | None = None,
    block: bool = True,
    **load_kwargs: Any,
) -> "gr.Blocks":
    """Load ``model`` (preset name, checkpoint folder or a loaded Fuser), build the app and serve it on ``host:port``.

    Prints the address. With ``block=True`` (the CLI) it runs until Ctrl+C; otherwise it returns
    the running ``gr.Blocks`` (stop it with ``.close()``; the address is ``.local_url``).
    """
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    demo = build_app(model, device=device, limits=limits, tile=tile, **load_kwargs)
    launch(demo, host=host, port=port, block=block, announce=True)
    return demo
