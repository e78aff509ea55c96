"""Build the Lightning Trainer from a :class:`TrainConfig` and run it (resumable)."""
from __future__ import annotations

import json
from datetime import timedelta
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch

from textif.core.errors import TextIFError
from textif.training.config import TrainConfig
from textif.training.data import TextIFDataModule
from textif.training.module import ExportCallback, TextIFModule, check_resume_config

__all__ = ["train", "last_checkpoint"]


def last_checkpoint(out_dir: str | Path) -> Path | None:
    p = Path(out_dir) / "checkpoints" / "last.ckpt"
    return p if p.is_file() else None


def _loggers(out: Path, resuming: bool) -> list[Any]:
    """CSV (and TensorBoard when installed) loggers. A resumed run logs into ``logs/resumed-N/`` so
    that the earlier part's ``logs/metrics.csv`` is kept (Lightning would overwrite it)."""
    from lightning.pytorch.loggers import CSVLogger

    version = ""
    if resuming and (out / "logs" / "metrics.csv").is_file():
        n = 1
        while (out / "logs" / f"resumed-{n}").exists():
            n += 1
        version = f"resumed-{n}"
    loggers: list[Any] = [CSVLogger(str(out), name="logs", version=version)]
    try:
        import tensorboard  # noqa: F401
        from lightning.pytorch.loggers import TensorBoardLogger

        loggers.append(TensorBoardLogger(str(out), name="tensorboard", version=version))
    except ImportError:
        pass
    return loggers


def train(cfg: TrainConfig, *, resume: str | Path | None = "auto", progress: bool = True,
          allow_config_change: bool = False, extra_callbacks: list[Any] | None = None) -> Path:
    """Train (or resume) and export ``out_dir/model``. Returns the export folder.

    Args:
        resume: a Lightning checkpoint path, ``"auto"`` (resume from ``out_dir/checkpoints/last.ckpt``
            when it exists) or ``None`` (start fresh). A resumed run continues the sample stream
            where it stopped (see :class:`~textif.training.data.TextIFDataModule`): interrupted at
            step k and resumed, it learns from the same samples as an uninterrupted run.
        allow_config_change: resume even when the checkpoint was trained with a config that differs
            in what is learned (the differing keys are recorded in the export); by default that is
            refused with a message naming them.
        extra_callbacks: more Lightning callbacks.
    """
    from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint, TQDMProgressBar

    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    ckpt_path: str | None
    if resume == "auto":
        last = last_checkpoint(out)
        ckpt_path = str(last) if last else None
    elif resume:
        if not Path(resume).is_file():
            raise TextIFError(f"{resume}: checkpoint to resume from not found")
        ckpt_path = str(resume)
    else:
        ckpt_path = None
    if ckpt_path:
        print(f"resuming from {ckpt_path}")
    changed = check_resume_config(ckpt_path, cfg, allow_config_change=allow_config_change) if ckpt_path else []
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    (out / "train_config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
    module = TextIFModule(cfg)
    module.resumed_with_changes = changed
    data = TextIFDataModule(cfg, data_seed=module.data_seed)
    export_dir = out / "model"
    callbacks = [
        ModelCheckpoint(dirpath=str(out / "checkpoints"), filename="step{step:06d}", auto_insert_metric_name=False,
                        every_n_train_steps=cfg.checkpoint_every_n_steps, save_last=True, save_top_k=2,
                        monitor="step", mode="max"),
        ExportCallback(export_dir, cfg.checkpoint_every_n_steps),
        LearningRateMonitor(logging_interval="step"),
    ]
    if progress:
        callbacks.append(TQDMProgressBar(refresh_rate=5))
    callbacks += list(extra_callbacks or [])
    trainer = L.Trainer(
        accelerator=cfg.accelerator,
        devices=cfg.devices,
        num_nodes=cfg.num_nodes,
        strategy=cfg.strategy,
        precision=cfg.precision,
        max_steps=cfg.max_steps,
        max_time=timedelta(minutes=cfg.max_minutes) if cfg.max_minutes else None,
        val_check_interval=cfg.val.every_n_steps,
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        log_every_n_steps=cfg.log_every_n_steps,
        gradient_clip_val=cfg.optim.grad_clip or None,
        callbacks=callbacks,
        logger=_loggers(out, ckpt_path is not None),
        enable_progress_bar=progress,
        enable_model_summary=False,
        default_root_dir=str(out),
        use_distributed_sampler=False,  # the stream sampler splits samples across processes itself
    )
    with warnings.catch_warnings():
        # resuming mid-"epoch" is exact here: the stream sampler restarts at the restored global step
        warnings.filterwarnings("ignore", message=".*your dataloader is not resumable.*")
        trainer.fit(module, datamodule=data, ckpt_path=ckpt_path)
    return export_dir
