"""Labelled real images of ``../shared/data`` for training and evaluating the detector.

Each entry is one image of one modality with the degradation types it shows (an empty
tuple = clean). Labels come from the folder names (EMS ``vis_LL`` -> ``low_light`` ...) and
the data README (DRMF ``ir_degraded`` = low contrast + noise, M3SVD ``ir_noise`` = stripe +
random noise).

Splits never mix: the detector trains on ``"train"`` (EMS/train minus the held-out scenes in
``textif/data/splits/ems_train_holdout.txt``, DRMF/train minus those scenes) and is evaluated
on ``"eval_degraded"`` (EMS/test, the EMS hold-out, M3SVD, DRMF/val) and ``"eval_clean"``
(RoadScene val split, TNO, M3SVD clean). TNO is split in two fixed halves
(``textif/data/splits/tno_detector_train.txt``, every other pair in name order): the detector
trains on one half as clean images (its flat thermal images and grey dusk scenes are clean, and
nothing else in training looks like them) and is evaluated on the other.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LabelledImage", "EMS_FOLDERS", "ems_holdout", "tno_detector_train", "roadscene_detector_calibration",
           "roadscene_detector_train", "train_images", "eval_images", "clean_pairs", "calibration_images"]

SPLITS = Path(__file__).resolve().parents[1] / "data" / "splits"
TNO_TRAIN_FILE = SPLITS / "tno_detector_train.txt"
ROADSCENE_CALIBRATION_FILE = SPLITS / "roadscene_detector_calibration.txt"

#: EMS folder -> (modality, degradation types).
EMS_FOLDERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "vis": ("vis", ()),
    "ir": ("ir", ()),
    "vis_LL": ("vis", ("low_light",)),
    "vis_OE": ("vis", ("overexposure",)),
    "vis_RN": ("vis", ("noise",)),
    "vis_Blur": ("vis", ("blur",)),
    "vis_haze": ("vis", ("haze",)),
    "vis_Rain": ("vis", ("rain",)),
    "ir_LC": ("ir", ("ir_low_contrast",)),
    "ir_RN": ("ir", ("ir_noise",)),
    "ir_SN": ("ir", ("ir_stripe",)),
}


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    modality: str  # "vis" | "ir"
    types: tuple[str, ...]
    source: str  # e.g. "EMS/test", "M3SVD"

    @property
    def scene(self) -> str:
        return self.path.stem


def _split(file: Path) -> set[str]:
    """The names listed in a split file, one per line."""
    return {ln.strip() for ln in file.read_text().splitlines() if ln.strip()}


def ems_holdout() -> set[str]:
    """Scene stems of EMS/train kept out of the detector's (and the lead's) training: the fusion
    model's real validation hold-out (:func:`textif.data.realval.ems_holdout_stems`)."""
    from textif.data.realval import ems_holdout_stems

    return set(ems_holdout_stems())


def tno_detector_train() -> set[str]:
    """Stems of the TNO half the detector trains on as clean images; the other half is evaluated."""
    return _split(TNO_TRAIN_FILE)


def roadscene_detector_calibration() -> set[str]:
    """File names of the half of the RoadScene training split that a detector trained with
    ``scripts/train_detector.py --keep-out-calibration`` never sees (every other name in order)."""
    return _split(ROADSCENE_CALIBRATION_FILE)


def roadscene_detector_train(root: str | Path, *, keep_out_calibration: bool = False) -> list[str]:
    """File names of the RoadScene training split (``splits/roadscene_train.txt``) whose clean pairs
    the detector's synthetic samples are made from; ``keep_out_calibration`` drops the half of
    :func:`roadscene_detector_calibration`."""
    names = (Path(root) / "splits" / "roadscene_train.txt").read_text().split()
    if keep_out_calibration:
        cal = roadscene_detector_calibration()
        names = [n for n in names if n not in cal]
    return names


def _images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"))


def _ems(root: Path, part: str, keep) -> list[LabelledImage]:
    out = []
    for name, (mod, types) in EMS_FOLDERS.items():
        for p in _images(root / "EMS" / part / name):
            if keep(p.stem):
                out.append(LabelledImage(p, mod, types, f"EMS/{part}"))
    return out


def _tno_half(root: Path) -> list[LabelledImage]:
    """The clean TNO images of :func:`tno_detector_train`, both modalities."""
    half = tno_detector_train()
    return [LabelledImage(p, mod, (), "TNO/train-half") for mod in ("vis", "ir")
            for p in _images(root / "TNO" / mod) if p.stem in half]


def train_images(root: str | Path, *, tno: bool = True) -> list[LabelledImage]:
    """Real labelled images the detector may train on (clean ones included); ``tno=False`` leaves
    the TNO half out (kept for calibration)."""
    root = Path(root)
    hold = ems_holdout()
    out = _ems(root, "train", lambda s: s not in hold)
    for mod in ("vis", "ir"):
        for p in _images(root / "DRMF" / "train" / mod):
            if p.stem not in hold:
                out.append(LabelledImage(p, mod, (), "DRMF/train"))
    for p in _images(root / "DRMF" / "train" / "vis_degraded"):
        if p.stem not in hold:
            out.append(LabelledImage(p, "vis", ("low_light",), "DRMF/train"))
    for p in _images(root / "DRMF" / "train" / "ir_degraded"):
        if p.stem not in hold:
            out.append(LabelledImage(p, "ir", ("ir_low_contrast", "ir_noise"), "DRMF/train"))
    if tno:
        out += _tno_half(root)
    return out


def eval_images(root: str | Path) -> list[LabelledImage]:
    """Real degraded images never used in training (plus the clean EMS/test ones)."""
    root = Path(root)
    hold = ems_holdout()
    out = _ems(root, "test", lambda s: True)
    out = [LabelledImage(e.path, e.modality, e.types, "EMS/test") for e in out]
    out += [LabelledImage(e.path, e.modality, e.types, "EMS/holdout") for e in _ems(root, "train", lambda s: s in hold)]
    for p in _images(root / "M3SVD" / "vis_blur"):
        out.append(LabelledImage(p, "vis", ("blur",), "M3SVD"))
    for p in _images(root / "M3SVD" / "ir_noise"):
        out.append(LabelledImage(p, "ir", ("ir_stripe", "ir_noise"), "M3SVD"))
    for p in _images(root / "DRMF" / "val" / "vis_degraded"):
        out.append(LabelledImage(p, "vis", _DRMF_VAL_VIS, "DRMF/val"))
    for p in _images(root / "DRMF" / "val" / "ir_degraded"):
        out.append(LabelledImage(p, "ir", ("ir_noise",), "DRMF/val"))
    return out


#: DRMF/val visible images: real night-time MSRS/LLVIP frames (mean luminance ~0.1) with mild
#: added noise (median absolute difference to the "clean" frame 2-4 grey levels).
_DRMF_VAL_VIS = ("low_light", "noise")


def clean_pairs(root: str | Path) -> list[tuple[str, Path, Path]]:
    """Clean evaluation pairs ``(source, vis, ir)``: RoadScene val split, the TNO half the detector
    never trains on (:func:`tno_detector_train`), M3SVD clean."""
    root = Path(root)
    out: list[tuple[str, Path, Path]] = []
    split = root / "splits" / "roadscene_val.txt"
    if split.is_file():
        for name in split.read_text().split():
            out.append(("RoadScene/val", root / "RoadScene" / "vis" / name, root / "RoadScene" / "ir" / name))
    tno = {p.stem: p for p in _images(root / "TNO" / "ir")}
    tno_train = tno_detector_train()
    for p in _images(root / "TNO" / "vis"):
        if p.stem in tno and p.stem not in tno_train:
            out.append(("TNO", p, tno[p.stem]))
    m3 = {p.stem: p for p in _images(root / "M3SVD" / "ir")}
    for p in _images(root / "M3SVD" / "vis"):
        if p.stem in m3:
            out.append(("M3SVD", p, m3[p.stem]))
    return out


def calibration_images(root: str | Path, *, unseen_only: bool = False) -> list[LabelledImage]:
    """Real images for calibrating the decision thresholds, none of them evaluated: the RoadScene
    training split (clean, both modalities), the TNO half of :func:`tno_detector_train` (clean) and
    EMS/train outside the hold-out (clean and degraded folders). DRMF is left out: its "clean"
    visible frames are as dark as its degraded ones, so they cannot say what "clean" means.

    ``unseen_only=True``: only what a detector trained with ``--keep-out-calibration`` never saw,
    the RoadScene half of :func:`roadscene_detector_calibration` and the TNO half."""
    root = Path(root)
    out: list[LabelledImage] = []
    val = root / "splits" / "roadscene_val.txt"
    held = set(val.read_text().split()) if val.is_file() else set()
    cal = roadscene_detector_calibration() if unseen_only else None
    for mod in ("vis", "ir"):
        for p in _images(root / "RoadScene" / mod):
            if p.name not in held and p.stem not in held and (cal is None or p.name in cal):
                out.append(LabelledImage(p, mod, (), "RoadScene/train"))
    out += _tno_half(root)
    if not unseen_only:
        hold = ems_holdout()
        out += _ems(root, "train", lambda s: s not in hold)
    return out


def ems_test_pairs(root: str | Path) -> list[tuple[str, Path, Path, str]]:
    """EMS/test pairings ``(scene, ir, vis, degradation folder)`` from ``EMS/test_pairs.csv``."""
    root = Path(root)
    f = root / "EMS" / "test_pairs.csv"
    if not f.is_file():
        return []
    with f.open() as fh:
        return [(r["scene"], root / "EMS" / "test" / r["ir_file"], root / "EMS" / "test" / r["vis_file"], r["degradation"])
                for r in csv.DictReader(fh)]
