"""Diagnosis: images -> degradation types, probabilities, severities and the sentence to fuse with.

    from textif.detect import Detector
    det = Detector.load()                       # the shipped weights
    d = det.diagnose("vis.png", "ir.png")
    d.vis   # [Finding(type='low_light', probability=0.93, severity=0.55)]
    d.text  # 'The visible image is too dark, please enhance the brightness.'

The sentence is the prompt bank's suggested prompt for the task found
(:func:`textif.data.prompts.suggested_prompts`, composites included), so the fusion model
was trained on exactly that wording.
"""
from __future__ import annotations

import functools
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch
from torch import Tensor

from textif.core.errors import TextIFError
from textif.core.io import pair_folders, read_image  # pair_folders: re-exported by textif.detect
from textif.data.degradations import NEUTRAL_TASK, composite_name, split_task
from textif.data.prompts import suggested_prompts
from textif.models.detector import DetectorCheckpoint, detector_views, load_detector

__all__ = ["Finding", "Diagnosis", "Detector", "sentence_for", "default_detector", "diagnose_folder", "DEFAULT_THRESHOLD"]

log = logging.getLogger("textif.detect")

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Finding:
    """One degradation found in one image: its type, the probability that it is there and its
    severity in [0, 1] (the scale of :mod:`textif.data.degradations`)."""

    type: str
    probability: float
    severity: float

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "probability": round(self.probability, 3), "severity": round(self.severity, 3)}


@dataclass
class Diagnosis:
    """What the detector found in a pair. Empty lists mean clean."""

    vis: list[Finding] = field(default_factory=list)
    ir: list[Finding] = field(default_factory=list)
    text: str = ""
    task: str = NEUTRAL_TASK
    name: str | None = None

    @property
    def clean(self) -> bool:
        return not self.vis and not self.ir

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.name is not None:
            d["name"] = self.name
        d.update(vis=[f.to_dict() for f in self.vis], ir=[f.to_dict() for f in self.ir], text=self.text, task=self.task)
        return d

    def summary(self) -> str:
        """One line per modality, e.g. ``visible: low_light (p 0.93, severity 0.55)``."""
        def line(label: str, fs: list[Finding]) -> str:
            if not fs:
                return f"{label}: clean"
            return f"{label}: " + ", ".join(f"{f.type} (p {f.probability:.2f}, severity {f.severity:.2f})" for f in fs)

        return "\n".join([line("visible", self.vis), line("infrared", self.ir)])


def sentence_for(vis: Iterable[Finding], ir: Iterable[Finding]) -> tuple[str, str]:
    """``(task, sentence)`` for the findings: the suggested prompt of the most probable
    degradation of each degraded modality (a cross-modal composite when both are degraded), or
    of the two most probable ones of a single degraded modality when they can be combined."""
    v = sorted(vis, key=lambda f: -f.probability)
    i = sorted(ir, key=lambda f: -f.probability)
    if v and i:
        parts = [v[0].type, i[0].type]
    else:
        found = v or i
        parts = [f.type for f in found[:1]]
        for f in found[1:]:
            try:
                split_task(f"{parts[0]}+{f.type}")
            except TextIFError:
                continue
            parts.append(f.type)
            break
    task = composite_name(parts) if parts else NEUTRAL_TASK
    return task, suggested_prompts(include_composites=True)[task]


def _to_tensor(x: Any, modality: str) -> tuple[Tensor, str]:
    """Any image kind -> ``(1, C, H, W)`` float32 in [0, 1] (C = 3 visible, 1 infrared) and a label."""
    ch = 3 if modality == "vis" else 1
    role = "visible" if modality == "vis" else "infrared"
    if isinstance(x, (str, os.PathLike)):
        arr, label = read_image(x, channels=ch), str(x)
    elif isinstance(x, Tensor):
        t = x[None] if x.ndim == 3 else x
        if t.ndim != 4 or t.shape[1] not in (1, 3) or not t.is_floating_point():
            raise TextIFError(f"{role} tensor must be float (B, 1|3, H, W) in [0, 1], got {x.dtype} {tuple(x.shape)}")
        if t.shape[0] != 1:
            raise TextIFError(f"{role} tensor: diagnose one image at a time, got a batch of {t.shape[0]}")
        t = t.detach().float().cpu().clamp(0, 1)
        if ch == 3 and t.shape[1] == 1:
            t = t.expand(-1, 3, -1, -1)
        if ch == 1 and t.shape[1] == 3:
            t = (t * t.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        return t, f"{role} tensor"
    else:
        try:
            from PIL import Image
        except ImportError:  # pragma: no cover
            Image = None
        if Image is not None and isinstance(x, Image.Image):
            x = np.asarray(x.convert("RGB" if ch == 3 else "L"))
        if not isinstance(x, np.ndarray):
            raise TextIFError(f"{role}: unsupported input type {type(x).__name__} (use a path, PIL image, numpy array or tensor)")
        a = x[..., :3] if x.ndim == 3 and x.shape[2] == 4 else x
        if a.ndim == 3 and a.shape[2] == 1:
            a = a[..., 0]
        if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
            raise TextIFError(f"{role} array must be (H, W) or (H, W, 3), got {x.shape}")
        if a.dtype == np.uint8:
            a = a.astype(np.float32) / 255.0
        elif a.dtype == np.uint16:
            a = a.astype(np.float32) / 65535.0
        elif np.issubdtype(a.dtype, np.floating):
            a = np.clip(np.nan_to_num(a.astype(np.float32)), 0, 1)
        else:
            raise TextIFError(f"{role} array has unsupported dtype {a.dtype} (use uint8, uint16 or float in [0, 1])")
        if ch == 3 and a.ndim == 2:
            a = np.repeat(a[..., None], 3, axis=2)
        if ch == 1 and a.ndim == 3:
            a = a @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        arr, label = a, f"{role} array"
    t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    t = t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]
    return t, label


class Detector:
    """The degradation detector with its decision thresholds.

    Args:
        checkpoint: a loaded :class:`~textif.models.detector.DetectorCheckpoint` (``None``: the shipped weights).
        threshold: probability above which a degradation is reported (per-type thresholds of the
            checkpoint apply when ``None``).
    """

    def __init__(self, checkpoint: DetectorCheckpoint | None = None, *, threshold: float | None = None) -> None:
        self.checkpoint = checkpoint if checkpoint is not None else load_detector()
        self.model = self.checkpoint.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.config = self.model.config
        self.threshold = threshold

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, **kwargs: Any) -> "Detector":
        """Load a detector folder (``model.safetensors`` + ``config.json``; default: the shipped one)."""
        return cls(load_detector(path), **kwargs)

    def _threshold(self, t: str) -> float:
        if self.threshold is not None:
            return float(self.threshold)
        return float(self.checkpoint.thresholds.get(t, DEFAULT_THRESHOLD))

    @torch.no_grad()
    def predict(self, img: Tensor, modality: str) -> tuple[Tensor, Tensor]:
        """Raw scores of one modality.

        Args:
            img: ``(B, C, H, W)`` float in [0, 1] (C = 3 for ``"vis"``, 1 for ``"ir"``), any size.

        Returns:
            ``probability (B, T)`` and ``severity (B, T)`` in [0, 1], in ``config.<modality>_types`` order.
        """
        cfg = self.config
        g, c = detector_views(img.float(), size=cfg.size, crop=cfg.crop, crops=cfg.crops)
        logits, sev = self.model.forward_modality(modality, g, c)
        return torch.sigmoid(logits), sev

    def findings(self, img: Any, modality: str) -> list[Finding]:
        """Degradations found in one image (any kind: path, PIL, numpy, tensor), most probable first."""
        t, _ = _to_tensor(img, modality)
        prob, sev = self.predict(t, modality)
        types = self.config.types(modality)
        out = [Finding(ty, float(prob[0, k]), float(sev[0, k])) for k, ty in enumerate(types)
               if float(prob[0, k]) >= self._threshold(ty)]
        return sorted(out, key=lambda f: -f.probability)

    def diagnose(self, vis: Any, ir: Any, *, name: str | None = None) -> Diagnosis:
        """Diagnose a pair (paths, PIL images, numpy arrays or tensors) and choose the sentence."""
        fv = self.findings(vis, "vis")
        fi = self.findings(ir, "ir")
        task, text = sentence_for(fv, fi)
        return Diagnosis(fv, fi, text, task, name)

    def __call__(self, vis: Any, ir: Any) -> str:
        """The sentence for a pair (usable as a text resolver: ``text = detector(vis, ir)``)."""
        d = self.diagnose(vis, ir)
        log.info("auto text: %s", d.text)
        return d.text


@functools.lru_cache(maxsize=1)
def default_detector() -> Detector:
    """The shipped detector, loaded once per process."""
    return Detector.load()


@dataclass
class FolderDiagnosis:
    """Outcome of :func:`diagnose_folder`."""

    diagnoses: list[Diagnosis] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (name, message)
    seconds: float = 0.0


def diagnose_folder(vis_dir: str | os.PathLike, ir_dir: str | os.PathLike, *, detector: Detector | None = None,
                    progress: bool = True) -> FolderDiagnosis:
    """Diagnose every pair of two folders (matched by file stem), going on past bad files."""
    det = detector or default_detector()
    pairs, failed = pair_folders(vis_dir, ir_dir)
    out = FolderDiagnosis(failed=failed)
    t0 = time.perf_counter()
    from tqdm.auto import tqdm

    for stem, v, i in tqdm(pairs, desc="detecting", unit="pair", disable=not progress, dynamic_ncols=True):
        try:
            out.diagnoses.append(det.diagnose(v, i, name=stem))
        except TextIFError as e:
            out.failed.append((stem, str(e)))
    out.seconds = time.perf_counter() - t0
    return out
