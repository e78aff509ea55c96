#!/usr/bin/env python
"""Train the degradation detector on the CPU in bounded time and write its weights.

    PYTHONPATH=$PWD python scripts/train_detector.py --minutes 14 --out textif/weights/detector

Data (never the evaluation sets):
* synthetic: clean RoadScene TRAIN pairs (``splits/roadscene_train.txt``) plus the clean
  EMS/train and DRMF/train images (hold-out scenes excluded) and the TNO half of
  ``textif/data/splits/tno_detector_train.txt`` (the other half is evaluated), each degraded with
  ``textif.data.degradations`` (one or two degradations per modality, severity uniform in
  [0.15, 1], random sub-parameters) or left clean;
* real: EMS/train degraded folders (minus the hold-out scenes of
  ``textif/data/splits/ems_train_holdout.txt``) and DRMF/train degraded images (labels from
  folder names; severity unknown, so only their presence labels train).

Samples are precomputed once (global view + two full-resolution crops, uint8) and cached; training runs for a fixed wall-clock
budget with a time-based cosine learning-rate schedule, on one thread by default.
"""
from __future__ import annotations

import argparse
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from textif.core.io import read_image
from textif.data.degradations import APPLY_ORDER, DEGRADATIONS, IR_DEGRADATIONS, VIS_DEGRADATIONS, split_task
from textif.detect.sets import ems_holdout, roadscene_detector_train, train_images
from textif.models.detector import (
    create_detector,
    detector_views,
    image_statistics,
    save_detector,
)

SEV_RANGE = (0.15, 1.0)


def _allowed_pairs(types: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for i, a in enumerate(types):
        for b in types[i + 1:]:
            try:
                split_task(f"{a}+{b}")
                out.append((a, b))
            except Exception:
                pass
    return out


def _tensor(arr: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(arr))
    return (t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]).float()


def _sample(img: torch.Tensor, modality: str, parts: tuple[str, ...], rng: random.Random, g: torch.Generator,
            cfg, gray_prob: float, real_types: tuple[str, ...] | None = None) -> dict:
    """Degrade ``img (1, C, H, W)`` with ``parts`` and build one cached sample."""
    types = cfg.types(modality)
    label = torch.zeros(len(types))
    sev = torch.zeros(len(types))
    mask = torch.zeros(len(types))
    x = img
    for p in sorted(parts, key=APPLY_ORDER.index):
        s = rng.uniform(*SEV_RANGE)
        # plain infrared noise: stripes stay a type of their own (M3SVD-like noise is ir_noise+ir_stripe)
        kw = {"sensor_marks": False} if p == "ir_noise" else {}
        x = DEGRADATIONS.get(p).random_fn(x, generator=g, severity=s, **kw)
        i = types.index(p)
        label[i], sev[i], mask[i] = 1.0, s, 1.0
    if real_types is not None:
        for p in real_types:
            label[types.index(p)] = 1.0
    if modality == "vis" and rng.random() < gray_prob:
        y = (x * x.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        x = y.expand(-1, 3, -1, -1)
    if rng.random() < 0.5:
        x = x.flip(-1)
    h, w = x.shape[-2:]
    c = cfg.crop
    pos = [(rng.randint(0, max(0, h - c)), rng.randint(0, max(0, w - c))) for _ in range(4)]
    gview, crops = detector_views(x, size=cfg.size, crop=c, positions=pos if h >= c and w >= c else None, crops=4)
    stats = image_statistics(gview, crops)[0]
    q = lambda t: (t.clamp(0, 1) * 255).round().to(torch.uint8)  # noqa: E731
    return {"g": q(gview[0]), "c": q(crops[0, :2]), "stats": stats, "label": label, "sev": sev, "mask": mask}


def build_cache(data: Path, cfg, seed: int, variants: int, real_repeats: int, log, *,
                keep_out_calibration: bool = False) -> dict:
    rng = random.Random(seed)
    g = torch.Generator().manual_seed(seed)
    clean: list[tuple[str, Path]] = []
    # keep_out_calibration: the calibration half of RoadScene train and the TNO half stay unseen
    for n in roadscene_detector_train(data, keep_out_calibration=keep_out_calibration):
        clean.append(("vis", data / "RoadScene" / "vis" / n))
        clean.append(("ir", data / "RoadScene" / "ir" / n))
    real = train_images(data, tno=not keep_out_calibration)
    for e in real:
        if not e.types:
            clean.append((e.modality, e.path))
    degraded = [e for e in real if e.types]
    hold = ems_holdout()
    assert not any(p.stem in hold for _, p in clean if "EMS" in str(p) or "DRMF" in str(p))
    samples: dict[str, list[dict]] = {"vis": [], "ir": []}
    t0 = time.time()
    pairs = {"vis": _allowed_pairs(VIS_DEGRADATIONS), "ir": _allowed_pairs(IR_DEGRADATIONS)}
    for k, (mod, path) in enumerate(clean):
        img = _tensor(read_image(path, channels=3 if mod == "vis" else 1))
        types = VIS_DEGRADATIONS if mod == "vis" else IR_DEGRADATIONS
        plan: list[tuple[str, ...]] = [(), ()]
        singles = list(types) * (2 if mod == "ir" else 1)
        plan += [(t,) for t in singles]
        while len(plan) < variants:
            plan.append(rng.choice(pairs[mod]))
        for parts in plan:
            samples[mod].append(_sample(img, mod, parts, rng, g, cfg, gray_prob=0.15))
        if k % 50 == 0:
            log(f"  synthetic {k}/{len(clean)} images, {time.time() - t0:.0f} s")
    for e in degraded:
        img = _tensor(read_image(e.path, channels=3 if e.modality == "vis" else 1))
        for _ in range(real_repeats):
            samples[e.modality].append(_sample(img, e.modality, (), rng, g, cfg, gray_prob=0.0, real_types=e.types))
    log(f"cache: {len(samples['vis'])} visible, {len(samples['ir'])} infrared samples "
        f"({len(degraded)} real degraded images x {real_repeats}) in {time.time() - t0:.0f} s")
    out = {}
    for mod, lst in samples.items():
        out[mod] = {k: torch.stack([s[k] for s in lst]) for k in lst[0]}
    out["meta"] = {"clean_images": len(clean), "real_degraded": len(degraded), "variants": variants,
                   "real_repeats": real_repeats, "seed": seed, "keep_out_calibration": keep_out_calibration}
    return out


def batch(data: dict, idx: torch.Tensor, k: int) -> tuple[torch.Tensor, ...]:
    """A training batch; the statistics are computed from the cached global view and both cached
    crops (inference uses four), so that the statistics can change without rebuilding the cache."""
    gv = data["g"][idx].float() / 255
    both = data["c"][idx].float() / 255
    with torch.no_grad():
        stats = image_statistics(gv, both)
    return gv, both[:, :k], stats, data["label"][idx], data["sev"][idx], data["mask"][idx]


@torch.no_grad()
def calibrate(model, data: dict, *, recall: float = 0.9, max_false: float = 0.03, cap: float = 0.5) -> dict[str, float]:
    """Per-type thresholds from the training samples: low enough for ``recall`` of the samples
    that have the type, but not below the ``1 - max_false`` quantile of those that do not, and
    never above ``cap``."""
    model.eval()
    out: dict[str, float] = {}
    for mod in ("vis", "ir"):
        n = data[mod]["g"].shape[0]
        probs = []
        for s in range(0, n, 64):
            idx = torch.arange(s, min(n, s + 64))
            gv, cr, st, *_ = batch(data[mod], idx, 2)
            probs.append(torch.sigmoid(model.forward_modality(mod, gv, cr, st)[0]))
        p = torch.cat(probs)
        lab = data[mod]["label"]
        for k, t in enumerate(model.config.types(mod)):
            pos, neg = p[lab[:, k] > 0, k], p[lab[:, k] == 0, k]
            lo = float(torch.quantile(neg, 1 - max_false)) if neg.numel() else 0.0
            hi = float(torch.quantile(pos, 1 - recall)) if pos.numel() else cap
            out[t] = round(min(cap, max(lo, hi)), 3)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=Path("textif/weights/detector"))
    ap.add_argument("--cache", type=Path, default=Path("runs/detector_cache.pt"))
    ap.add_argument("--minutes", type=float, default=14.0, help="wall-clock budget of the optimisation")
    ap.add_argument("--variants", type=int, default=10, help="synthetic samples per clean image")
    ap.add_argument("--real-repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--calibrate", action="store_true",
                    help="per-type thresholds from the training samples (calibrate()) instead of 0.5 for every type")
    ap.add_argument("--keep-out-calibration", action="store_true",
                    help="train without the RoadScene calibration half and the TNO half, so that "
                         "scripts/calibrate_detector.py --unseen-only calibrates on images the detector never saw")
    ap.add_argument("--calibrate-only", action="store_true",
                    help="only recompute the thresholds of the detector in --out from the cached samples")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    log = lambda m: print(m, flush=True)  # noqa: E731
    model = create_detector("detector")
    cfg = model.config
    t_start = time.time()
    if args.cache.is_file():
        data = torch.load(args.cache, weights_only=True)  # tensors only, written by this script
        log(f"loaded cache {args.cache}")
    else:
        data = build_cache(args.data, cfg, args.seed, args.variants, args.real_repeats, log,
                           keep_out_calibration=args.keep_out_calibration)
        args.cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save(data, args.cache)
    t_cache = time.time() - t_start
    if args.calibrate_only:
        from textif.models.detector import load_detector

        ck = load_detector(args.out)
        t1 = time.time()
        thresholds = calibrate(ck.model, data)
        training = dict(ck.training, thresholds=f"calibrate(): recall 0.9 / at most 3 % false alarms on the training "
                                                f"samples, capped at 0.5 ({(time.time() - t1) / 60:.1f} min)")
        save_detector(ck.model, args.out, thresholds=thresholds, training=training)
        log(f"thresholds: {thresholds}")
        return 0

    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    budget = args.minutes * 60
    t0 = time.time()
    step = 0
    n = {m: data[m]["g"].shape[0] for m in ("vis", "ir")}
    gen = torch.Generator().manual_seed(args.seed)
    model.train()
    hist = []
    while True:
        el = time.time() - t0
        if el >= budget:
            break
        lr = args.lr * 0.5 * (1 + math.cos(math.pi * el / budget))
        for grp in opt.param_groups:
            grp["lr"] = lr
        loss_t = 0.0
        opt.zero_grad(set_to_none=True)
        for mod in ("vis", "ir"):
            idx = torch.randint(n[mod], (args.batch,), generator=gen)
            k = 1  # one crop per sample in training (cheaper); inference averages the features of four
            gv, cr, st, lab, sev, mask = batch(data[mod], idx, k)
            logits, psev = model.forward_modality(mod, gv, cr, st)
            l_cls = F.binary_cross_entropy_with_logits(logits, lab)
            l_sev = ((psev - sev).abs() * mask).sum() / mask.sum().clamp(min=1)
            loss = l_cls + 2.0 * l_sev
            loss.backward()
            loss_t += loss.item()
        opt.step()
        step += 1
        hist.append(loss_t)
        if step % 50 == 0:
            log(f"step {step} {el / 60:.1f} min lr {lr:.2e} loss {np.mean(hist[-50:]):.4f}")
    model.eval()
    training = {
        "script": "scripts/train_detector.py",
        "data": {
            "synthetic": ("RoadScene train split minus textif/data/splits/roadscene_detector_calibration.txt + clean "
                          "EMS/train and DRMF/train (hold-out scenes excluded), no TNO (kept for calibration), "
                          if data["meta"].get("keep_out_calibration") else
                          "RoadScene train split + clean EMS/train and DRMF/train (hold-out scenes excluded) + the TNO "
                          "half of textif/data/splits/tno_detector_train.txt, ")
                         + f"textif.data.degradations random_add_*, severity uniform in {list(SEV_RANGE)}",
            "real": "EMS/train degraded folders minus textif/data/splits/ems_train_holdout.txt; DRMF/train degraded",
            **data["meta"],
            "samples": n,
        },
        "steps": step,
        "batch_per_modality": args.batch,
        "optimiser": f"AdamW lr {args.lr} time-based cosine, weight decay 1e-4",
        "threads": args.threads,
        "minutes_cache": round(t_cache / 60, 2),
        "minutes_train": round((time.time() - t0) / 60, 2),
        "final_loss": float(np.mean(hist[-50:])) if hist else None,
    }
    if args.calibrate:
        t1 = time.time()
        thresholds = calibrate(model, data)
        training["thresholds"] = (f"calibrate(): recall 0.9 / at most 3 % false alarms on the training samples, "
                                  f"capped at 0.5 ({(time.time() - t1) / 60:.1f} min)")
    else:
        thresholds = {t: 0.5 for t in (*cfg.vis_types, *cfg.ir_types)}
        training["thresholds"] = "0.5 for every type"
    save_detector(model, args.out, thresholds=thresholds, training=training)
    log(f"wrote {args.out} after {step} steps ({training['minutes_train']} min training, "
        f"{training['minutes_cache']} min cache)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
