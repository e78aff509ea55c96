"""Training configuration: a YAML file mapped onto dataclasses (unknown keys are errors).

Configs compose: ``extends: base.yaml`` (a path relative to the file, or a list of them) starts
from another config and overrides it key by key (mappings merge, lists and values replace).
``out_dir`` is never inherited: a config that does not set it trains into ``runs/<file stem>``
(``runs/<folder>/<file stem>`` for a config in a sub-folder of ``configs/``).

A continuation stage names where it starts as ``init_from`` (a checkpoint folder or the name
of a model shipped in the package) or as ``init_from: {config: stage1.yaml}`` -- the model that
config exports (its ``out_dir/model``); ``teacher`` accepts the same forms. The resolved config
and these references are recorded in the exported ``config.json`` (see
:mod:`textif.training.lineage`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from textif.core.errors import TextIFError

__all__ = [
    "TrainConfig", "DataConfig", "SourceConfig", "ValConfig", "OptimConfig", "load_config", "config_differences",
    "RUN_CONTROL_KEYS",
]


@dataclass
class SourceConfig:
    """One training source. ``kind``: ``paired`` (clean pairs, degradations synthesised on the fly:
    ``vis``/``ir`` folders) or ``ems`` (EMS-style folder with degraded variants beside ``ir``/``vis``)."""

    kind: str = "paired"
    vis: str | None = None
    ir: str | None = None
    root: str | None = None
    # a split file of names to keep out, relative to data.root (e.g. splits/roadscene_val.txt), or
    # "textif:splits/ems_train_holdout.txt" for a split shipped in the package
    exclude: str | None = None
    repeat: int = 1  # oversample small sources


@dataclass
class DataConfig:
    root: str = "../shared/data"
    sources: list[SourceConfig] = field(default_factory=list)
    crop: int = 96
    degrade_prob: float = 0.75  # probability that a clean pair gets a synthetic degradation
    composite_prob: float = 0.15  # among degraded samples, probability of a composite (two degradations)
    keep_prob: float = 0.2  # among degraded samples, probability of "neutral prompt -> fuse as is"
    mismatch_prob: float = 0.0  # paired sources: probability of a prompt naming an absent degradation -> fuse as is
    mismatch_weights: dict[str, float] | None = None  # which absent degradation such a prompt names (default: uniform)
    degradation_weights: dict[str, float] | None = None  # sampling weight per degradation (default: uniform)
    # paired sources: [low, high] in [0, 1] that each synthetic degradation's severity is drawn from
    severity_range: list[float] = field(default_factory=lambda: [0.1, 1.0])
    # paired sources: the kernels synthetic blur draws from (gaussian, defocus, motion); None: all three
    blur_kinds: list[str] | None = None
    num_workers: int = 2
    cache_images: bool = True


@dataclass
class ValConfig:
    vis: str = "RoadScene/vis"
    ir: str = "RoadScene/ir"
    split: str | None = "splits/roadscene_val.txt"
    images: int = 4  # images in the validation grid
    size: int = 192  # centre crop side for validation (keeps validation cheap on a CPU)
    every_n_steps: int = 500
    # Seed of the validation samples' degradations and prompts; fixed (not ``seed``) so that
    # validation losses compare across the stages and runs of one validation setup.
    seed: int = 0


@dataclass
class PreferenceConfig:
    """Modality-preference training (:mod:`textif.data.preference`): a share ``prob`` of the samples
    asks for an ``ir_weight`` other than neutral, as a sentence clause (``sentence_prob`` of them) or
    as the slider's embedding shift of ``strength``; the loss follows the preference and the
    consistency term skips those samples. ``prob: 0`` (default) trains without preferences.

    ``reach`` is how far a preference moves the loss's target from the neutral fusion toward one
    image: the loss sees ``ir_weight 0.5 + reach * (w - 0.5)``
    (:func:`textif.data.preference.loss_ir_weight`). 1 (stages up to 17): the slider's ends aim at
    the infrared or the visible image itself, so a network that learns them well returns one input
    unfused there; 0.5: the ends aim half-way, at fusions dominated by one image."""

    prob: float = 0.0
    sentence_prob: float = 0.5
    strength: float = 1.0
    reach: float = 1.0


@dataclass
class OptimConfig:
    lr: float = 3e-4
    weight_decay: float = 1e-4
    warmup_steps: int = 200
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0


@dataclass
class TrainConfig:
    model: str = "textif-small"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    text_encoder: str = "minilm"
    loss_weights: str = "paper"  # "paper": per-task weights (textif.losses.TASK_WEIGHTS); "uniform": the fusion row for every task
    # Scale of the paper's fusion loss (intensity, SSIM, gradient, colour against the references).
    # 0 trains on the teacher terms alone (consistency and distillation), e.g. a head that must learn
    # to match the teacher's clean-pair fusion without the fusion loss pulling it back. >= 0.
    fusion_weight: float = 1.0
    init_from: str | None = None  # checkpoint folder or shipped model name to start from (continuation stage)
    # Self-consistency to a frozen teacher: L1 between the output and the teacher's neutral-prompt
    # fusion of the *clean* pair (what the degradation-awareness check measures). 0 disables it.
    consistency_weight: float = 0.0
    teacher: str | None = None  # checkpoint folder of the teacher (default: init_from)
    # Distillation: L1 between the output and the frozen teacher's output on the *same* input and
    # text (degraded pair, prompt, preference), so a smaller network learns what the teacher does,
    # restoration included. 0 disables it; > 0 needs a teacher (``teacher`` or ``init_from``).
    distill_weight: float = 0.0
    # Weight, inside the distillation term, of the L1 between the Sobel responses of the output and
    # the teacher's (textif.losses.distill_loss): edges and fine texture count more than in a pixel L1.
    distill_gradient_weight: float = 0.0
    # Degradations whose samples are left out of the distillation term (a sample is left out when its
    # input has any of them): they follow the task losses against the clean references alone, so the
    # student can repair them better than the teacher does (e.g. ["blur"], which textif-restore barely
    # sharpens). Empty: every sample without a preference or a mismatched prompt is distilled.
    distill_skip: list[str] = field(default_factory=list)
    # Start from init_from even where the architectures differ (e.g. a student with another stem):
    # every weight whose name and shape match is copied, the rest start fresh (and are recorded).
    init_partial: bool = False
    # Text-embedding noise (held-out wordings): each sample without a modality preference gets its
    # student embedding moved by a random direction, orthogonal to the slider's, of a length drawn
    # uniformly from [0, text_noise] (embeddings are unit vectors; paraphrases of one task lie 0.4-0.6
    # apart, held-out wordings about 0.9 from the nearest training one), renormalised; the teacher and
    # the loss see the sentence's own embedding. Teaches the network to answer what identifies the
    # task and to ignore the rest of a sentence. 0 disables it.
    text_noise: float = 0.0
    # Train only the parameters whose names start with one of these prefixes (e.g. ["detail"] for the
    # full-resolution path of a network grown from init_from); the rest stays frozen. Empty: all.
    train_only: list[str] = field(default_factory=list)
    data: DataConfig = field(default_factory=DataConfig)
    preference: PreferenceConfig = field(default_factory=PreferenceConfig)
    val: ValConfig = field(default_factory=ValConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    batch_size: int = 16
    max_steps: int = 6000
    seed: int = 0  # model initialisation and the sample stream
    # Seed of the training sample stream (sample k is a pure function of (data_seed, k)). None: derived
    # from ``seed`` and the number of stages behind ``init_from``, so a continuation stage sees new
    # samples; set it to the parent stage's value to replay the parent's stream.
    data_seed: int | None = None
    out_dir: str = "runs/textif-small"
    checkpoint_every_n_steps: int = 250
    log_every_n_steps: int = 10
    accelerator: str = "auto"
    devices: int | str = 1
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "32-true"
    threads: int | None = None  # torch CPU threads per process
    # Keep the network, the teacher and the batches in channels-last (NHWC) memory: the same
    # numbers up to float rounding, faster convolutions on CPUs and GPUs (the teacher's forward plus
    # the student's forward and backward in 0.91x the time on the idle 2-core CPU for textif-fast
    # distilled from textif-restore: benchmarks/bench_train_step.py). Exports are contiguous as before.
    channels_last: bool = True
    # Wall-clock bound of one run (e.g. a lent GPU's few minutes): training stops at max_steps or
    # after this many minutes, whichever comes first, and the model is exported as usual. None: none.
    max_minutes: float | None = None
    # Where this config came from (filled by load_config, not a YAML key): the file, the files it
    # extends, and the config files that init_from / teacher were given as.
    origin: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# Keys that only steer a run (how long, how often to log or save, how many processes), not what is
# learned: they may differ when a run is resumed. Everything else must match the checkpoint's config.
RUN_CONTROL_KEYS = frozenset({
    "max_steps", "out_dir", "checkpoint_every_n_steps", "log_every_n_steps", "accelerator", "devices",
    "num_nodes", "strategy", "threads", "channels_last", "max_minutes", "origin", "data.root", "data.num_workers", "data.cache_images", "val.images",
    "val.every_n_steps",
})


def config_differences(old: dict[str, Any], new: dict[str, Any], *, ignore: frozenset[str] = RUN_CONTROL_KEYS) -> list[str]:
    """Dotted keys whose values differ between two config dicts (``TrainConfig.to_dict()``),
    leaving out the run-control keys."""
    out: list[str] = []

    def walk(a: Any, b: Any, prefix: str) -> None:
        if prefix in ignore:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                walk(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k))
        elif a != b:
            out.append(prefix)

    defaults = TrainConfig().to_dict()  # a key added to textif since a checkpoint was made reads as its default
    walk(_merge(defaults, old), _merge(defaults, new), "")
    return out


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise TextIFError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(fields)
    if unknown:
        import difflib

        hints = [f"{u!r}" + (f" (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(u, fields, 1)) else "") for u in sorted(unknown)]
        raise TextIFError(f"{where}: unknown key(s) {', '.join(hints)}")
    kw = {}
    for k, v in data.items():
        sub = {"data": DataConfig, "val": ValConfig, "optim": OptimConfig, "preference": PreferenceConfig}.get(k) if cls is TrainConfig else None
        if sub is not None:
            kw[k] = _build(sub, v or {}, f"{where}.{k}")
        elif cls is DataConfig and k == "sources":
            kw[k] = [_build(SourceConfig, s, f"{where}.sources[{i}]") for i, s in enumerate(v or [])]
        else:
            kw[k] = v
    return cls(**kw)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_yaml(p: Path) -> dict[str, Any]:
    if not p.is_file():
        raise TextIFError(f"{p}: config file not found")
    try:
        raw = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise TextIFError(f"{p}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise TextIFError(f"{p}: expected a mapping of config keys, got {type(raw).__name__}")
    if "origin" in raw:
        raise TextIFError(f"{p}: 'origin' is recorded by textif, not a config key")
    return raw


def _resolve_raw(p: Path, chain: tuple[Path, ...] = ()) -> tuple[dict[str, Any], list[str]]:
    """The merged raw mapping of ``p`` and the files it extends (nearest last), and their paths."""
    p = p.resolve()
    if p in chain:
        raise TextIFError(f"{p}: 'extends' forms a cycle ({' -> '.join(c.name for c in (*chain, p))})")
    raw = _read_yaml(p)
    for key in ("init_from", "teacher"):  # {config: FILE} is relative to the file it is written in
        ref = raw.get(key)
        if isinstance(ref, dict) and isinstance(ref.get("config"), str):
            raw[key] = {**ref, "config": str((p.parent / ref["config"]).resolve())}
    parents = raw.pop("extends", None) or []
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not all(isinstance(x, str) for x in parents):
        raise TextIFError(f"{p}: 'extends' must be a file name or a list of them")
    merged: dict[str, Any] = {}
    files: list[str] = []
    for parent in parents:
        base, base_files = _resolve_raw(p.parent / parent, (*chain, p))
        base.pop("out_dir", None)  # never inherited: each config trains into its own folder
        merged = _merge(merged, base)
        files += [f for f in base_files if f not in files]
    return _merge(merged, raw), files + [str(p)]


def _stage_ref(value: Any, key: str, p: Path, chain: tuple[Path, ...]) -> tuple[str | None, str | None]:
    """``init_from`` / ``teacher`` -> (checkpoint folder or model name, config file it came from)."""
    if value is None or isinstance(value, str):
        return value, None
    if isinstance(value, dict) and set(value) == {"config"} and isinstance(value["config"], str):
        ref = (p.parent / value["config"]).resolve()
        if ref in chain or ref == p.resolve():
            raise TextIFError(f"{p}: {key} refers back to {ref.name} (a stage cannot start from itself)")
        parent = _load(ref, (*chain, p.resolve()))
        return str(Path(parent.out_dir) / "model"), str(ref)
    raise TextIFError(f"{p}: {key} must be a folder, a model name or {{config: FILE}}, got {value!r}")


def _default_out_dir(p: Path) -> str:
    """``runs/<stem>``, or ``runs/<folder>/<stem>`` for a config in a sub-folder of ``configs/``."""
    p = p.resolve()
    if p.parent.parent.name == "configs":
        return str(Path("runs") / p.parent.name / p.stem)
    return str(Path("runs") / p.stem)


def _load(p: Path, chain: tuple[Path, ...], **overrides: Any) -> TrainConfig:
    raw, files = _resolve_raw(p)
    raw.setdefault("out_dir", _default_out_dir(p))
    raw.update({k: v for k, v in overrides.items() if v is not None})
    origin: dict[str, Any] = {"config_file": files[-1], "extends": files[:-1]}
    for key in ("init_from", "teacher"):
        raw[key], ref = _stage_ref(raw.get(key), key, p, chain)
        if ref:
            origin[f"{key}_config"] = ref
    cfg = _build(TrainConfig, raw, str(p))
    cfg.origin = origin
    return cfg


def load_config(path: str | Path, **overrides: Any) -> TrainConfig:
    """Read a YAML training config (following ``extends``); ``overrides`` replace top-level
    fields (e.g. ``max_steps``)."""
    return _load(Path(path), (), **overrides)
