"""Modality preference on RoadScene val: how the slider and preference sentences move the fusion.

    python benchmarks/eval_preference.py --model DIR [--baseline DIR] [--data ../shared/data]
        [--out docs/model-eval/preference] [--weights 0 0.25 0.5 0.75 1] [--threads 2] [--limit N]

For each ``ir_weight`` setting, every RoadScene val pair (45) is fused with the neutral prompt and
scored: the correlation of the fused luminance with the infrared image (``corr_ir``) and with the
visible luminance (``corr_vis``), Pearson per pair then averaged, and the field's EN, SD, SCD and
Qabf (``create_metric``). Then the two held-out preference sentences of each side (never used in
training) appended to the neutral prompt. ``--baseline``: the model before the preference stage,
fused neutrally, to check that the default setting leaves the neutral metrics unchanged (within
1 %, issue 10). Prints Markdown, writes ``report.md``, ``preference.json`` and
``preference-strip.png`` (one pair at every setting) under ``--out``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("en", "sd", "scd", "qabf")


def val_pairs(data: Path, limit: int | None) -> dict[str, tuple[Path, Path]]:
    names = [ln.strip() for ln in (data / "splits" / "roadscene_val.txt").read_text().splitlines() if ln.strip()]
    pairs = {Path(n).stem: (data / "RoadScene" / "vis" / n, data / "RoadScene" / "ir" / n) for n in names}
    return dict(list(pairs.items())[:limit]) if limit else pairs


def luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114 if rgb.ndim == 3 else rgb


def u8(x: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(x, 0, 1) * 255).astype(np.uint8)


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(np.float64), b.ravel().astype(np.float64))[0, 1])


def score(fuser, pairs, metrics, **fuse_kw) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    from textif.core.io import read_image

    rows: dict[str, list[float]] = {k: [] for k in ("corr_ir", "corr_vis", *METRICS)}
    outs = {}
    for stem, (v, i) in pairs.items():
        vis = read_image(v, channels=3)
        ir = read_image(i, channels=1)
        if ir.shape != vis.shape[:2]:
            continue
        fused = np.asarray(fuser.fuse(vis, ir, **fuse_kw), dtype=np.float32)
        outs[stem] = fused
        y = luma(fused)
        rows["corr_ir"].append(corr(y, ir))
        rows["corr_vis"].append(corr(y, luma(vis)))
        for m in metrics:
            rows[m.name].append(m(u8(fused), ir=u8(ir), vis=u8(vis)))
    return {k: float(np.nanmean(v)) for k, v in rows.items()}, outs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--baseline", default=None, help="the model before the preference stage (neutral check)")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "model-eval" / "preference"))
    ap.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None)
    a = ap.parse_args(argv)

    import textif
    from textif.core.io import write_image
    from textif.data.preference import PREFERENCE_SENTENCES
    from textif.data.prompts import NEUTRAL_PROMPT
    from textif.metrics import create_metric

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    pairs = val_pairs(Path(a.data), a.limit)
    metrics = [create_metric(m) for m in METRICS]
    fuser = textif.load(a.model, threads=a.threads, progress=False)
    t0 = time.perf_counter()
    table: dict[str, dict[str, float]] = {}
    strips: dict[str, np.ndarray] = {}
    first = next(iter(pairs))
    for w in a.weights:
        row, outs = score(fuser, pairs, metrics, ir_weight=w)
        table[f"ir_weight {w:g}"] = row
        strips[f"{w:g}"] = outs[first]
        print(f"ir_weight {w:g}: " + ", ".join(f"{k} {v:.4f}" for k, v in row.items()), flush=True)
    for side in ("vis", "ir"):
        for sentence in PREFERENCE_SENTENCES["heldout"][side][:2]:
            row, _ = score(fuser, pairs, metrics, text=f"{NEUTRAL_PROMPT} {sentence}")
            table[f'"{sentence}" ({side}, held out)'] = row
            print(f"{sentence}: " + ", ".join(f"{k} {v:.4f}" for k, v in row.items()), flush=True)
    base_row = None
    if a.baseline:
        base = textif.load(a.baseline, threads=a.threads, progress=False)
        base_row, _ = score(base, pairs, metrics)
        table["baseline (before the stage), neutral"] = base_row
    sec = time.perf_counter() - t0

    keys = ["corr_ir", "corr_vis", *METRICS]
    lines = [f"### Modality preference on RoadScene val ({len(pairs)} pairs), neutral prompt — {fuser.name}", "",
             "| setting | " + " | ".join(k.upper() if k in METRICS else k for k in keys) + " |",
             "|---|" + "---:|" * len(keys)]
    for name, row in table.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[k]:.4f}" for k in keys) + " |")
    ws = [table[f"ir_weight {w:g}"] for w in sorted(a.weights)]
    mono = {k: all(x[k] < y[k] for x, y in zip(ws, ws[1:])) for k in ("corr_ir", "sd", "scd")}
    lines += ["", "Rises monotonically with ir_weight: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in mono.items())
              + f" (target: the infrared contribution rises monotonically)."]
    if base_row is not None and 0.5 in a.weights:
        neutral = table["ir_weight 0.5"]
        rel = {k: (neutral[k] - base_row[k]) / abs(base_row[k]) * 100 for k in METRICS}
        lines.append("Default setting against the model before the stage: " + ", ".join(f"{k.upper()} {v:+.2f} %" for k, v in rel.items())
                     + f" (target: within 1 %; {'met' if all(abs(v) <= 1 for v in rel.values()) else 'NOT met'}).")
    lines += ["", f"`{' '.join([Path(sys.executable).name, *sys.argv])}` · {sec:.0f} s"]
    report = "\n".join(lines)
    print("\n" + report)
    (out / "report.md").write_text(report + "\n")
    (out / "preference.json").write_text(json.dumps({"model": str(a.model), "pairs": len(pairs), "table": table,
                                                     "monotonic": mono}, indent=2))
    # the strip: one pair at every setting, left to right (visible-dominant -> infrared-dominant)
    tiles = [strips[k] for k in strips]
    h = min(t.shape[0] for t in tiles)
    strip = np.concatenate([t[:h] for t in tiles], axis=1)
    write_image(out / "preference-strip.png", strip)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
