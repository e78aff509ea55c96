"""Training configuration: a YAML file mapped onto dataclasses (unknown keys are errors)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from textif.core.errors import TextIFError

__all__ = ["TrainConfig", "DataConfig", "SourceConfig", "ValConfig", "OptimConfig", "load_config"]


@dataclass
class SourceConfig:
    """One training source. ``kind``: ``paired`` (clean pairs, degradations synthesised on the fly:
    ``vis``/``ir`` folders) or ``ems`` (EMS-style folder with degraded variants beside ``ir``/``vis``)."""

    kind: str = "paired"
    vis: str | None = None
    ir: str | None = None
    root: str | None = None
    exclude: str | None = None  # a split file of names to keep out (e.g. splits/roadscene_val.txt)
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
    degradation_weights: dict[str, float] | None = None  # sampling weight per degradation (default: uniform)
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
    init_from: str | None = None  # checkpoint folder to start from (fine-tuning)
    # Self-consistency to a frozen teacher: L1 between the output and the teacher's neutral-prompt
    # fusion of the *clean* pair (what the degradation-awareness check measures). 0 disables it.
    consistency_weight: float = 0.0
    teacher: str | None = None  # checkpoint folder of the teacher (default: init_from)
    data: DataConfig = field(default_factory=DataConfig)
    val: ValConfig = field(default_factory=ValConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    batch_size: int = 16
    max_steps: int = 6000
    seed: int = 0
    out_dir: str = "runs/textif-small"
    checkpoint_every_n_steps: int = 250
    log_every_n_steps: int = 10
    accelerator: str = "auto"
    devices: int | str = 1
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "32-true"
    threads: int | None = None  # torch CPU threads per process

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


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
        sub = {"data": DataConfig, "val": ValConfig, "optim": OptimConfig}.get(k) if cls is TrainConfig else None
        if sub is not None:
            kw[k] = _build(sub, v or {}, f"{where}.{k}")
        elif cls is DataConfig and k == "sources":
            kw[k] = [_build(SourceConfig, s, f"{where}.sources[{i}]") for i, s in enumerate(v or [])]
        else:
            kw[k] = v
    return cls(**kw)


def load_config(path: str | Path, **overrides: Any) -> TrainConfig:
    """Read a YAML training config; ``overrides`` replace top-level fields (e.g. ``max_steps``)."""
    p = Path(path)
    if not p.is_file():
        raise TextIFError(f"{p}: config file not found")
    try:
        raw = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise TextIFError(f"{p}: not valid YAML ({str(e).splitlines()[0]})") from None
    raw.update({k: v for k, v in overrides.items() if v is not None})
    return _build(TrainConfig, raw, str(p))
