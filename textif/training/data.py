"""The LightningDataModule: training and validation sets built from a :class:`TrainConfig`."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from torch.utils.data import DataLoader

from textif.core.errors import TextIFError
from textif.data.datasets import PairedFolder, build_training_set
from textif.training.config import SourceConfig, TrainConfig

__all__ = ["TextIFDataModule", "source_spec"]


def source_spec(src: SourceConfig, root: Path, cfg: TrainConfig) -> dict[str, Any]:
    """Turn one config source into a :func:`~textif.data.datasets.build_training_set` spec."""
    d = cfg.data
    spec: dict[str, Any] = {"crop_size": d.crop, "repeat": src.repeat, "cache": d.cache_images}
    if src.exclude:
        spec["exclude"] = str(root / src.exclude)
    if src.kind == "paired":
        if not (src.vis and src.ir):
            raise TextIFError(f"data source {src}: a 'paired' source needs 'vis' and 'ir' folders")
        spec.update(type="paired", vis_dir=str(root / src.vis), ir_dir=str(root / src.ir),
                    clean_prob=1.0 - d.degrade_prob, composite_prob=d.composite_prob,
                    keep_prob=d.keep_prob, mismatch_prob=d.mismatch_prob,
                    degradations=d.degradation_weights)
    elif src.kind == "ems":
        if not src.root:
            raise TextIFError(f"data source {src}: an 'ems' source needs 'root'")
        spec.update(type="ems", root=str(root / src.root), include_clean=True)
    else:
        raise TextIFError(f"data source {src}: kind must be 'paired' or 'ems', got {src.kind!r}")
    return spec


class TextIFDataModule(L.LightningDataModule):
    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__()
        self.cfg = cfg
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
            self.train_set = build_training_set([source_spec(s, root, cfg) for s in cfg.data.sources])
            self.train_set.preload()
        if self.val_set is None and cfg.val.vis:
            v = cfg.val
            self.val_set = PairedFolder(
                (str(root / v.vis), str(root / v.ir)), mode="val", crop_size=v.size,
                include=str(root / v.split) if v.split else None, seed=cfg.seed, clean_prob=0.2,
            )

    def train_dataloader(self) -> DataLoader:
        n = self.cfg.data.num_workers
        return DataLoader(self.train_set, batch_size=self.cfg.batch_size, shuffle=True, drop_last=True,
                          num_workers=n, persistent_workers=n > 0, pin_memory=False)

    def val_dataloader(self) -> DataLoader | list:
        if self.val_set is None:
            return []
        return DataLoader(self.val_set, batch_size=max(1, min(self.cfg.val.images, 8)), shuffle=False, num_workers=0)
