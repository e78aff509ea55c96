#!/usr/bin/env python
"""Evaluate the degradation detector on data it never trained on; write the figures and the
confusion-matrix image used by ``docs/detector-card.md``.

    PYTHONPATH=$PWD python scripts/eval_detector.py --out docs/detector-eval

* real degraded images (``textif.detect.sets.eval_images``: EMS/test, the EMS/train hold-out,
  M3SVD vis_blur / ir_noise, DRMF/val): recall per set and type;
* clean pairs (RoadScene val split, TNO, M3SVD clean): share reported clean per modality;
* synthetic severity on the RoadScene val split: each type applied at severities drawn
  uniformly in [0.1, 1] -> Spearman correlation of predicted and true severity, and recall;
* speed: one 640x480 pair (read from memory), median of 30 runs, on 2 threads.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from scipy.stats import spearmanr

from textif.core.io import read_image
from textif.data.degradations import DEGRADATIONS, IR_DEGRADATIONS, VIS_DEGRADATIONS
from textif.detect import Detector
from textif.detect.diagnosis import _to_tensor
from textif.detect.sets import clean_pairs, eval_images

CLEAN = "clean"


def _findings(det: Detector, path: Path, modality: str) -> list:
    return det.findings(path, modality)


def confusion_image(rows: list[str], cols: list[str], counts: np.ndarray, totals: np.ndarray, title: str) -> Image.Image:
    """Row-normalised matrix (share of images of each true type reported as each type) as a PIL image."""
    cell, left, top = 44, 150, 150
    w, h = left + cell * len(cols) + 10, top + cell * len(rows) + 30
    img = Image.new("RGB", (w, h), "white")
    dr = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    dr.text((10, 8), title, fill="black", font=font)
    for j, c in enumerate(cols):
        x = left + j * cell + cell // 2
        txt = Image.new("L", (140, 14), 255)
        ImageDraw.Draw(txt).text((0, 0), c, fill=0, font=font)
        txt = txt.rotate(90, expand=True)
        img.paste(Image.new("RGB", txt.size, "black"), (x - 7, top - 145), Image.eval(txt, lambda v: 255 - v))
    for i, r in enumerate(rows):
        y = top + i * cell
        dr.text((8, y + cell // 2 - 6), f"{r} (n={int(totals[i])})", fill="black", font=font)
        for j in range(len(cols)):
            x = left + j * cell
            v = counts[i, j] / max(1, totals[i])
            shade = int(255 - 200 * v)
            dr.rectangle([x, y, x + cell - 1, y + cell - 1], fill=(shade, shade, 255), outline=(200, 200, 200))
            if totals[i]:
                dr.text((x + 8, y + cell // 2 - 6), f"{100 * v:.0f}", fill="black" if v < 0.6 else "white", font=font)
    dr.text((10, h - 20), "rows: true type; columns: reported (%, several per image possible); 'clean' = nothing reported",
            fill="black", font=font)
    return img


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--detector", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=Path("docs/detector-eval"))
    ap.add_argument("--severities", type=int, default=3, help="synthetic samples per val image and type")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-speed", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    det = Detector.load(args.detector)
    args.out.mkdir(parents=True, exist_ok=True)
    res: dict = {}

    # ---------------------------------------------------------------- real degraded
    per = defaultdict(lambda: [0, 0])  # (source, type) -> [hits, n]
    per_type = defaultdict(lambda: [0, 0])
    clean_real = defaultdict(lambda: [0, 0])
    conf: dict[str, dict[str, np.ndarray]] = {}
    mods = {"vis": list(VIS_DEGRADATIONS), "ir": list(IR_DEGRADATIONS)}
    for m in mods:
        conf[m] = {"counts": np.zeros((len(mods[m]) + 1, len(mods[m]) + 1)), "totals": np.zeros(len(mods[m]) + 1)}
    rows_out = []
    for e in eval_images(args.data):
        fs = _findings(det, e.path, e.modality)
        found = {f.type for f in fs}
        rows_out.append({"path": str(e.path), "source": e.source, "modality": e.modality, "true": list(e.types),
                         "found": [f.to_dict() for f in fs]})
        labels = mods[e.modality]
        if not e.types:
            key = (e.source, f"{e.modality} clean")
            clean_real[key][0] += not found
            clean_real[key][1] += 1
        for t in e.types:
            per[(e.source, t)][0] += t in found
            per[(e.source, t)][1] += 1
            per_type[t][0] += t in found
            per_type[t][1] += 1
        if len(e.types) <= 1:
            r = labels.index(e.types[0]) if e.types else len(labels)
            c = conf[e.modality]
            c["totals"][r] += 1
            for t in found:
                c["counts"][r, labels.index(t)] += 1
            if not found:
                c["counts"][r, len(labels)] += 1
    res["real_recall"] = {f"{s} / {t}": {"recall": h / n, "n": n} for (s, t), (h, n) in sorted(per.items())}
    res["real_recall_per_type"] = {t: {"recall": h / n, "n": n} for t, (h, n) in sorted(per_type.items())}
    res["real_clean_in_degraded_sets"] = {f"{s} / {t}": {"clean": h / n, "n": n} for (s, t), (h, n) in sorted(clean_real.items())}
    (args.out / "real_predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows_out))

    # ---------------------------------------------------------------- clean pairs
    cl = defaultdict(lambda: [0, 0])
    fp = defaultdict(int)
    for src, v, i in clean_pairs(args.data):
        d = det.diagnose(v, i)
        for m, fs in (("vis", d.vis), ("ir", d.ir)):
            cl[(src, m)][0] += not fs
            cl[(src, m)][1] += 1
            for f in fs:
                fp[f"{src} / {m} / {f.type}"] += 1
    res["clean"] = {f"{s} / {m}": {"clean": h / n, "n": n} for (s, m), (h, n) in sorted(cl.items())}
    res["clean_false_alarms"] = dict(sorted(fp.items()))

    # ---------------------------------------------------------------- synthetic (RoadScene val)
    names = (args.data / "splits" / "roadscene_val.txt").read_text().split()
    rng = random.Random(123)
    g = torch.Generator().manual_seed(123)
    sev_true = defaultdict(list)
    sev_pred = defaultdict(list)
    hits = defaultdict(lambda: [0, 0])
    syn_conf = {m: {"counts": np.zeros((len(mods[m]) + 1, len(mods[m]) + 1)), "totals": np.zeros(len(mods[m]) + 1)}
                for m in mods}
    for n in names:
        for m, labels in mods.items():
            img, _ = _to_tensor(args.data / "RoadScene" / ("vis" if m == "vis" else "ir") / n, m)
            for t in labels:
                for _ in range(args.severities):
                    s = rng.uniform(0.1, 1.0)
                    x = DEGRADATIONS.get(t).random_fn(img, generator=g, severity=s)
                    prob, sev = det.predict(x, m)
                    k = labels.index(t)
                    sev_true[t].append(s)
                    sev_pred[t].append(float(sev[0, k]))
                    th = det._threshold(t)
                    found = [labels[j] for j in range(len(labels)) if float(prob[0, j]) >= det._threshold(labels[j])]
                    hits[t][0] += float(prob[0, k]) >= th
                    hits[t][1] += 1
                    c = syn_conf[m]
                    c["totals"][k] += 1
                    for f in found:
                        c["counts"][k, labels.index(f)] += 1
                    if not found:
                        c["counts"][k, len(labels)] += 1
            prob, _ = det.predict(img, m)
            found = [labels[j] for j in range(len(labels)) if float(prob[0, j]) >= det._threshold(labels[j])]
            c = syn_conf[m]
            c["totals"][len(labels)] += 1
            for f in found:
                c["counts"][len(labels), labels.index(f)] += 1
            if not found:
                c["counts"][len(labels), len(labels)] += 1
    res["synthetic"] = {
        t: {"spearman": float(spearmanr(sev_true[t], sev_pred[t]).statistic), "recall": hits[t][0] / hits[t][1],
            "n": hits[t][1], "mean_abs_severity_error": float(np.mean(np.abs(np.array(sev_true[t]) - np.array(sev_pred[t]))))}
        for t in sev_true
    }

    # ---------------------------------------------------------------- confusion images
    panels = []
    for m in mods:
        labels = mods[m] + [CLEAN]
        panels.append(confusion_image(labels, labels, conf[m]["counts"], conf[m]["totals"],
                                      f"real held-out images, {'visible' if m == 'vis' else 'infrared'}"))
        panels.append(confusion_image(labels, labels, syn_conf[m]["counts"], syn_conf[m]["totals"],
                                      f"synthetic, RoadScene val, {'visible' if m == 'vis' else 'infrared'}"))
    W = panels[0].width + panels[1].width
    H = max(panels[0].height, panels[1].height) + max(panels[2].height, panels[3].height)
    sheet = Image.new("RGB", (W, H), "white")
    sheet.paste(panels[0], (0, 0))
    sheet.paste(panels[1], (panels[0].width, 0))
    y = max(panels[0].height, panels[1].height)
    sheet.paste(panels[2], (0, y))
    sheet.paste(panels[3], (panels[2].width, y))
    sheet.save(args.out / "confusion.png")
    res["confusion"] = {m: {"labels": mods[m] + [CLEAN], "counts": conf[m]["counts"].tolist(),
                            "totals": conf[m]["totals"].tolist()} for m in mods}

    # ---------------------------------------------------------------- speed
    if not args.skip_speed:
        v = read_image(args.data / "M3SVD" / "vis" / "0115_1831_0000.png", channels=3)
        i = read_image(args.data / "M3SVD" / "ir" / "0115_1831_0000.png", channels=1)
        assert v.shape[:2] == (480, 640)
        for _ in range(3):
            det.diagnose(v, i)
        ts = []
        for _ in range(30):
            t0 = time.perf_counter()
            det.diagnose(v, i)
            ts.append(time.perf_counter() - t0)
        res["speed_ms_640x480_pair"] = {"median": 1000 * statistics.median(ts), "min": 1000 * min(ts),
                                        "threads": args.threads}
    (args.out / "results.json").write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps({k: v for k, v in res.items() if k != "confusion"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
