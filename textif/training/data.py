"""The LightningDataModule: training and validation sets built from a :class:`TrainConfig`."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from torch.utils.data import DataLoader

from textif.core.errors import TextIFError
from textif.data.datasets import PairedFolder, SampleStream, StreamSampler, build_training_set
from textif.training.config import SourceConfig, TrainConfig

__all__ = ["TextIFDataModule", "source_spec"]


def source_spec(src: SourceConfig, root: Path, cfg: TrainConfig, seed: int | None = None) -> dict[str, Any]:
    """Turn one config source into a :func:`~textif.data.datasets.build_training_set` spec
    (``seed``: the stream seed that makes every sample a pure function of its index)."""
    d = cfg.data
    spec: dict[str, Any] = {"crop_size": d.crop, "repeat": src.repeat, "cache": d.cache_images, "seed": seed}
    if src.exclude:  # relative to the data root; "textif:splits/x.txt" names a split shipped in the package
        if src.exclude.startswith("textif:"):
            spec["exclude"] = str(Path(__file__).resolve().parents[1] / "data" / src.exclude[len("textif:"):])
        else:
            spec["exclude"] = str(root / src.exclude)
    if src.kind == "paired":
        if not (src.vis and src.ir):
            raise TextIFError(f"data source {src}: a 'paired' source needs 'vis' and 'ir' folders")
        spec.update(type="paired", vis_dir=str(root / src.vis), ir_dir=str(root / src.ir),
                    clean_prob=1.0 - d.degrade_prob, composite_prob=d.composite_prob,
                    keep_prob=d.keep_prob, mismatch_prob=d.mismatch_prob, mismatch_weights=d.mismatch_weights,
                    degradations=d.degradation_weights, severity_range=tuple(d.severity_range),
                    blur_kinds=d.blur_kinds)
    elif src.kind == "ems":
        if not src.root:
            raise TextIFError(f"data source {src}: an 'ems' source needs 'root'")
        spec.update(type="ems", root=str(root / src.root), include_clean=True)
    else:
        raise TextIFError(f"data source {src}: kind must be 'paired' or 'ems', got {src.kind!r}")
    return spec


class TextIFDataModule(L.LightningDataModule):
    """Training samples come from a :class:`~textif.data.datasets.SampleStream`: sample ``k`` of the
    run is a pure function of ``(data_seed, k)`` and step ``s`` takes samples ``s * batch_size ...``,
    so a run resumed at step ``s`` continues the very stream an uninterrupted run would see."""

    def __init__(self, cfg: TrainConfig, data_seed: int | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.data_seed = cfg.seed if data_seed is None else int(data_seed)
        self.train_set = None
        self.val_set = None

    def setup(self, stage: str | None = None) -> None:
        cfg = self.cfg
        root = Path(cfg.data.root)
        if not root.is_dir():
            raise TextIFError(f"data root {root} not found (set data.root in the config)")
        if self.train_set is None:
            if not cfg.data.sources:
                raise TextIFError("the config lists no data.sources")
            base = build_training_set([source_spec(s, root, cfg, self.data_seed) for s in cfg.data.sources])
            base.preload()
            self.train_set = SampleStream(base, self.data_seed)
        if self.val_set is None and cfg.val.vis:
            v = cfg.val
            self.val_set = PairedFolder(
                (str(root / v.vis), str(root / v.ir)), mode="val", crop_size=v.size,
                include=str(root / v.split) if v.split else None, seed=v.seed, clean_prob=0.2,
            )

    def train_dataloader(self) -> DataLoader:
        n = self.cfg.data.num_workers
        trainer = self.trainer
        sampler = StreamSampler(
            batch_size=self.cfg.batch_size, stop_step=max(self.cfg.max_steps, trainer.global_step if trainer else 0),
            start_step=trainer.global_step if trainer else 0,
            rank=trainer.global_rank if trainer else 0, world=trainer.world_size if trainer else 1,
        )
        return DataLoader(self.train_set, batch_size=self.cfg.batch_size, sampler=sampler, drop_last=True,
                          num_workers=n, persistent_workers=n > 0, pin_memory=False)

    def val_dataloader(self) -> DataLoader | list:
        if self.val_set is None:
            return []
        return DataLoader(self.val_set, batch_size=max(1, min(self.cfg.val.images, 8)), shuffle=False, num_workers=0)
