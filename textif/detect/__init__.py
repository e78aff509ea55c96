"""Degradation diagnosis and automatic mode.

    from textif.detect import Detector, auto_text, fuse_auto
    d = Detector.load().diagnose("vis.png", "ir.png")   # Diagnosis(vis=[Finding...], ir=[...], text=...)
    text = auto_text("vis.png", "ir.png")               # the sentence textif would fuse with
    fused, d = fuse_auto(textif.load(), "vis.png", "ir.png")

Layering: this package sits above ``textif.inference`` and uses the Fuser through its public
API; inference never imports it.
"""
from __future__ import annotations

from textif.detect.auto import (
    AUTO,
    SIDECAR,
    auto_text,
    enable_auto,
    fuse_auto,
    fuse_file_auto,
    fuse_folder_auto,
    is_auto,
    resolve_text,
    text_resolver,
)
from textif.detect.diagnosis import (
    Detector,
    Diagnosis,
    Finding,
    FolderDiagnosis,
    default_detector,
    diagnose_folder,
    pair_folders,
    sentence_for,
)

__all__ = [
    "AUTO", "SIDECAR", "Detector", "Diagnosis", "Finding", "FolderDiagnosis", "auto_text", "default_detector",
    "enable_auto",
    "diagnose_folder", "fuse_auto", "fuse_file_auto", "fuse_folder_auto", "is_auto", "pair_folders",
    "resolve_text", "sentence_for", "text_resolver",
]
