"""The web app's "Detect" button: diagnose the uploaded pair, fill the text box with the sentence
textif would use and show what was found (type, severity) before the user fuses.

Kept out of ``app.py`` so that the page only needs two hook lines; :func:`detect_upload` is
free of Gradio (tests call it directly). The endpoint is also an API (``/detect``)::

    Client(url).predict(handle_file("vis.png"), handle_file("ir.png"), api_name="/detect")
    # -> ("The visible image is too dark, please enhance the brightness.", "markdown of the findings")

Typing ``auto`` in the text box (or sending ``"auto"`` to ``/fuse``) also diagnoses the pair and
fuses with the chosen sentence.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from textif.core.errors import TextIFError
from textif.detect import Diagnosis, default_detector, is_auto

if TYPE_CHECKING:  # pragma: no cover
    from textif.web.app import FusionService

__all__ = ["detect_upload", "findings_markdown", "add_detect_controls", "resolve_prompt"]

log = logging.getLogger("textif.web")

_LABELS = {
    "low_light": "too dark", "overexposure": "overexposed", "noise": "noise", "blur": "blur", "haze": "haze",
    "rain": "rain streaks", "ir_low_contrast": "low contrast", "ir_noise": "noise", "ir_stripe": "stripe noise",
}


def detect_upload(service: "FusionService", vis: Any, ir: Any) -> Diagnosis:
    """Diagnose an uploaded pair (Gradio payloads or paths), with the page's limits and one-line errors."""
    from textif.web.app import WebInputError, _payload_file, _read

    scratch = service.out_dir / "uploads"
    fv = _payload_file(vis, "visible", scratch)
    fi = _payload_file(ir, "infrared", scratch)
    if fv is None or fi is None:
        missing = "a visible and an infrared image" if fv is None and fi is None else (
            "a visible image" if fv is None else "an infrared image")
        raise WebInputError(f"upload {missing} to detect degradations (or pick an example pair below)")
    v = _read(fv[0], fv[1], "visible", service.limits, None)
    i = _read(fi[0], fi[1], "infrared", service.limits, 1)
    return default_detector().diagnose(v, i)


def resolve_prompt(prompt: str, vis: Any, ir: Any) -> str:
    """``prompt`` unchanged unless it is ``"auto"``; then the sentence the detector chooses for the pair."""
    if not is_auto(prompt):
        return prompt
    text = default_detector().diagnose(vis, ir).text
    log.info("auto text: %s", text)
    return text


def findings_markdown(d: Diagnosis) -> str:
    """A short markdown report: per modality, what was found and how strong."""
    def part(label: str, fs: list) -> str:
        if not fs:
            return f"**{label}:** clean"
        items = ", ".join(f"{_LABELS.get(f.type, f.type)} (`{f.type}`, severity {f.severity:.2f}, p {f.probability:.2f})"
                          for f in fs)
        return f"**{label}:** {items}"

    return f"{part('Visible', d.vis)}  \n{part('Infrared', d.ir)}"


def add_detect_controls(gr: Any, service: "FusionService", vis_in: Any, ir_in: Any, text: Any) -> Any:
    """Add the Detect button and its findings line to the current Gradio layout; returns the button."""
    btn = gr.Button("Detect", variant="secondary", elem_id="detect")
    found = gr.Markdown("Press **Detect** to let textif diagnose the pair and choose the sentence.", elem_id="detected")

    def run(vis: Any, ir: Any) -> tuple[str, str]:
        try:
            d = detect_upload(service, vis, ir)
        except TextIFError as e:
            raise gr.Error(str(e), title="Cannot detect", print_exception=False) from None
        except Exception as e:  # noqa: BLE001 - one line on the page, details in the log
            log.exception("detection failed")
            raise gr.Error(f"detection failed: {type(e).__name__}", title="Detection failed", print_exception=False) from None
        return d.text, findings_markdown(d)

    btn.click(run, inputs=[vis_in, ir_in], outputs=[text, found], api_name="detect", preprocess=False,
              concurrency_limit="default")
    return btn
