"""Automatic mode: diagnose the pair, choose the sentence, fuse.

The :class:`~textif.inference.fuser.Fuser` lives one layer below and never imports the
detector; this module drives it through its public API::

    fuser = textif.load()
    fused, diagnosis = fuse_auto(fuser, "vis.png", "ir.png")
    text = auto_text("vis.png", "ir.png")           # just the sentence
    report, diagnoses = fuse_folder_auto(fuser, "vis/", "ir/", "out/")   # + out/diagnosis.jsonl

``text_resolver()`` returns a ``(vis, ir) -> sentence`` callable for a fuser that accepts one
(``text="auto"`` then resolves through it).
"""
from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Literal

from textif.core.errors import TextIFError
from textif.core.io import write_text_atomic
from textif.detect.diagnosis import Detector, Diagnosis, default_detector, pair_folders
from textif.inference.fuser import FolderReport, Fuser, is_auto

__all__ = ["AUTO", "is_auto", "enable_auto", "auto_text", "resolve_text", "text_resolver", "fuse_auto", "fuse_file_auto",
           "fuse_folder_auto", "SIDECAR"]

log = logging.getLogger("textif.detect")

#: The value of ``text`` that asks for automatic mode.
AUTO = "auto"
#: Name of the per-pair diagnosis file written into the output folder in folder mode.
SIDECAR = "diagnosis.jsonl"


def auto_text(vis: Any, ir: Any, *, detector: Detector | None = None) -> str:
    """The sentence textif would use for a pair (paths, PIL images, numpy arrays or tensors)."""
    return (detector or default_detector()).diagnose(vis, ir).text


def resolve_text(text: str | None, vis: Any, ir: Any, *, detector: Detector | None = None) -> tuple[str | None, Diagnosis | None]:
    """``text`` unchanged unless it is ``"auto"``; then the detector's sentence and its diagnosis."""
    if not is_auto(text):
        return text, None
    d = (detector or default_detector()).diagnose(vis, ir)
    log.info("auto text: %s", d.text)
    return d.text, d


def text_resolver(detector: Detector | None = None) -> Callable[[Any, Any], str]:
    """A ``(vis, ir) -> sentence`` callable (loads the shipped detector on first use)."""

    def resolve(vis: Any, ir: Any) -> str:
        return (detector or default_detector())(vis, ir)

    return resolve


def enable_auto(fuser: Fuser, detector: Detector | None = None) -> Fuser:
    """Give ``fuser`` a ``text_resolver`` so that ``fuser.fuse(..., text="auto")`` diagnoses each pair
    with ``detector`` (default: the shipped one; :func:`textif.load` already wires that in)."""
    fuser.text_resolver = text_resolver(detector)
    return fuser


def fuse_auto(fuser: Fuser, vis: Any, ir: Any, *, detector: Detector | None = None, **kwargs: Any) -> tuple[Any, Diagnosis]:
    """Diagnose, then :meth:`Fuser.fuse` with the chosen sentence. Returns ``(fused, diagnosis)``."""
    d = (detector or default_detector()).diagnose(vis, ir)
    log.info("auto text: %s", d.text)
    return fuser.fuse(vis, ir, d.text, **kwargs), d


def fuse_file_auto(fuser: Fuser, vis_path: str | os.PathLike, ir_path: str | os.PathLike, out_path: str | os.PathLike,
                   *, detector: Detector | None = None, **kwargs: Any) -> tuple[Path, Diagnosis]:
    """Diagnose two files, then :meth:`Fuser.fuse_file` with the chosen sentence."""
    d = (detector or default_detector()).diagnose(vis_path, ir_path, name=Path(vis_path).stem)
    log.info("auto text: %s", d.text)
    return fuser.fuse_file(vis_path, ir_path, out_path, d.text, **kwargs), d


def fuse_folder_auto(
    fuser: Fuser,
    vis_dir: str | os.PathLike,
    ir_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    detector: Detector | None = None,
    overwrite: bool = False,
    bit_depth: Literal[8, 16] = 8,
    resize_ir_to_vis: bool = False,
    progress: bool = True,
    suffix: str = ".png",
    sidecar: str | None = SIDECAR,
) -> tuple[FolderReport, list[Diagnosis]]:
    """Fuse every pair of two folders, each with the sentence its own diagnosis chooses.

    Like :meth:`Fuser.fuse_folder` (pairs matched by file stem, existing outputs skipped unless
    ``overwrite``, bad pairs reported and skipped), and writes ``out_dir/diagnosis.jsonl`` (one
    JSON object per pair: ``name``, ``vis``, ``ir``, ``text``, ``task``; atomically, at the end).
    """
    det = detector or default_detector()
    pairs, failed = pair_folders(vis_dir, ir_dir)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TextIFError(f"{out}: cannot create output folder ({e.strerror or e})") from None
    report = FolderReport(failed=list(failed))
    diagnoses: list[Diagnosis] = []
    t0 = time.perf_counter()
    from tqdm.auto import tqdm

    try:
        for stem, v, i in tqdm(pairs, desc="fusing (auto)", unit="pair", disable=not progress, dynamic_ncols=True):
            target = out / f"{stem}{suffix}"
            try:
                d = det.diagnose(v, i, name=stem)
                diagnoses.append(d)
                if target.exists() and not overwrite:
                    report.skipped.append(target)
                    continue
                fuser.fuse_file(v, i, target, d.text, bit_depth=bit_depth, resize_ir_to_vis=resize_ir_to_vis)
                report.written.append(target)
            except TextIFError as e:
                report.failed.append((stem, str(e)))
    finally:
        if sidecar and diagnoses:
            lines = "".join(json.dumps(d.to_dict()) + "\n" for d in diagnoses)
            write_text_atomic(out / sidecar, lines)
        report.seconds = time.perf_counter() - t0
    return report, diagnoses
