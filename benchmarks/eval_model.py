"""Quality report of a trained model: the figures of its model card.

    python benchmarks/eval_model.py [--model DIR] [--data ../shared/data] [--out docs/model-eval]

1. RoadScene val (45 pairs), neutral prompt: the field's metrics for the model and for the
   pixel-average / pixel-max baselines, and the model's row placed in the peer table
   (``../shared/benchmarks/peers_RoadSceneVal45.csv``).
2. Degradation awareness: each synthetic degradation (fixed severity, seeded) applied to the
   RoadScene val pairs; PSNR/SSIM of the output against the model's fusion of the clean pair,
   with the neutral prompt, a matching training prompt, a matching held-out phrasing and the
   suggested prompt of another degradation the input does not have ("wrong type").
3. Before/after images on the real degraded samples, written to ``docs/``.

Prints Markdown tables and writes them (and a JSON of every number) under ``--out``.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(1.0 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, channel_axis=-1, data_range=1.0))


def val_pairs(data: Path) -> dict[str, tuple[Path, Path]]:
    names = [ln.strip() for ln in (data / "splits" / "roadscene_val.txt").read_text().splitlines() if ln.strip()]
    return {Path(n).stem: (data / "RoadScene" / "vis" / n, data / "RoadScene" / "ir" / n) for n in names}


def section_metrics(fuser, pairs, out: Path, peers_csv: Path, label: str) -> str:
    from textif.core.io import write_image
    from textif.metrics import DEFAULT_METRICS, create_metric
    from textif.metrics.baselines import write_baselines
    from textif.metrics.runner import Method, score_folders

    fused_dir = out / "fused" / label
    fused_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for stem, (v, i) in pairs.items():
        img = fuser.fuse(v, i)
        write_image(fused_dir / f"{stem}.png", np.asarray(img, dtype=np.float32) / 255.0)
    sec = (time.perf_counter() - t0) / len(pairs)
    base = write_baselines(pairs, out / "fused", ["avg", "max"])
    methods = [Method(label, {p.stem: p for p in fused_dir.glob("*.png")})]
    methods += [Method(f"classic_{k}", {p.stem: p for p in d.glob("*.png")}) for k, d in base.items()]
    metrics = [create_metric(m) for m in DEFAULT_METRICS]
    report = score_folders(pairs, methods, metrics, title="RoadScene val (45), neutral prompt")
    means = {m.name: {k: float(np.nanmean(m.values(k))) for k in [x.name for x in metrics]} for m in report.methods}
    directed = ["en", "sd", "vif", "qabf", "scd"]
    wins = sum(all(means[label][k] > means[b][k] for b in ("classic_avg", "classic_max")) for k in directed)
    lines = [f"### RoadScene val (45 pairs), neutral prompt — {label}: {sec:.2f} s/pair on this CPU", ""]
    cols = [x.name for x in metrics]
    lines.append("| method | " + " | ".join(c.upper() if len(c) <= 4 else c for c in cols) + " |")
    lines.append("|---|" + "---:|" * len(cols))
    for name, row in means.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[c]:.3f}" for c in cols) + " |")
    lines.append("")
    lines.append(f"Better than both pixel-average and pixel-max on {wins} of EN, SD, VIF, Qabf, SCD "
                 f"({', '.join(k.upper() for k in directed if all(means[label][k] > means[b][k] for b in ('classic_avg', 'classic_max')))}).")
    # place in the peer table
    if peers_csv.is_file():
        per_method: dict[str, dict[str, list[float]]] = {}
        for r in csv.DictReader(peers_csv.open()):
            if r.get("status", "ok") != "ok":
                continue
            d = per_method.setdefault(r["method"], {})
            for k, v in r.items():
                try:
                    d.setdefault(k, []).append(float(v))
                except (TypeError, ValueError):
                    pass
        keys = {"EN": "en", "SD": "sd", "SF": "sf", "AG": "ag", "MI": "mi", "SCD": "scd", "VIF": "vif", "Qabf": "qabf",
                "SSIM": "ssim", "CC": "cc", "NIQE": "niqe", "BRISQUE": "brisque"}
        n_methods = len(per_method) + 1
        lines += ["", f"#### Placed among the peers (same 45 pairs, same conventions; rank among {n_methods} methods, 1 = best)", ""]
        lines.append("| metric | " + label + " | rank | best peer |")
        lines.append("|---|---:|---:|---|")
        for k, ours_key in keys.items():
            vals = [(m, float(np.mean(d[k]))) for m, d in per_method.items() if k in d]
            if not vals:
                continue
            lower = k in ("NIQE", "BRISQUE")
            ours = means[label][ours_key]
            rank = 1 + sum((v < ours) if lower else (v > ours) for _, v in vals)
            best = min(vals, key=lambda t: t[1]) if lower else max(vals, key=lambda t: t[1])
            lines.append(f"| {k} {'↓' if lower else '↑'} | {ours:.3f} | {rank} | {best[0]} {best[1]:.3f} |")
    (out / "roadscene_val.json").write_text(json.dumps({"seconds_per_pair": sec, "means": means}, indent=2))
    return "\n".join(lines)


def section_awareness(fuser, pairs, limit: int, severity: float) -> tuple[str, dict]:
    from textif.data.degradations import DEGRADATIONS, degrade_pair
    from textif.data.prompts import heldout_prompts, suggested_prompts
    from textif.core.io import read_image

    names = DEGRADATIONS.names()
    stems = list(pairs)[:limit]
    suggested = suggested_prompts()
    kinds = ("neutral", "match", "heldout", "wrong")
    res: dict[str, dict[str, list[float]]] = {n: {f"{m}_{k}": [] for m in ("psnr", "ssim") for k in kinds} for n in names}
    rng = random.Random(0)
    rng_wrong = random.Random(1)  # separate stream: the held-out choices stay as they were
    for j, stem in enumerate(stems):
        v, i = pairs[stem]
        vis = torch.from_numpy(read_image(v, channels=3)).permute(2, 0, 1)[None]
        ir = torch.from_numpy(read_image(i, channels=1))[None, None]
        clean = fuser.fuse_tensor(vis, ir, None)[0].permute(1, 2, 0).cpu().numpy()
        for name in names:
            g = torch.Generator().manual_seed(1000 * j + names.index(name))
            d = degrade_pair(vis, ir, name, severity=severity, generator=g, randomize=False)
            texts = {"neutral": None, "match": suggested[name], "heldout": rng.choice(heldout_prompts(name)),
                     "wrong": suggested[rng_wrong.choice([n for n in names if n != name])]}
            for kind, text in texts.items():
                out = fuser.fuse_tensor(d.vis, d.ir, text)[0].permute(1, 2, 0).cpu().numpy()
                res[name][f"psnr_{kind}"].append(psnr(out, clean))
                res[name][f"ssim_{kind}"].append(ssim(out, clean))
        print(f"  awareness {j + 1}/{len(stems)}", file=sys.stderr, flush=True)
    lines = [f"### Degradation awareness: RoadScene val ({len(stems)} pairs), severity {severity}", "",
             "Closeness to the model's fusion of the clean pair (higher is better).", "",
             "| degradation | PSNR neutral | PSNR matching | PSNR held-out wording | PSNR wrong type | SSIM neutral | SSIM matching | SSIM held-out | SSIM wrong type | matching better |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    summary = {}
    for name in names:
        m = {k: float(np.mean(v)) for k, v in res[name].items()}
        better = m["psnr_match"] > m["psnr_neutral"] and m["ssim_match"] > m["ssim_neutral"]
        held = m["psnr_heldout"] > m["psnr_neutral"] and m["ssim_heldout"] > m["ssim_neutral"]
        summary[name] = {**m, "match_better": better, "heldout_better": held}
        lines.append(f"| {name} | {m['psnr_neutral']:.2f} | {m['psnr_match']:.2f} | {m['psnr_heldout']:.2f} | {m['psnr_wrong']:.2f} | "
                     f"{m['ssim_neutral']:.4f} | {m['ssim_match']:.4f} | {m['ssim_heldout']:.4f} | {m['ssim_wrong']:.4f} | "
                     f"{'yes' if better else 'NO'}{'' if held else ' (held-out: no)'} |")
    n_ok = sum(s["match_better"] for s in summary.values())
    n_held = sum(s["heldout_better"] for s in summary.values())
    d_wrong = float(np.mean([s["psnr_wrong"] - s["psnr_neutral"] for s in summary.values()]))
    lines += ["", f"Matching prompt better than neutral (PSNR and SSIM) for {n_ok} of {len(names)} types; "
              f"held-out wording for {n_held} of {len(names)}. The suggested prompt of another, absent "
              f"degradation (\"wrong type\") changes PSNR by {d_wrong:+.2f} dB on average against neutral."]
    return "\n".join(lines), summary


def section_samples(fuser, data: Path, docs: Path) -> str:
    from PIL import Image, ImageDraw

    from textif.core.io import read_image, write_image

    cases = [
        ("00016N", data / "samples/vis/00016N.png", data / "samples/ir/00016N.png", "the infrared image is noisy, please remove the noise"),
        ("00036N", data / "samples/vis/00036N.png", data / "samples/ir/00036N.png", "the infrared image has low contrast"),
        ("010007", data / "samples/vis/010007.png", data / "samples/ir/010007.png", "the visible image is too dark"),
    ]
    ems = sorted((data / "EMS/train/vis_LL").glob("*"))[:1]
    for p in ems:
        cases.append((f"EMS_{p.stem}", p, data / "EMS/train/ir" / p.name, "the visible image is too dark"))
    lines = ["### Real degraded samples (before / after)", ""]
    for name, v, i, text in cases:
        vis = read_image(v, channels=3)
        ir = read_image(i, channels=1)
        neutral = fuser.fuse(vis, ir)
        prompted = fuser.fuse(vis, ir, text=text)
        tiles = [vis, np.repeat(ir[..., None], 3, axis=2), neutral, prompted]
        labels = ["visible", "infrared", "fused, neutral prompt", f"fused: \"{text}\""]
        h, w = vis.shape[:2]
        scale = 320 / w
        th = int(round(h * scale))
        canvas = Image.new("RGB", (320 * 4, th + 22), "white")
        draw = ImageDraw.Draw(canvas)
        for k, (t, lab) in enumerate(zip(tiles, labels)):
            im = Image.fromarray((np.clip(t, 0, 1) * 255).round().astype(np.uint8)).resize((320, th), Image.LANCZOS)
            canvas.paste(im, (320 * k, 22))
            draw.text((320 * k + 4, 4), lab[:52], fill="black")
        out = docs / f"compare_{name}.png"
        write_image(out, np.asarray(canvas, dtype=np.float32) / 255.0)
        lines.append(f"![{name}](compare_{name}.png)")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="checkpoint folder or preset (default: the shipped model)")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "model-eval"))
    ap.add_argument("--label", default=None, help="the model's name in the tables (default: --model, or the default model's name)")
    ap.add_argument("--limit", type=int, default=45, help="pairs used for the degradation-awareness table")
    ap.add_argument("--severity", type=float, default=0.6)
    ap.add_argument("--skip", default="", help="comma-separated sections to skip: metrics,awareness,samples")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    import textif

    fuser = textif.load(a.model, device="cpu")
    data, out = Path(a.data), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    pairs = val_pairs(data)
    skip = set(filter(None, a.skip.split(",")))
    parts = []
    if "metrics" not in skip:
        label = a.label or (Path(a.model).name if a.model else fuser.checkpoint.name)
        parts.append(section_metrics(fuser, pairs, out, ROOT.parent / "shared" / "benchmarks" / "peers_RoadSceneVal45.csv", label))
        print(parts[-1], flush=True)
    if "awareness" not in skip:
        text, summary = section_awareness(fuser, pairs, a.limit, a.severity)
        (out / "awareness.json").write_text(json.dumps(summary, indent=2))
        parts.append(text)
        print(parts[-1], flush=True)
    if "samples" not in skip:
        parts.append(section_samples(fuser, data, out))
        print(parts[-1], flush=True)
    (out / "report.md").write_text("\n\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
