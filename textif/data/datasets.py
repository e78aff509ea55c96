"""Training and validation datasets of infrared/visible pairs with degradations and prompts.

Every dataset yields a dict of float32 tensors in ``[0, 1]`` and strings::

    {"vis": (3, h, w), "ir": (1, h, w),          # network inputs (maybe degraded)
     "vis_gt": (3, h, w), "ir_gt": (1, h, w),    # clean references for the loss
     "text": str, "task": str, "name": str,      # prompt, task name, file stem
     "severity": float,                          # 0 clean; largest part's for composites; -1 unknown
     "mismatched": bool}                         # the prompt names a degradation the input lacks (mismatch_prob)

* :class:`PairedFolder`: clean pairs matched by file stem; degradations are synthesised
  on the fly (:mod:`textif.data.degradations`).
* :class:`EMSFolder`: EMS-style folders where degraded versions sit beside the clean
  ``ir/`` and ``vis/`` (``vis_LL``, ``ir_SN``, ...).
* :func:`build_training_set`: a :class:`PairConcat` of several sources with one exclusion
  list (for example ``splits/roadscene_val.txt``).

Training mode (``mode="train"``) takes random ``crop_size`` crops (images smaller than
the crop are reflect-padded) and random flips; validation mode (``mode="val"``) uses the
full image (or a centre crop when ``crop_size`` is given), no flips, and a fixed
degradation per index. Randomness: with ``seed=None`` each item draws from torch's global
RNG (which DataLoader seeds per worker and per epoch); with an integer ``seed`` each item
is a pure function of ``(seed, epoch, index)`` -- call :meth:`set_epoch` every epoch, as
with a ``DistributedSampler``. Decoded images are cached in memory (as 16-bit) unless
``cache=False``; :meth:`preload` fills the cache before DataLoader workers fork.
"""
from __future__ import annotations

import bisect
import os
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal, Mapping, Sequence, Union

import numpy as np
import torch
from torch.utils.data import ConcatDataset, Dataset

from textif.core.errors import SizeMismatchError, TextIFError
from textif.core.io import IMAGE_EXTENSIONS, list_images, read_image
from textif.data.degradations import (
    DEGRADATIONS,
    NEUTRAL_TASK,
    composite_name,
    degrade_pair,
    modality_of,
    sample_composite,
    split_task,
)
from textif.data.prompts import all_prompts, sample_prompt

__all__ = [
    "DatasetError",
    "EMS_FOLDERS",
    "DRMF_FOLDERS",
    "M3SVD_FOLDERS",
    "PairedFolder",
    "EMSFolder",
    "PairConcat",
    "SampleStream",
    "StreamSampler",
    "build_training_set",
    "read_split",
]

PathLike = Union[str, os.PathLike]
_Box = tuple[int, int, int, int]  # (top, left, height, width)
ExcludeArg = Union[PathLike, Iterable[PathLike], None]

#: EMS degraded-folder names (lower-cased) -> task.
EMS_FOLDERS: dict[str, str] = {
    "vis_ll": "low_light",
    "vis_oe": "overexposure",
    "vis_blur": "blur",
    "vis_rn": "noise",
    "vis_rain": "rain",
    "vis_haze": "haze",
    "ir_lc": "ir_low_contrast",
    "ir_rn": "ir_noise",
    "ir_sn": "ir_stripe",
}
#: DRMF folders (``vis_degraded`` is real low light; ``ir_degraded`` low contrast + noise).
DRMF_FOLDERS: dict[str, str] = {"vis_degraded": "low_light", "ir_degraded": "ir_low_contrast+ir_noise"}
#: M3SVD folders (``ir_noise`` is stripe + random noise).
M3SVD_FOLDERS: dict[str, str] = {"vis_blur": "blur", "ir_noise": "ir_stripe+ir_noise"}

_VIS_NAMES = ("vis", "visible", "Visible", "VIS", "vi")
_IR_NAMES = ("ir", "infrared", "Infrared", "IR")


class DatasetError(TextIFError, ValueError):
    """A dataset was configured with a bad argument or an unusable folder."""


# ----------------------------------------------------------------------------- helpers


def read_split(path: PathLike) -> list[str]:
    """Stems listed in a split file (one name per line, extension optional, ``#`` comments)."""
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"{p}: split file not found")
    out = []
    for line in p.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(_stem(line))
    return out


def _stem(name: str) -> str:
    p = Path(name)
    return p.stem if p.suffix.lower() in IMAGE_EXTENSIONS else p.name


def _stems(arg: ExcludeArg, what: str) -> set[str] | None:
    """``None`` | split file | iterable of stems and/or split files -> set of stems."""
    if arg is None:
        return None
    items: Iterable[PathLike] = [arg] if isinstance(arg, (str, os.PathLike)) else arg
    out: set[str] = set()
    for it in items:
        if isinstance(it, os.PathLike) or (isinstance(it, str) and (it.endswith(".txt") or os.sep in it)):
            out.update(read_split(it))
        elif isinstance(it, str):
            out.add(_stem(it))
        else:
            raise DatasetError(f"{what} must hold names or split files, got {it!r}")
    return out


def _find_dir(root: Path, names: Sequence[str], what: str) -> Path:
    for n in names:
        if (root / n).is_dir():
            return root / n
    raise DatasetError(f"{root}: no {what} folder (looked for {', '.join(names)})")


def _check_weights(weights: Mapping[str, float], what: str) -> dict[str, float]:
    """``{degradation name: weight}`` with lower-case names that exist (a "did you mean" error
    otherwise) and weights >= 0."""
    out = {str(k).lower(): float(v) for k, v in weights.items()}
    for n, wgt in out.items():
        DEGRADATIONS.get(n)
        if wgt < 0:
            raise DatasetError(f"{what} for {n!r} must be >= 0, got {wgt}")
    return out


def _check_prob(value: float, name: str) -> float:
    v = float(value)
    if not 0.0 <= v <= 1.0:
        raise DatasetError(f"{name} must be in [0, 1], got {value}")
    return v


def _seed_of(*values: int) -> int:
    return int(np.random.SeedSequence([int(v) & 0xFFFFFFFF for v in values]).generate_state(1)[0])


def _pad_to(arr: np.ndarray, h: int, w: int) -> np.ndarray:
    """Reflect-pad ``arr`` (H, W[, C]) at the bottom/right to at least ``h`` x ``w``."""
    ph, pw = max(0, h - arr.shape[0]), max(0, w - arr.shape[1])
    if ph == 0 and pw == 0:
        return arr
    pad = [(0, ph), (0, pw)] + [(0, 0)] * (arr.ndim - 2)
    mode = "reflect" if min(arr.shape[:2]) > 1 else "edge"
    return np.pad(arr, pad, mode=mode)


class _ImageCache:
    """Decoded images keyed by (path, channels), stored as uint16 to halve memory."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._store: dict[tuple[str, int], np.ndarray] = {}

    def get(self, path: Path, channels: Literal[1, 3]) -> np.ndarray:
        key = (str(path), channels)
        hit = self._store.get(key)
        if hit is not None:
            return hit.astype(np.float32) / np.float32(65535.0)
        img = read_image(path, channels=channels)
        if self.enabled:
            self._store[key] = np.round(img * 65535.0).astype(np.uint16)
        return img


def _to_tensor(arr: np.ndarray) -> torch.Tensor:
    a = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


# ----------------------------------------------------------------------------- base


class _PairDataset(Dataset):
    """Cropping, flipping, seeding and caching shared by the datasets."""

    def __init__(
        self,
        *,
        crop_size: int | None,
        mode: Literal["train", "val"],
        hflip: bool,
        vflip: bool,
        seed: int | None,
        cache: bool,
        repeat: int,
        prompt_split: Literal["train", "heldout"],
        margin: int,
    ) -> None:
        if mode not in ("train", "val"):
            raise DatasetError(f"mode must be 'train' or 'val', got {mode!r}")
        if crop_size is not None and (not isinstance(crop_size, int) or crop_size < 8):
            raise DatasetError(f"crop_size must be an integer >= 8 or None, got {crop_size!r}")
        if mode == "train" and crop_size is None:
            raise DatasetError("crop_size=None (full images) is only for mode='val'")
        if not isinstance(repeat, int) or repeat < 1:
            raise DatasetError(f"repeat must be a positive integer, got {repeat!r}")
        if prompt_split not in ("train", "heldout"):
            raise DatasetError(f"prompt_split must be 'train' or 'heldout', got {prompt_split!r}")
        if not isinstance(margin, int) or margin < 0:
            raise DatasetError(f"margin must be a non-negative integer, got {margin!r}")
        self.crop_size = crop_size
        self.mode = mode
        self.hflip = hflip and mode == "train"
        self.vflip = vflip and mode == "train"
        self.seed = seed if (seed is not None or mode == "train") else 0
        self.repeat = repeat
        self.prompt_split = prompt_split
        self.margin = margin
        self.epoch = 0
        self._cache = _ImageCache(cache)

    # -- randomness
    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose random crops/degradations a seeded dataset reproduces."""
        self.epoch = int(epoch)

    def _generator(self, index: int, epoch: int) -> torch.Generator:
        g = torch.Generator()
        if self.seed is None:
            g.manual_seed(int(torch.randint(0, 2**62, ())))
        else:
            g.manual_seed(_seed_of(self.seed, 0 if self.mode == "val" else epoch, index))
        return g

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.get(index, self.epoch)

    def get(self, index: int, epoch: int) -> dict[str, Any]:  # pragma: no cover - overridden
        """Item ``index`` as drawn in ``epoch`` (a pure function of ``(seed, epoch, index)`` when seeded)."""
        raise NotImplementedError

    # -- geometry
    def _window(self, h: int, w: int, g: torch.Generator) -> tuple[_Box, _Box]:
        """(outer box with margin, inner box relative to outer) as (top, left, height, width)."""
        c = self.crop_size
        if c is None:
            return (0, 0, h, w), (0, 0, h, w)
        if self.mode == "val":
            top, left = (h - c) // 2, (w - c) // 2
        else:
            top = int(torch.randint(0, h - c + 1, (), generator=g))
            left = int(torch.randint(0, w - c + 1, (), generator=g))
        t0, l0 = max(0, top - self.margin), max(0, left - self.margin)
        t1, l1 = min(h, top + c + self.margin), min(w, left + c + self.margin)
        return (t0, l0, t1 - t0, l1 - l0), (top - t0, left - l0, c, c)

    def _crop_flip(self, arrays: Sequence[np.ndarray], g: torch.Generator) -> tuple[list[np.ndarray], _Box]:
        """Crop the same outer window from aligned arrays and flip them alike."""
        h, w = arrays[0].shape[:2]
        if self.crop_size is not None:
            arrays = [_pad_to(a, self.crop_size, self.crop_size) for a in arrays]
            h, w = arrays[0].shape[:2]
        (t, l, hh, ww), inner = self._window(h, w, g)
        out = [a[t:t + hh, l:l + ww] for a in arrays]
        it, il, ih, iw = inner
        if self.hflip and bool(torch.rand((), generator=g) < 0.5):
            out = [a[:, ::-1] for a in out]
            il = ww - il - iw
        if self.vflip and bool(torch.rand((), generator=g) < 0.5):
            out = [a[::-1] for a in out]
            it = hh - it - ih
        return out, (it, il, ih, iw)

    @staticmethod
    def _inner(t: torch.Tensor, box: _Box) -> torch.Tensor:
        top, left, h, w = box
        return t[:, top:top + h, left:left + w].contiguous()

    def _load(self, path: Path, channels: Literal[1, 3]) -> np.ndarray:
        return self._cache.get(path, channels)

    @staticmethod
    def _check_sizes(named: Sequence[tuple[Path, np.ndarray]]) -> None:
        ref_path, ref = named[0]
        for p, a in named[1:]:
            if a.shape[:2] != ref.shape[:2]:
                raise SizeMismatchError(
                    f"{p}: size {a.shape[1]}x{a.shape[0]} differs from {ref_path} ({ref.shape[1]}x{ref.shape[0]})"
                )

    def preload(self) -> None:
        """Build the prompt bank and decode every image once into the cache (call before
        DataLoader workers fork so that they share both)."""
        all_prompts(self.prompt_split)
        if self._cache.enabled:
            for path, channels in self._files():
                self._load(path, channels)

    def _files(self) -> Iterable[tuple[Path, Literal[1, 3]]]:  # pragma: no cover - overridden
        return ()

    def _prompt(self, task: str, severity: float | None, g: torch.Generator) -> str:
        return sample_prompt(task, generator=g, split=self.prompt_split, severity=severity)


# ----------------------------------------------------------------------------- paired


class PairedFolder(_PairDataset):
    """Clean infrared/visible pairs matched by file stem, degraded on the fly.

    Args:
        source: a folder holding ``vis/`` and ``ir/`` (also ``visible``/``Visible``,
            ``infrared``/``Infrared``), or a ``(vis_dir, ir_dir)`` pair.
        crop_size: side of the square training crop (default 96); ``None`` in val mode
            for full images.
        mode: ``"train"`` (random crops, flips, random degradation) or ``"val"``.
        degradations: names allowed (default all), or ``{name: weight}`` for uneven sampling.
        clean_prob: probability of a clean sample (task ``"fusion"``, neutral prompt).
        keep_prob: probability that a degraded training sample gets the neutral prompt and
            the degraded images themselves as references: the model learns that a sentence
            naming no degradation means "fuse as is", so text decides what gets repaired.
        mismatch_prob: probability that a training sample's prompt names a degradation its
            input does not have (drawn uniformly from the others, or by ``mismatch_weights``),
            with the input images themselves as references: a wrong or misunderstood sentence
            should change little.
        mismatch_weights: ``{name: weight}`` for drawing the absent degradation a mismatched
            prompt names (names left out weigh 0); ``None`` draws uniformly. When the input has
            every weighted type, the draw falls back to uniform over the others.
        composite_prob: probability that a degraded sample is a composite (two degradations,
            see :func:`~textif.data.degradations.sample_composite`).
        severity_range: ``(low, high)`` within ``[0, 1]`` each degradation's severity is drawn from.
        blur_kinds: the blur kernels synthetic blur draws from (default all of
            :data:`~textif.data.degradations.BLUR_KINDS`: Gaussian, defocus, motion).
        hflip, vflip: random flips in training (vflip is off by default: the haze depth
            proxy and rain direction assume an upright scene).
        seed: ``None`` for torch's global RNG, or an int for per-(seed, epoch, index) determinism.
        cache: keep decoded images in memory.
        include: only these stems (names and/or split files); exclude: drop these stems.
        repeat: the dataset length is ``repeat`` times the number of pairs (each repeat is
            a different random crop/degradation).
        prompt_split: ``"train"`` or ``"heldout"`` prompt bank.
        val_tasks: in val mode, the tasks cycled over by index (default ``"fusion"`` if
            ``clean_prob > 0``, then every allowed degradation).
        margin: context in pixels degraded around the crop and then cut away, so blur and
            rain see real neighbours instead of padding.
    """

    def __init__(
        self,
        source: PathLike | tuple[PathLike, PathLike],
        *,
        crop_size: int | None = 96,
        mode: Literal["train", "val"] = "train",
        degradations: Sequence[str] | Mapping[str, float] | None = None,
        clean_prob: float = 0.2,
        keep_prob: float = 0.0,
        mismatch_prob: float = 0.0,
        mismatch_weights: Mapping[str, float] | None = None,
        composite_prob: float = 0.2,
        severity_range: tuple[float, float] = (0.1, 1.0),
        blur_kinds: Sequence[str] | None = None,
        hflip: bool = True,
        vflip: bool = False,
        seed: int | None = None,
        cache: bool = True,
        include: ExcludeArg = None,
        exclude: ExcludeArg = None,
        repeat: int = 1,
        prompt_split: Literal["train", "heldout"] = "train",
        val_tasks: Sequence[str] | None = None,
        margin: int = 16,
    ) -> None:
        super().__init__(crop_size=crop_size, mode=mode, hflip=hflip, vflip=vflip, seed=seed, cache=cache,
                         repeat=repeat, prompt_split=prompt_split, margin=margin)
        if isinstance(source, tuple):
            if len(source) != 2:
                raise DatasetError(f"source must be a folder or a (vis_dir, ir_dir) pair, got {source!r}")
            self.vis_dir, self.ir_dir = Path(source[0]), Path(source[1])
        else:
            root = Path(source)
            if not root.is_dir():
                raise DatasetError(f"{root}: folder not found")
            self.vis_dir, self.ir_dir = _find_dir(root, _VIS_NAMES, "visible"), _find_dir(root, _IR_NAMES, "infrared")
        vis = list_images(self.vis_dir)
        ir = list_images(self.ir_dir)
        keep = _stems(include, "include")
        drop = _stems(exclude, "exclude") or set()
        names = sorted(n for n in vis.keys() & ir.keys() if (keep is None or n in keep) and n not in drop)
        if not names:
            raise DatasetError(f"{self.vis_dir} and {self.ir_dir}: no pairs with matching names "
                               f"(after include/exclude)")
        self.names = names
        self.unmatched = sorted((vis.keys() ^ ir.keys()))
        self._vis, self._ir = vis, ir

        if degradations is None:
            weights = {n: 1.0 for n in DEGRADATIONS.names()}
        elif isinstance(degradations, Mapping):
            weights = _check_weights(degradations, "degradation weight")
        else:
            weights = _check_weights({k: 1.0 for k in degradations}, "degradation weight")
        weights = {n: wgt for n, wgt in weights.items() if wgt > 0}
        self.clean_prob = _check_prob(clean_prob, "clean_prob")
        self.keep_prob = _check_prob(keep_prob, "keep_prob")
        self.mismatch_prob = _check_prob(mismatch_prob, "mismatch_prob")
        self.mismatch_weights: dict[str, float] | None = None
        if mismatch_weights is not None:
            mw = _check_weights(mismatch_weights, "mismatch weight")
            if not any(w > 0 for w in mw.values()):
                raise DatasetError("mismatch_weights: at least one weight must be > 0")
            self.mismatch_weights = mw
        self.composite_prob = _check_prob(composite_prob, "composite_prob")
        if not weights and self.clean_prob < 1:
            raise DatasetError("no degradation allowed; set clean_prob=1 for clean pairs only")
        self.weights = weights
        lo, hi = severity_range
        if not (0.0 <= float(lo) <= float(hi) <= 1.0):
            raise DatasetError(f"severity_range must satisfy 0 <= low <= high <= 1, got {severity_range!r}")
        self.severity_range = (float(lo), float(hi))
        self.blur_kinds = None
        if blur_kinds is not None:
            from textif.data.degradations import BLUR_KINDS

            kinds = [str(k) for k in blur_kinds]
            bad = [k for k in kinds if k not in BLUR_KINDS]
            if not kinds or bad:
                raise DatasetError(f"blur_kinds must be a non-empty list of {', '.join(BLUR_KINDS)}, got {kinds}")
            self.blur_kinds = tuple(kinds)
        if val_tasks is None:
            val_tasks = ([NEUTRAL_TASK] if self.clean_prob > 0 else []) + list(weights)
        self.val_tasks = [composite_name(split_task(t)) if split_task(t) else NEUTRAL_TASK for t in val_tasks]
        if mode == "val" and not self.val_tasks:
            raise DatasetError("val_tasks is empty")

    def __len__(self) -> int:
        return len(self.names) * self.repeat

    def _files(self) -> Iterable[tuple[Path, Literal[1, 3]]]:
        for n in self.names:
            yield self._vis[n], 3
            yield self._ir[n], 1

    def _pick_task(self, index: int, g: torch.Generator) -> str:
        if self.mode == "val":
            return self.val_tasks[index % len(self.val_tasks)]
        if float(torch.rand((), generator=g)) < self.clean_prob or not self.weights:
            return NEUTRAL_TASK
        names = list(self.weights)
        if len(names) > 1 and float(torch.rand((), generator=g)) < self.composite_prob:
            try:
                return sample_composite(g, names=names)
            except TextIFError:
                pass
        w = torch.tensor([self.weights[n] for n in names], dtype=torch.float64)
        return names[int(torch.multinomial(w, 1, generator=g))]

    def get(self, index: int, epoch: int) -> dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples")
        name = self.names[index % len(self.names)]
        g = self._generator(index, epoch)
        vis_a = self._load(self._vis[name], 3)
        ir_a = self._load(self._ir[name], 1)
        self._check_sizes([(self._vis[name], vis_a), (self._ir[name], ir_a)])
        (vis_a, ir_a), inner = self._crop_flip([vis_a, ir_a], g)
        vis_gt, ir_gt = _to_tensor(vis_a), _to_tensor(ir_a)
        task = self._pick_task(index, g)
        deg = degrade_pair(vis_gt, ir_gt, task, severity=self.severity_range, generator=g,
                           random_options={"blur": {"kinds": self.blur_kinds}} if self.blur_kinds else None)
        severity = max(deg.severity.values(), default=0.0)
        # neutral prompt on degraded input: fuse as is (the references are the degraded images)
        as_is = self.mode == "train" and task != NEUTRAL_TASK and float(torch.rand((), generator=g)) < self.keep_prob
        text = None
        mismatched = False
        if self.mode == "train" and self.mismatch_prob > 0 and float(torch.rand((), generator=g)) < self.mismatch_prob:
            # a prompt naming a degradation the input does not have: fuse as is
            others = [n for n in DEGRADATIONS.names() if n not in split_task(task)]
            mw = self.mismatch_weights
            if mw is not None and any(mw.get(n, 0.0) > 0 for n in others):
                w = torch.tensor([mw.get(n, 0.0) for n in others], dtype=torch.float64)
                said = others[int(torch.multinomial(w, 1, generator=g))]
            else:
                said = others[int(torch.randint(len(others), (), generator=g))]
            text = self._prompt(said, None, g)
            as_is = mismatched = True
        if as_is:
            task, severity, vis_gt, ir_gt = NEUTRAL_TASK, 0.0, deg.vis, deg.ir
            deg = deg._replace(severity={})
        return {
            "vis": self._inner(deg.vis, inner),
            "ir": self._inner(deg.ir, inner),
            "vis_gt": self._inner(vis_gt, inner),
            "ir_gt": self._inner(ir_gt, inner),
            "text": text if text is not None else self._prompt(task, severity if deg.severity else None, g),
            "task": task,
            "name": name,
            "severity": float(severity),
            "mismatched": mismatched,
        }


# ----------------------------------------------------------------------------- EMS


class EMSFolder(_PairDataset):
    """EMS-style folders: clean ``ir/`` and ``vis/`` plus degraded versions beside them.

    Each file of a degraded folder (``vis_LL/NAME`` ...) whose stem also exists in both
    clean folders is one sample: the degraded image replaces its modality's input, the
    other modality's input is clean, and the ground truths are the clean images.

    Args:
        root: the folder holding ``ir/``, ``vis/`` and degraded folders.
        folder_tasks: degraded folder name (case-insensitive) -> task; default
            :data:`EMS_FOLDERS` (``vis_LL`` low_light, ``ir_LC`` ir_low_contrast, ``ir_RN``
            ir_noise, ``ir_SN`` ir_stripe, ``vis_Blur`` blur, ``vis_RN`` noise, ``vis_Rain``
            rain, ``vis_haze`` haze, ``vis_OE`` overexposure). A task may be a same-modality
            composite (see :data:`DRMF_FOLDERS`, :data:`M3SVD_FOLDERS`). Unlisted folders are
            ignored.
        tasks: keep only these tasks.
        include_clean: also yield each clean pair once as a ``"fusion"`` sample.
        crop_size, mode, hflip, vflip, seed, cache, include, exclude, repeat, prompt_split,
        margin: as in :class:`PairedFolder` (the margin is unused: nothing is synthesised).
    """

    def __init__(
        self,
        root: PathLike,
        *,
        crop_size: int | None = 96,
        mode: Literal["train", "val"] = "train",
        folder_tasks: Mapping[str, str] | None = None,
        tasks: Sequence[str] | None = None,
        include_clean: bool = False,
        hflip: bool = True,
        vflip: bool = False,
        seed: int | None = None,
        cache: bool = True,
        include: ExcludeArg = None,
        exclude: ExcludeArg = None,
        repeat: int = 1,
        prompt_split: Literal["train", "heldout"] = "train",
        vis_dir: str = "vis",
        ir_dir: str = "ir",
    ) -> None:
        super().__init__(crop_size=crop_size, mode=mode, hflip=hflip, vflip=vflip, seed=seed, cache=cache,
                         repeat=repeat, prompt_split=prompt_split, margin=0)
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: folder not found")
        mapping = {k.lower(): v for k, v in (folder_tasks or EMS_FOLDERS).items()}
        folder_mod: dict[str, tuple[str, str]] = {}
        for folder, task in mapping.items():
            parts = split_task(task)
            if not parts:
                raise DatasetError(f"folder {folder!r}: task {task!r} is not a degradation")
            mods = {modality_of(p) for p in parts}
            if len(mods) != 1:
                raise DatasetError(f"folder {folder!r}: task {task!r} mixes modalities")
            folder_mod[folder] = (composite_name(parts), mods.pop())
        keep_tasks = None if tasks is None else {composite_name(split_task(t)) for t in tasks}
        self._vis = list_images(self.root / vis_dir)
        self._ir = list_images(self.root / ir_dir)
        keep = _stems(include, "include")
        drop = _stems(exclude, "exclude") or set()
        clean = sorted(n for n in self._vis.keys() & self._ir.keys() if (keep is None or n in keep) and n not in drop)
        clean_set = set(clean)
        items: list[tuple[str, str, str, Path | None]] = []  # (task, modality, name, degraded path)
        for sub in sorted(p for p in self.root.iterdir() if p.is_dir()):
            spec = folder_mod.get(sub.name.lower())
            if spec is None:
                continue
            task, mod = spec
            if keep_tasks is not None and task not in keep_tasks:
                continue
            for name, path in list_images(sub).items():
                if name in clean_set:
                    items.append((task, mod, name, path))
        if include_clean and (keep_tasks is None or NEUTRAL_TASK in keep_tasks):
            items.extend((NEUTRAL_TASK, "", n, None) for n in clean)
        if not items:
            raise DatasetError(f"{self.root}: no degraded images with clean counterparts "
                               f"(folders looked for: {', '.join(sorted(mapping))})")
        self.items = items

    def __len__(self) -> int:
        return len(self.items) * self.repeat

    @property
    def tasks(self) -> list[str]:
        """Task of each item (before repetition)."""
        return [it[0] for it in self.items]

    def _files(self) -> Iterable[tuple[Path, Literal[1, 3]]]:
        for task, mod, name, path in self.items:
            yield self._vis[name], 3
            yield self._ir[name], 1
            if path is not None:
                yield path, (3 if mod == "vis" else 1)

    def get(self, index: int, epoch: int) -> dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples")
        task, mod, name, path = self.items[index % len(self.items)]
        g = self._generator(index, epoch)
        vis_gt = self._load(self._vis[name], 3)
        ir_gt = self._load(self._ir[name], 1)
        named = [(self._vis[name], vis_gt), (self._ir[name], ir_gt)]
        if path is not None:
            named.append((path, self._load(path, 3 if mod == "vis" else 1)))
        self._check_sizes(named)
        arrays, inner = self._crop_flip([a for _, a in named], g)
        vis_gt_t, ir_gt_t = self._inner(_to_tensor(arrays[0]), inner), self._inner(_to_tensor(arrays[1]), inner)
        vis_t, ir_t = vis_gt_t, ir_gt_t
        if path is not None:
            deg = self._inner(_to_tensor(arrays[2]), inner)
            if mod == "vis":
                vis_t = deg
            else:
                ir_t = deg
        return {
            "vis": vis_t,
            "ir": ir_t,
            "vis_gt": vis_gt_t,
            "ir_gt": ir_gt_t,
            "text": self._prompt(task, None, g),
            "task": task,
            "name": name,
            "severity": 0.0 if path is None else -1.0,
            "mismatched": False,
        }


# ----------------------------------------------------------------------------- concat


class PairConcat(ConcatDataset):
    """``ConcatDataset`` whose :meth:`set_epoch`, :meth:`get` and :meth:`preload` reach every part."""

    def get(self, index: int, epoch: int) -> dict[str, Any]:
        """Item ``index`` as drawn in ``epoch`` (see :meth:`_PairDataset.get`)."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples")
        part = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[part - 1] if part else 0
        return self.datasets[part].get(index - start, epoch)

    def set_epoch(self, epoch: int) -> None:
        for d in self.datasets:
            if hasattr(d, "set_epoch"):
                d.set_epoch(epoch)

    def preload(self) -> None:
        for d in self.datasets:
            if hasattr(d, "preload"):
                d.preload()


class SampleStream(Dataset):
    """The training stream: sample ``k`` (0, 1, 2, ... over the whole run) as a pure function of
    ``(seed, k)``, so that a run resumed at any step sees what an uninterrupted run sees.

    Sample ``k`` is item ``perm_e[k mod N]`` of ``base`` drawn in epoch ``e = k // N``, where
    ``perm_e`` is a permutation of the ``N`` items seeded by ``(seed, e)`` and the item's crop,
    degradation and prompt are seeded by the base dataset's ``(seed, e, index)``.

    Args:
        base: a seeded training set with ``get(index, epoch)`` (a :class:`PairConcat` or one source).
        seed: seed of the permutations (use the base's seed).
    """

    def __init__(self, base: Dataset, seed: int) -> None:
        if getattr(base, "get", None) is None:
            raise DatasetError(f"{type(base).__name__} has no get(index, epoch); use PairConcat or a textif dataset")
        self.base = base
        self.seed = int(seed)
        self.size = len(base)  # type: ignore[arg-type]
        if self.size == 0:
            raise DatasetError("the training set is empty")
        self._perm: tuple[int, torch.Tensor] | None = None

    def __len__(self) -> int:
        return self.size

    def locate(self, k: int) -> tuple[int, int]:
        """``(epoch, index into base)`` of stream sample ``k``."""
        if k < 0:
            raise IndexError(f"stream index must be >= 0, got {k}")
        epoch, pos = divmod(int(k), self.size)
        if self._perm is None or self._perm[0] != epoch:
            g = torch.Generator().manual_seed(_seed_of(self.seed, epoch, -1))
            self._perm = (epoch, torch.randperm(self.size, generator=g))
        return epoch, int(self._perm[1][pos])

    def __getitem__(self, k: int) -> dict[str, Any]:
        epoch, index = self.locate(k)
        item = self.base.get(index, epoch)  # type: ignore[attr-defined]
        item["stream_index"] = int(k)
        return item


class StreamSampler(torch.utils.data.Sampler[int]):
    """Stream indices for optimiser steps ``start_step`` .. ``stop_step - 1``: step ``s`` of process
    ``rank`` (of ``world``) takes samples ``(s * world + rank) * batch_size`` ... ``+ batch_size - 1``.

    ``len()`` counts from step 0 so that a trainer resuming mid-way keeps its step bookkeeping; the
    iterator starts at ``start_step``.
    """

    def __init__(self, *, batch_size: int, stop_step: int, start_step: int = 0, rank: int = 0, world: int = 1) -> None:
        if batch_size < 1 or world < 1 or not 0 <= rank < world or not 0 <= start_step <= stop_step:
            raise DatasetError(
                f"bad stream sampler settings: batch_size={batch_size}, steps {start_step}..{stop_step}, rank {rank} of {world}"
            )
        self.batch_size, self.start, self.stop, self.rank, self.world = batch_size, start_step, stop_step, rank, world

    def __iter__(self) -> Iterator[int]:
        for step in range(self.start, self.stop):
            first = (step * self.world + self.rank) * self.batch_size
            yield from range(first, first + self.batch_size)

    def __len__(self) -> int:
        return self.stop * self.batch_size


_KINDS = {"paired": PairedFolder, "ems": EMSFolder}


def build_training_set(
    sources: Sequence[Mapping[str, Any] | PathLike | Dataset],
    *,
    exclude: ExcludeArg = None,
    **common: Any,
) -> PairConcat:
    """Concatenate several sources into one training (or validation) set.

    Args:
        sources: each a dataset instance (used as is), a folder path (a
            :class:`PairedFolder`, or an :class:`EMSFolder` when it holds EMS degraded
            folders), or a mapping ``{"type": "paired" | "ems", "root": ..., **kwargs}``
            (``"vis_dir"``/``"ir_dir"`` instead of ``"root"`` for a paired source; ``type``
            guessed like a path when missing).
        exclude: stems and/or split files (for example ``splits/roadscene_val.txt``)
            removed from every source built here (added to a source's own ``exclude``).
        **common: keyword arguments given to every source built here (``crop_size``,
            ``seed``, ``mode``, ...); a source's own keys win.

    Example::

        build_training_set(
            [{"type": "paired", "root": "data/RoadScene", "repeat": 2},
             {"type": "ems", "root": "data/EMS/train", "repeat": 4}],
            exclude="data/splits/roadscene_val.txt", seed=0)
    """
    drop = _stems(exclude, "exclude")
    parts: list[Dataset] = []
    for i, src in enumerate(sources):
        if isinstance(src, Dataset):
            parts.append(src)
            continue
        spec: dict[str, Any] = {"root": src} if isinstance(src, (str, os.PathLike)) else dict(src)
        kind = spec.pop("type", None)
        if "root" in spec:
            root = spec.pop("root")
        elif "vis_dir" in spec and "ir_dir" in spec and kind in (None, "paired"):
            root = (spec.pop("vis_dir"), spec.pop("ir_dir"))
        else:
            raise DatasetError(f"source {i}: needs 'root' (or 'vis_dir' and 'ir_dir'), got keys {sorted(spec)}")
        if kind is None:
            kind = "ems" if isinstance(root, (str, os.PathLike)) and _looks_like_ems(Path(root)) else "paired"
        if kind not in _KINDS:
            raise DatasetError(f"source {i}: type must be 'paired' or 'ems', got {kind!r}")
        kwargs = {**common, **spec}
        if drop:
            own = _stems(kwargs.get("exclude"), "exclude") or set()
            kwargs["exclude"] = sorted(own | drop)
        parts.append(_KINDS[kind](root, **kwargs))
    if not parts:
        raise DatasetError("no sources given")
    return PairConcat(parts)


def _looks_like_ems(root: Path) -> bool:
    return root.is_dir() and any(p.is_dir() and p.name.lower() in EMS_FOLDERS for p in root.iterdir())
