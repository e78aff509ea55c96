"""The real-data restoration validation set: real degraded pairs that have a clean counterpart.

:func:`real_validation_cases` lists every such pair of the shared data folder (``../shared/data``,
see its ``README.md``) in a fixed order, as :class:`RealCase` records of file paths:

1. **M3SVD** (45 frames of 9 video sequences, 640x480):

   * ``M3SVD/vis_blur/X`` with the clean ``M3SVD/ir/X`` -> ``"blur"``;
   * the clean ``M3SVD/vis/X`` with ``M3SVD/ir_noise/X`` -> ``"ir_noise"``, with
     ``extra=("ir_stripe",)``: the folder is called "noise", but the difference to the clean frame
     is column stripes (column means vary by 7-10 grey levels) *and* random noise (9-13 grey
     levels), and the degraded frames are also 30-40 grey levels brighter than the clean ones (no
     textif type names that offset; it is closest to ``ir_low_contrast``).

   The clean pair is ``M3SVD/vis/X`` + ``M3SVD/ir/X`` for both.

2. **DRMF/val** (6 scenes: 3 MSRS 640x480, 3 LLVIP 640x512): ``vis_degraded`` + ``ir_degraded``
   against the clean ``vis`` + ``ir``. This is the composite ``"noise+ir_noise"`` with
   ``extra=("ir_stripe",)``, **not** a low-light case: the "clean" visible frames of DRMF/val are
   as dark as the degraded ones (mean luminance 0.08-0.12 in both; the data README's "restored
   GT" holds for DRMF/train only), so the visible difference is mild random noise (3-5 grey
   levels); the infrared difference is random noise (3-6 grey levels) plus column stripes
   (about 3 grey levels) and a slight loss of contrast (gain 0.9-0.95). A prompt naming low
   light would be judged against a dark reference.

3. **EMS/train hold-out** (the scene stems of ``textif/data/splits/ems_train_holdout.txt``): one
   case per degraded folder that holds the stem, the other modality clean; folders and types:
   ``ir_LC`` ``ir_low_contrast``, ``ir_RN`` ``ir_noise``, ``ir_SN`` ``ir_stripe``, ``vis_LL``
   ``low_light``, ``vis_Blur`` ``blur``, ``vis_RN`` ``noise``, ``vis_Rain`` ``rain``, ``vis_haze``
   ``haze`` (:data:`EMS_DEGRADED_FOLDERS`). The clean visible image of a real low-light scene is a
   restored image (data README).

**Overexposure has no real case**: the only real overexposed images (``EMS/test/vis_OE``) have no
clean ground truth, and EMS/train has no ``vis_OE`` folder.

``RealCase.degradation`` is a textif *task* name (:data:`textif.data.prompts.TASKS`): one
degradation type (``"blur"``) or a composite ``"a+b"`` in textif's canonical order
(:func:`textif.data.degradations.composite_name`), the form :func:`textif.data.prompts.suggested_prompts`
and :func:`~textif.data.prompts.heldout_prompts` accept. It is what the prompts name.
``RealCase.extra`` lists degradations that are also visible in the input but are not named by
the prompts (the stripes above); :attr:`RealCase.types` is both together, so a "wrong-type"
prompt can avoid all of them.

:func:`training_exclusions` gives what training must not see (folders ``M3SVD``, ``M3SVD_seq``
(the same VideoFusion validation sequence as M3SVD's ``0111_1716``) and ``DRMF/val``, and the
EMS hold-out and DRMF/val scene stems in *every* folder, since scenes recur across folders:
EMS hold-out ``00005N`` is also ``DRMF/train/*/00005N.png``, DRMF/val ``010001`` is also
``EMS/test/vis_LL/010001.jpg``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from textif.core.errors import TextIFError
from textif.core.io import list_images
from textif.data.degradations import DEGRADATIONS, modality_of, split_task

__all__ = [
    "RealCase",
    "RealValError",
    "TrainingExclusions",
    "real_validation_cases",
    "training_exclusions",
    "ems_holdout_stems",
    "EMS_DEGRADED_FOLDERS",
    "EXCLUDED_FOLDERS",
    "HOLDOUT_FILE",
    "SOURCES",
]

#: Scene stems of EMS/train held out of all training (one per line).
HOLDOUT_FILE = Path(__file__).resolve().parent / "splits" / "ems_train_holdout.txt"

#: EMS degraded folder -> textif degradation type, in the order cases are listed.
EMS_DEGRADED_FOLDERS: dict[str, str] = {
    "ir_LC": "ir_low_contrast",
    "ir_RN": "ir_noise",
    "ir_SN": "ir_stripe",
    "vis_LL": "low_light",
    "vis_Blur": "blur",
    "vis_RN": "noise",
    "vis_Rain": "rain",
    "vis_haze": "haze",
}

#: The ``source`` values of :class:`RealCase`, in listing order.
SOURCES = ("M3SVD", "DRMF/val", "EMS/holdout")

#: Folders (relative to the data root) that training must not read at all.
EXCLUDED_FOLDERS: tuple[str, ...] = ("M3SVD", "M3SVD_seq", "DRMF/val")

_M3SVD_IR_TASK, _M3SVD_IR_EXTRA = "ir_noise", ("ir_stripe",)
_DRMF_VAL_TASK, _DRMF_VAL_EXTRA = "noise+ir_noise", ("ir_stripe",)


class RealValError(TextIFError, FileNotFoundError):
    """The real validation data is missing or incomplete (the message names the folder or file)."""


@dataclass(frozen=True)
class RealCase:
    """One real degraded pair and its clean counterpart (all paths).

    Attributes:
        name: unique, e.g. ``"M3SVD/blur/0111_1716_0000"``, ``"DRMF/val/00024N"``,
            ``"EMS/holdout/00005N/ir_LC"``.
        source: one of :data:`SOURCES`.
        degradation: a textif task name: one type (``"blur"``) or a composite ``"a+b"``
            (canonical order), what the prompts name.
        vis, ir: the degraded pair (one of them may be the clean file).
        vis_clean, ir_clean: the clean pair.
        extra: degradations also present in the input but not named by ``degradation``.
    """

    name: str
    source: str
    degradation: str
    vis: Path
    ir: Path
    vis_clean: Path
    ir_clean: Path
    extra: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        parts = split_task(self.degradation)  # raises for unknown names, with suggestions
        if not parts:
            raise RealValError(f"{self.name}: a real validation case needs a degradation, got {self.degradation!r}")
        for e in self.extra:
            DEGRADATIONS.get(e)

    @property
    def parts(self) -> tuple[str, ...]:
        """The types ``degradation`` names, in application order."""
        return split_task(self.degradation)

    @property
    def types(self) -> tuple[str, ...]:
        """Every degradation present in the input: :attr:`parts` then :attr:`extra`."""
        return self.parts + tuple(e for e in self.extra if e not in self.parts)

    @property
    def modalities(self) -> tuple[str, ...]:
        """``("vis",)``, ``("ir",)`` or ``("vis", "ir")``: which inputs are degraded."""
        mods = {modality_of(t) for t in self.types}
        return tuple(m for m in ("vis", "ir") if m in mods)

    @property
    def scene(self) -> str:
        """The scene's file stem."""
        return self.vis_clean.stem

    def files(self) -> tuple[Path, ...]:
        """Every file the case reads (degraded and clean, without repeats)."""
        return tuple(dict.fromkeys((self.vis, self.ir, self.vis_clean, self.ir_clean)))


def ems_holdout_stems() -> tuple[str, ...]:
    """The EMS/train scene stems held out of training, in the order of :data:`HOLDOUT_FILE`."""
    if not HOLDOUT_FILE.is_file():
        raise RealValError(f"{HOLDOUT_FILE}: EMS hold-out list not found")
    return tuple(ln.strip() for ln in HOLDOUT_FILE.read_text().splitlines() if ln.strip())


def _folder(root: Path, rel: str) -> dict[str, Path]:
    d = root / rel
    if not d.is_dir():
        raise RealValError(f"{d}: folder of the real validation set not found (data root {root})")
    return list_images(d)


def _need(files: dict[str, Path], stem: str, root: Path, rel: str, why: str) -> Path:
    if stem not in files:
        raise RealValError(f"{root / rel}: no image named {stem!r} ({why})")
    return files[stem]


def _m3svd(root: Path) -> list[RealCase]:
    vis, ir = _folder(root, "M3SVD/vis"), _folder(root, "M3SVD/ir")
    out: list[RealCase] = []
    for folder, task, extra in (("vis_blur", "blur", ()), ("ir_noise", _M3SVD_IR_TASK, _M3SVD_IR_EXTRA)):
        deg = _folder(root, f"M3SVD/{folder}")
        if not deg:
            raise RealValError(f"{root / 'M3SVD' / folder}: folder is empty")
        for stem, p in deg.items():
            cv = _need(vis, stem, root, "M3SVD/vis", f"clean counterpart of M3SVD/{folder}/{p.name}")
            ci = _need(ir, stem, root, "M3SVD/ir", f"clean counterpart of M3SVD/{folder}/{p.name}")
            dv, di = (p, ci) if modality_of(task) == "vis" else (cv, p)
            out.append(RealCase(f"M3SVD/{task}/{stem}", "M3SVD", task, dv, di, cv, ci, extra))
    return out


def _drmf_val(root: Path) -> list[RealCase]:
    base = "DRMF/val"
    vis, ir = _folder(root, f"{base}/vis"), _folder(root, f"{base}/ir")
    dvis, dir_ = _folder(root, f"{base}/vis_degraded"), _folder(root, f"{base}/ir_degraded")
    if not vis:
        raise RealValError(f"{root / base / 'vis'}: folder is empty")
    out = []
    for stem, cv in vis.items():
        why = f"counterpart of {base}/vis/{cv.name}"
        ci = _need(ir, stem, root, f"{base}/ir", why)
        dv = _need(dvis, stem, root, f"{base}/vis_degraded", why)
        di = _need(dir_, stem, root, f"{base}/ir_degraded", why)
        out.append(RealCase(f"{base}/{stem}", "DRMF/val", _DRMF_VAL_TASK, dv, di, cv, ci, _DRMF_VAL_EXTRA))
    return out


def _ems_holdout(root: Path) -> list[RealCase]:
    base = "EMS/train"
    vis, ir = _folder(root, f"{base}/vis"), _folder(root, f"{base}/ir")
    folders = {f: _folder(root, f"{base}/{f}") for f in EMS_DEGRADED_FOLDERS}
    out = []
    for stem in ems_holdout_stems():
        cv = _need(vis, stem, root, f"{base}/vis", f"EMS hold-out scene of {HOLDOUT_FILE.name}")
        ci = _need(ir, stem, root, f"{base}/ir", f"EMS hold-out scene of {HOLDOUT_FILE.name}")
        for folder, task in EMS_DEGRADED_FOLDERS.items():
            p = folders[folder].get(stem)
            if p is None:  # not every scene has every degradation (e.g. vis_LL only for night scenes)
                continue
            dv, di = (p, ci) if modality_of(task) == "vis" else (cv, p)
            out.append(RealCase(f"EMS/holdout/{stem}/{folder}", "EMS/holdout", task, dv, di, cv, ci))
    return out


def real_validation_cases(root: str | os.PathLike) -> list[RealCase]:
    """Every real degraded pair with a clean counterpart, in a fixed order: M3SVD blur, M3SVD
    infrared noise (each by frame name), DRMF/val (by scene), EMS hold-out (scenes in the hold-out
    file's order, degraded folders in :data:`EMS_DEGRADED_FOLDERS` order). See the module docstring.

    Args:
        root: the shared data folder (``../shared/data``).

    Raises:
        RealValError: a folder or a clean counterpart is missing (the message names it).
    """
    root = Path(root)
    if not root.is_dir():
        raise RealValError(f"{root}: data folder not found")
    return _m3svd(root) + _drmf_val(root) + _ems_holdout(root)


@dataclass(frozen=True)
class TrainingExclusions:
    """What training must not read: whole ``folders`` (relative to ``root``) and scene ``stems``
    in any folder. ``excludes(path)`` says whether one file falls under them."""

    root: Path
    folders: tuple[str, ...]
    stems: frozenset[str]

    def excludes(self, path: str | os.PathLike) -> bool:
        """True if ``path`` (absolute, or relative to :attr:`root`) lies in an excluded folder or
        has an excluded stem."""
        p = Path(path)
        if not p.is_absolute():
            p = self.root / p
        if p.stem in self.stems:
            return True
        p = p.resolve()
        return any(p.is_relative_to((self.root / f).resolve()) for f in self.folders)

    def filter(self, paths: Iterable[str | os.PathLike]) -> list[Path]:
        """The paths that training may use."""
        return [Path(p) for p in paths if not self.excludes(p)]


def training_exclusions(root: str | os.PathLike) -> TrainingExclusions:
    """The folders and scene stems training must exclude so that the real validation set stays
    unseen: :data:`EXCLUDED_FOLDERS`, the EMS hold-out stems and the DRMF/val stems.

    Raises:
        RealValError: ``DRMF/val/vis`` is missing (its stems are read from it).
    """
    root = Path(root)
    drmf = _folder(root, "DRMF/val/vis")
    return TrainingExclusions(root, EXCLUDED_FOLDERS, frozenset(ems_holdout_stems()) | frozenset(drmf))
