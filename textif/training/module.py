"""Lightning wiring: the LightningModule (model + losses + optimiser) and callbacks.

The logic lives in the layers below (network, losses, datasets); this module only connects them.
"""
from __future__ import annotations

import json
import math
import platform
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor

from textif.core.errors import TextIFError
from textif.core.io import write_image
from textif.data.preference import check_reach, loss_ir_weight
from textif.losses import TextIFLoss, distill_loss
from textif.models import create_model
from textif.models.textif import grow_model, model_config, transplant_weights
from textif.models.hub import Checkpoint, bundled_weights, from_pretrained, save_pretrained
from textif.models.provenance import lineage
from textif.models.text import get_text_encoder
from textif.training.config import TrainConfig, config_differences


class ConfigMismatchError(TextIFError):
    """A run was resumed with a config that differs from its checkpoint's in what is learned."""


def load_start(ref: str, key: str = "init_from", made_by: str | None = None) -> Checkpoint:
    """The checkpoint a stage starts from (or its teacher): a checkpoint folder or the name of a
    model shipped in the package. ``made_by``: the config whose export ``ref`` is, for the message."""
    if Path(ref).is_dir():
        return from_pretrained(ref)
    bundled = bundled_weights(ref) if "/" not in ref and "\\" not in ref else None
    if bundled is not None:
        return from_pretrained(bundled)
    hint = f"it is what {made_by} exports: train that stage first" if made_by else "a typo?"
    raise TextIFError(f"{key}: {ref} is neither a checkpoint folder nor a model shipped in the package ({hint})")


def stage_data_seed(cfg: TrainConfig, parent_stages: int) -> int:
    """The sample-stream seed of a stage: ``data_seed`` if set; else ``seed`` for a first stage and a
    seed derived from ``(seed, number of stages behind it)`` for a continuation, so that it sees
    samples its parents did not."""
    if cfg.data_seed is not None:
        return int(cfg.data_seed)
    if parent_stages == 0:
        return int(cfg.seed)
    import numpy as np

    return int(np.random.SeedSequence([int(cfg.seed) & 0xFFFFFFFF, parent_stages]).generate_state(1)[0] & 0x7FFFFFFF)

__all__ = [
    "TextIFModule", "perturb_embeddings", "distill_keep", "ExportCallback", "export_checkpoint", "stage_record", "load_start", "stage_data_seed",
    "ConfigMismatchError", "check_resume_config",
]


def distill_keep(tasks: list[str], skip: list[str]) -> Tensor:
    """Per-sample weights of the distillation term under ``TrainConfig.distill_skip``.

    Args:
        tasks: the batch's task names (``"fusion"``, ``"blur"``, ``"blur+ir_noise"``, ...).
        skip: degradation names whose samples are left out (any case, as the registry takes them).

    Returns:
        ``(B,)`` float32 on the CPU: 0 for a sample whose task has any part in ``skip``, else 1.
    """
    from textif.data.degradations import split_task

    left_out = {str(n).strip().lower() for n in skip}
    return torch.tensor([0.0 if left_out.intersection(split_task(t)) else 1.0 for t in tasks])


def perturb_embeddings(emb: Tensor, max_norm: float, generator: torch.Generator, *, mask: Tensor | None = None,
                       keep_direction: Tensor | None = None) -> Tensor:
    """Text-embedding noise (``TrainConfig.text_noise``): each row moved by a random direction of a
    length drawn uniformly from ``[0, max_norm]``, keeping its norm.

    Args:
        emb: ``(B, D)`` sentence embeddings (unit vectors for the shipped encoders).
        max_norm: largest length of the move (before the rescaling that keeps the norm); ``<= 0``
            returns ``emb`` unchanged.
        generator: a CPU generator (the draws are a pure function of its seed).
        mask: ``(B,)`` bool, rows to perturb (``None``: all).
        keep_direction: ``(D,)``; each row's coordinate along it (the preference slider's direction)
            is kept exactly: the move is orthogonal to it, and only the orthogonal part is rescaled.

    Returns:
        ``(B, D)`` of ``emb``'s dtype and device, with the row norms of ``emb``.
    """
    if max_norm <= 0:
        return emb
    b, d = emb.shape
    noise = torch.randn(b, d, generator=generator, dtype=torch.float32)
    length = torch.rand(b, generator=generator) * max_norm
    x = emb.float().cpu()
    if keep_direction is not None:
        u = keep_direction.detach().float().cpu().reshape(-1)
        u = u / u.norm().clamp_min(1e-12)
        noise = noise - (noise @ u)[:, None] * u[None, :]
        along = (x @ u)[:, None] * u[None, :]
    else:
        along = torch.zeros_like(x)
    rest = x - along
    noise = noise / noise.norm(dim=1, keepdim=True).clamp_min(1e-12) * length[:, None]
    moved = rest + noise
    moved = moved * (rest.norm(dim=1, keepdim=True) / moved.norm(dim=1, keepdim=True).clamp_min(1e-12))
    out = (along + moved).to(device=emb.device, dtype=emb.dtype)
    if mask is None:
        return out
    return torch.where(mask.to(device=emb.device).reshape(-1, 1), out, emb)


class TextIFModule(L.LightningModule):
    """Trains a Text-IF network with the paper's text-dependent losses."""

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.parent_lineage: list[dict[str, Any]] = []
        self.fresh_parameters: list[str] = []  # init_partial: parameters that did not come from init_from
        if cfg.init_from:
            start = load_start(cfg.init_from, "init_from", cfg.origin.get("init_from_config"))
            target = model_config(cfg.model, **cfg.model_overrides)
            if cfg.init_partial:  # another architecture: carry over what fits, the rest starts fresh
                self.model, self.fresh_parameters = transplant_weights(start.model, target)
                self.model.train()
            else:
                try:  # a stage may add the optional parts (window attention, the detail path) to its start
                    self.model = grow_model(start.model, target).train()
                except ValueError as e:
                    raise TextIFError(f"init_from {cfg.init_from} does not fit model {cfg.model}: {e} "
                                      "(init_partial: true copies only the weights that fit)") from None
            self.parent_lineage = lineage(start.training)
        else:
            self.model = create_model(cfg.model, **cfg.model_overrides)
        if cfg.train_only:
            names = [n for n, _ in self.model.named_parameters()]
            unused = [p for p in cfg.train_only if not any(n.startswith(p) for n in names)]
            if unused:
                raise TextIFError(f"train_only: no parameter of {cfg.model} starts with {', '.join(unused)}")
            for n, p in self.model.named_parameters():
                p.requires_grad_(any(n.startswith(prefix) for prefix in cfg.train_only))
        self.data_seed = stage_data_seed(cfg, len(self.parent_lineage))
        self.resumed_with_changes: list[str] = []  # config keys changed on resume (--allow-config-change)
        if cfg.loss_weights == "paper":
            self.loss_fn = TextIFLoss()
        elif cfg.loss_weights == "uniform":
            from textif.losses.weights import TASK_WEIGHTS

            self.loss_fn = TextIFLoss(weights={t: TASK_WEIGHTS["fusion"] for t in TASK_WEIGHTS})
        else:
            raise ValueError(f"loss_weights must be 'paper' or 'uniform', got {cfg.loss_weights!r}")
        self._encoder = None  # frozen, outside the module so it is never saved in a checkpoint
        self._teacher: list[torch.nn.Module] = []  # likewise (a list hides it from nn.Module registration)
        if cfg.fusion_weight < 0:
            raise ValueError(f"fusion_weight must be >= 0, got {cfg.fusion_weight}")
        if cfg.fusion_weight == 0 and cfg.consistency_weight == 0 and cfg.distill_weight == 0:
            raise ValueError("fusion_weight 0 leaves nothing to learn: set consistency_weight or distill_weight > 0 "
                             "(with a teacher), or fusion_weight > 0")
        if cfg.consistency_weight < 0 or cfg.distill_weight < 0 or cfg.distill_gradient_weight < 0:
            raise ValueError(f"consistency_weight, distill_weight and distill_gradient_weight must be >= 0, got "
                             f"{cfg.consistency_weight}, {cfg.distill_weight}, {cfg.distill_gradient_weight}")
        if cfg.distill_gradient_weight > 0 and cfg.distill_weight == 0:
            raise ValueError(f"distill_gradient_weight={cfg.distill_gradient_weight} does nothing without the "
                             "distillation term: set distill_weight > 0 (and a teacher) or distill_gradient_weight 0")
        if cfg.distill_skip:
            from textif.data.degradations import DEGRADATIONS

            if cfg.distill_weight == 0:
                raise ValueError(f"distill_skip={cfg.distill_skip} does nothing without the distillation term: "
                                 "set distill_weight > 0 or distill_skip []")
            for name in cfg.distill_skip:
                DEGRADATIONS.get(name)  # an unknown name raises with "did you mean"
        check_reach(cfg.preference.reach)
        if cfg.consistency_weight > 0 or cfg.distill_weight > 0:
            src = cfg.teacher or cfg.init_from
            if not src:
                raise ValueError("consistency_weight or distill_weight > 0 needs a teacher checkpoint "
                                 "(set teacher or init_from)")
            made_by = cfg.origin.get("teacher_config" if cfg.teacher else "init_from_config")
            teacher = load_start(src, "teacher", made_by).model.float().eval()
            teacher.requires_grad_(False)
            self._teacher.append(teacher)
        if cfg.channels_last:
            for m in (self.model, *self._teacher):
                m.to(memory_format=torch.channels_last)
        self.train_seconds = 0.0  # accumulated over resumes
        self._t_last: float | None = None

    # ---------------------------------------------------------------- text
    @property
    def text_encoder(self):
        if self._encoder is None:
            self._encoder = get_text_encoder(self.cfg.text_encoder)
            if self._encoder.dim != self.model.config.text_dim:
                raise ValueError(
                    f"text encoder {self.cfg.text_encoder!r} is {self._encoder.dim}-d but the model expects {self.model.config.text_dim}"
                )
        return self._encoder

    def embed(self, texts: list[str]) -> Tensor:
        return self.text_encoder.encode(list(texts)).to(self.device)

    # ---------------------------------------------------------------- steps
    def memory_format(self, batch: dict[str, Any]) -> dict[str, Any]:
        """The batch with its images ``(B, C, H, W)`` channels-last when the network is (``cfg.channels_last``)."""
        if not self.cfg.channels_last:
            return batch
        return {k: v.contiguous(memory_format=torch.channels_last) if isinstance(v, Tensor) and v.dim() == 4 else v
                for k, v in batch.items()}

    def forward(self, vis: Tensor, ir: Tensor, texts: list[str]) -> Tensor:
        return self.model(vis, ir, self.embed(texts))

    @torch.no_grad()
    def teacher_target(self, vis_gt: Tensor, ir_gt: Tensor) -> Tensor:
        """The frozen teacher's neutral-prompt fusion of the reference (clean) pair, ``(B, 3, H, W)``."""
        from textif.data.prompts import NEUTRAL_PROMPT

        teacher = self._teacher[0].to(device=vis_gt.device)
        emb = self.embed([NEUTRAL_PROMPT] * vis_gt.shape[0]).to(vis_gt.dtype)
        return teacher(vis_gt, ir_gt, emb).clamp(0, 1)

    def preferences(self, texts: list[str]) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """This step's modality preferences (``cfg.preference``), a pure function of the data seed,
        the step and the process rank: ``(embeddings (B, D), ir_weight (B,) or None, neutral mask
        (B,) or None)``. Sentence preferences extend the text; slider ones shift its embedding."""
        pc = self.cfg.preference
        if pc.prob <= 0:
            return self.embed(texts), None, None
        from textif.data.preference import IR_ANCHOR, NEUTRAL_IR_WEIGHT, VIS_ANCHOR, preference_shift, sample_preference

        g = self.step_generator(131, 17)
        drawn = [sample_preference(g, prob=pc.prob, sentence_prob=pc.sentence_prob) for _ in texts]
        full = [f"{t} {clause}" if clause else t for t, (_, clause) in zip(texts, drawn)]
        emb = self.embed(full + [IR_ANCHOR, VIS_ANCHOR])
        emb, e_ir, e_vis = emb[:-2], emb[-2], emb[-1]
        w = torch.tensor([p for p, _ in drawn], device=emb.device, dtype=emb.dtype)
        slider = torch.tensor([c is None and p != NEUTRAL_IR_WEIGHT for p, c in drawn], device=emb.device)
        shift = preference_shift(w, e_ir, e_vis, strength=pc.strength)
        emb = emb + shift * slider[:, None].to(emb.dtype)
        return emb, w, w == NEUTRAL_IR_WEIGHT

    def step_generator(self, mult: int, offset: int) -> torch.Generator:
        """A CPU generator seeded by the data seed, this step and the process rank (``mult`` and
        ``offset`` keep the streams of different uses apart), so a resumed run draws what an
        uninterrupted one does."""
        step = int(self.trainer.global_step) if self._trainer is not None else 0
        rank = int(self.global_rank) if self._trainer is not None else 0
        return torch.Generator().manual_seed((self.data_seed * 1_000_003 + step) * mult + rank + offset)

    def student_embeddings(self, emb: Tensor, neutral: Tensor | None) -> Tensor:
        """The embeddings the network trains on: ``emb`` with text-embedding noise
        (``cfg.text_noise``) on the samples without a preference, orthogonal to the slider's
        direction; a pure function of the data seed, the step and the process rank."""
        if self.cfg.text_noise <= 0:
            return emb
        from textif.data.preference import IR_ANCHOR, VIS_ANCHOR

        anchors = self.embed([IR_ANCHOR, VIS_ANCHOR])
        return perturb_embeddings(emb, self.cfg.text_noise, self.step_generator(137, 29), mask=neutral,
                                  keep_direction=anchors[0] - anchors[1])

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        batch = self.memory_format(batch)
        emb, ir_weight, neutral = self.preferences(list(batch["text"]))
        fused = self.model(batch["vis"], batch["ir"], self.student_embeddings(emb, neutral).to(batch["vis"].dtype))
        loss_weight = None if ir_weight is None else loss_ir_weight(ir_weight, self.cfg.preference.reach)
        total, terms = self.loss_fn(fused, batch["ir_gt"], batch["vis_gt"], batch["task"], loss_weight)
        total = self.cfg.fusion_weight * total  # the terms stay logged unscaled
        if self._teacher and self.cfg.consistency_weight > 0:  # the teacher's neutral clean fusion: only
            # for samples without a preference
            target = self.teacher_target(batch["vis_gt"], batch["ir_gt"])
            per = (fused - target).abs().flatten(1).mean(1)
            if neutral is not None:
                per = per * neutral.to(per.dtype)
            terms = {**terms, "consistency": per.mean()}
            total = total + self.cfg.consistency_weight * terms["consistency"]
        if self.cfg.distill_weight > 0:  # the teacher on the same input and text
            with torch.no_grad():
                teacher = self._teacher[0].to(device=fused.device)
                target = teacher(batch["vis"], batch["ir"], emb.to(batch["vis"].dtype)).clamp(0, 1)
            # samples asking for a preference follow the loss alone (the teacher fuses neutrally), and so
            # do samples whose prompt names a degradation the input lacks (mismatch_prob: the reference is
            # the input as it is, while the teacher would repair what the prompt names)
            weight = None if neutral is None else neutral.to(fused.dtype)
            mismatched = batch.get("mismatched")
            if torch.is_tensor(mismatched):
                keep = (~mismatched.to(device=fused.device, dtype=torch.bool)).to(fused.dtype)
                weight = keep if weight is None else weight * keep
            if self.cfg.distill_skip:  # degradations the student learns from the references alone
                keep = distill_keep(list(batch["task"]), self.cfg.distill_skip).to(fused.device, fused.dtype)
                weight = keep if weight is None else weight * keep
            terms = {**terms, "distill": distill_loss(fused, target, gradient_weight=self.cfg.distill_gradient_weight,
                                                      sample_weight=weight)}
            total = total + self.cfg.distill_weight * terms["distill"]
        bs = fused.shape[0]
        self.log("train/loss", total, prog_bar=True, batch_size=bs, sync_dist=False)
        for k, v in terms.items():
            self.log(f"train/{k}", v, batch_size=bs)
        self.log("lr", self.trainer.optimizers[0].param_groups[0]["lr"], batch_size=bs)
        return total

    def on_train_batch_end(self, *args: Any) -> None:
        now = time.perf_counter()
        if self._t_last is not None:
            self.train_seconds += now - self._t_last
        self._t_last = now

    def on_train_start(self) -> None:
        self._t_last = time.perf_counter()

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        batch = self.memory_format(batch)
        fused = self(batch["vis"], batch["ir"], batch["text"])
        total, _ = self.loss_fn(fused, batch["ir_gt"], batch["vis_gt"], batch["task"])
        self.log("val/loss", total, prog_bar=True, batch_size=fused.shape[0], sync_dist=True)
        if batch_idx == 0 and self.trainer.is_global_zero:
            self._save_grid(batch, fused)

    @torch.no_grad()
    def _save_grid(self, batch: dict[str, Any], fused: Tensor) -> None:
        """Rows: samples; columns: degraded visible, degraded infrared, fused (prompted), clean visible."""
        n = min(self.cfg.val.images, fused.shape[0])
        rows = []
        for i in range(n):
            cols = [batch["vis"][i], batch["ir"][i].expand(3, -1, -1), fused[i].clamp(0, 1), batch["vis_gt"][i]]
            rows.append(torch.cat(cols, dim=2))
        grid = torch.cat(rows, dim=1).permute(1, 2, 0).float().cpu().numpy()
        out = Path(self.cfg.out_dir) / "samples"
        out.mkdir(parents=True, exist_ok=True)
        write_image(out / f"step_{self.global_step:06d}.png", grid)

    # ---------------------------------------------------------------- optimiser
    def configure_optimizers(self):
        o = self.cfg.optim
        decay, no_decay = [], []
        for n, p in self.model.named_parameters():
            if p.requires_grad:  # train_only freezes the rest
                (no_decay if p.ndim < 2 else decay).append(p)
        opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": o.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=o.lr
        )
        total = max(1, self.cfg.max_steps)

        def schedule(step: int) -> float:
            if step < o.warmup_steps:
                return (step + 1) / o.warmup_steps
            t = min(1.0, (step - o.warmup_steps) / max(1, total - o.warmup_steps))
            return o.min_lr_ratio + (1 - o.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    # ---------------------------------------------------------------- checkpoint extras
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["textif_train_seconds"] = self.train_seconds
        checkpoint["textif_config"] = self.cfg.to_dict()
        checkpoint["textif_resumed_with_changes"] = self.resumed_with_changes

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.train_seconds = float(checkpoint.get("textif_train_seconds", 0.0))
        earlier = checkpoint.get("textif_resumed_with_changes") or []
        self.resumed_with_changes = sorted(set(earlier) | set(self.resumed_with_changes))


def check_resume_config(ckpt_path: str | Path, cfg: TrainConfig, *, allow_config_change: bool = False) -> list[str]:
    """The config keys (dotted) in which ``cfg`` differs from the config the Lightning checkpoint was
    trained with, run-control keys such as ``max_steps`` aside. Raises :class:`ConfigMismatchError`
    naming them unless ``allow_config_change``. The checkpoint is read with ``weights_only=True``."""
    try:
        ckpt = torch.load(str(ckpt_path), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same user error
        raise TextIFError(f"{ckpt_path}: cannot read the checkpoint to resume from ({str(e).splitlines()[0]})") from None
    old = ckpt.get("textif_config") if isinstance(ckpt, dict) else None
    if old is None:
        return []
    diff = config_differences(old, cfg.to_dict())
    if diff and not allow_config_change:
        raise ConfigMismatchError(
            f"{ckpt_path}: the checkpoint was trained with a different config ({', '.join(diff)} differ); "
            "use the config it was started with, a new out_dir, --fresh, or --allow-config-change to resume anyway"
        )
    return diff


def stage_record(module: TextIFModule) -> dict[str, Any]:
    """This stage's entry in the lineage: resolved config, where it started, figures."""
    cfg = module.cfg
    trainer = getattr(module, "_trainer", None)
    origin = cfg.origin or {}

    def rel(path: str | None) -> str | None:
        if not path:
            return path
        try:
            return Path(path).resolve().relative_to(Path.cwd()).as_posix()
        except ValueError:
            return str(path)

    record: dict[str, Any] = {
        "stage": len(module.parent_lineage) + 1,
        "config_file": rel(origin.get("config_file")),
        "extends": [rel(f) for f in origin.get("extends", [])],
        "config": cfg.to_dict(),
        "init_from": cfg.init_from,
        "init_from_config": rel(origin.get("init_from_config")),
        "teacher": None,
        "teacher_config": None,
        "data_seed": module.data_seed,
        "steps": int(module.global_step),
        "batch_size": cfg.batch_size,
        "world_size": trainer.world_size if trainer is not None else 1,
        "crop": cfg.data.crop,
        "train_hours": round(module.train_seconds / 3600, 3),
        "hardware": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
        + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", CPU"),
        "data": [dict(s.__dict__) for s in cfg.data.sources],
        "torch": torch.__version__,
    }
    record["config"].pop("origin", None)
    if module.fresh_parameters:  # init_partial: what did not come from init_from
        record["fresh_parameters"] = module.fresh_parameters
    if cfg.consistency_weight > 0 or cfg.distill_weight > 0:  # the teacher defaults to init_from
        own = cfg.teacher is not None
        record["teacher"] = cfg.teacher if own else cfg.init_from
        record["teacher_config"] = rel(origin.get("teacher_config" if own else "init_from_config"))
    if module.resumed_with_changes:
        record["resumed_with_changes"] = module.resumed_with_changes
    return record


def export_checkpoint(module: TextIFModule, folder: str | Path, *, extra: dict[str, Any] | None = None,
                      dtype: torch.dtype = torch.float32) -> Path:
    """Write the trained network as ``config.json`` + ``model.safetensors`` with its provenance:
    this stage's record (top level) and ``lineage``, every stage from the first (see
    :mod:`textif.models.provenance`)."""
    stage = stage_record(module)
    chain = [*module.parent_lineage, stage]
    training = {
        **stage,
        "lineage": chain,
        "total_steps": sum(int(s.get("steps", 0)) for s in chain),
        "total_train_hours": round(sum(float(s.get("train_hours", 0.0)) for s in chain), 3),
    }
    strengths = [float((st.get("config") or {}).get("preference", {}).get("strength", 1.0)) for st in chain
                 if float((st.get("config") or {}).get("preference", {}).get("prob", 0.0)) > 0]
    if strengths:  # trained for ir_weight: the inference needs the slider's scale (the last stage's)
        training["preference"] = {"strength": strengths[-1]}
    training.update(extra or {})
    prompts = _prompt_cache(module)
    return save_pretrained(module.model, folder, name=module.cfg.model, text_encoder=module.cfg.text_encoder,
                           training=training, dtype=dtype, text_cache=prompts)


def _prompt_cache(module: TextIFModule) -> dict[str, Tensor]:
    """Embeddings of the suggested prompts, shipped beside the weights (no encoder load for them)."""
    from textif.data.prompts import NEUTRAL_PROMPT, suggested_prompts

    from textif.data.preference import IR_ANCHOR, VIS_ANCHOR

    texts = list(dict.fromkeys([NEUTRAL_PROMPT, *suggested_prompts().values(), IR_ANCHOR, VIS_ANCHOR]))
    emb = module.text_encoder.encode(texts)
    return dict(zip(texts, emb))


class ExportCallback(L.Callback):
    """Every ``every_n_steps`` and at the end, export ``out_dir/model`` (safetensors + config.json)."""

    def __init__(self, folder: str | Path, every_n_steps: int) -> None:
        self.folder = Path(folder)
        self.every = every_n_steps

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, *args: Any) -> None:
        if trainer.is_global_zero and trainer.global_step % self.every == 0 and trainer.global_step > 0:
            export_checkpoint(module, self.folder)  # type: ignore[arg-type]

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            export_checkpoint(module, self.folder)  # type: ignore[arg-type]
            (self.folder / "DONE").write_text(json.dumps({"steps": trainer.global_step}) + "\n")
