"""Restoration on real degraded pairs: the real validation set of issue 9.

    python benchmarks/eval_real.py --model textif-small [--model DIR ...] [--data ../shared/data]
        [--out docs/model-eval/real] [--threads 1] [--limit-per-type N]

The cases are :func:`textif.data.realval.real_validation_cases` (M3SVD blur and infrared noise,
DRMF/val, the EMS/train hold-out scenes): real degraded pairs with a clean counterpart. For each
model and case:

* reference: the model's fusion of the CLEAN pair with the neutral prompt;
* the DEGRADED pair fused with (a) the neutral prompt, (b) the suggested prompt of the case's
  type (``suggested_prompts(include_composites=True)``), (c) a held-out wording of the type
  (``heldout_prompts``; one fixed choice per case, drawn with ``random.Random(f"{seed}:{name}")``),
  (d) a wrong-type prompt: the suggested sentence of the next type of the same modality (cyclic,
  in textif's order: low_light, overexposure, noise, blur, haze, rain / ir_low_contrast, ir_noise,
  ir_stripe) after the case's first type that the input does not show (extra types included);
* the CLEAN pair fused with that wrong-type prompt.

PSNR and SSIM (RGB, data range 1, skimage ``structural_similarity(channel_axis=-1)``) to the
reference; NIQE (``create_metric("niqe")``, on the 8-bit output's grey levels) of the reference,
of the degraded pair fused neutrally and with the suggested prompt. Per type: means, gains
against neutral and the issue-9 targets. Prints Markdown tables and writes ``report.md``,
``real.json`` (every number) and one comparison image per model and type (tiles of at most 320 px) under ``--out``.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import re
import shlex
import sys
import textwrap
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

KINDS = ("neutral", "suggested", "heldout", "wrong")
#: Issue-9 targets (see the report's "Targets" section).
T_SUGGESTED_DB, T_HELDOUT_DB, T_NIQE_MARGIN, T_WRONG_DB = 1.5, 1.0, 0.5, -0.5
TILE = 320  # comparison tiles: at most this many pixels high and wide


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * math.log10(1.0 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, channel_axis=-1, data_range=1.0))


def to_u8(img: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)


# ----------------------------------------------------------------------------- cases and prompts

def select_cases(cases: list, limit: int | None) -> list:
    """At most ``limit`` cases per type (the ``degradation`` task), spread over sources and, within
    a source, evenly over its cases (so M3SVD keeps several sequences). Keeps the listing order."""
    if not limit:
        return list(cases)
    by_type: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for k, c in enumerate(cases):
        by_type[c.degradation][c.source].append(k)
    keep: set[int] = set()
    for sources in by_type.values():
        quota = dict.fromkeys(sources, 0)
        left = limit
        while left > 0 and any(quota[s] < len(sources[s]) for s in sources):
            for s in sources:
                if left > 0 and quota[s] < len(sources[s]):
                    quota[s] += 1
                    left -= 1
        for s, idx in sources.items():
            if quota[s]:
                keep.update(idx[int(round(j))] for j in np.linspace(0, len(idx) - 1, quota[s]))
    return [c for k, c in enumerate(cases) if k in keep]


def wrong_type(case) -> str:
    """The fixed wrong-type rule: next type of the first part's modality (cyclic) that the input lacks."""
    from textif.data.degradations import IR_DEGRADATIONS, VIS_DEGRADATIONS, modality_of

    first = case.parts[0]
    order = VIS_DEGRADATIONS if modality_of(first) == "vis" else IR_DEGRADATIONS
    i = order.index(first)
    for step in range(1, len(order)):
        t = order[(i + step) % len(order)]
        if t not in case.types:
            return t
    raise ValueError(f"{case.name}: no wrong type left in {order}")


def case_prompts(case, seed: int) -> dict[str, str | None]:
    from textif.data.prompts import NEUTRAL_PROMPT, heldout_prompts, suggested_prompts

    sug = suggested_prompts(include_composites=True)
    wt = wrong_type(case)
    return {
        "neutral": NEUTRAL_PROMPT,
        "suggested": sug[case.degradation],
        "heldout": random.Random(f"{seed}:{case.name}").choice(heldout_prompts(case.degradation)),
        "wrong": sug[wt],
        "wrong_type": wt,
    }


# ----------------------------------------------------------------------------- images

def comparison_image(tiles: list[np.ndarray], labels: list[str], path: Path) -> None:
    from PIL import Image, ImageDraw

    from textif.core.io import to_rgb, write_image

    h, w = tiles[0].shape[:2]
    scale = min(1.0, TILE / max(h, w))
    th, tw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    head = 34
    canvas = Image.new("RGB", (tw * len(tiles), th + head), "white")
    draw = ImageDraw.Draw(canvas)
    for k, (t, lab) in enumerate(zip(tiles, labels)):
        im = Image.fromarray(to_u8(to_rgb(t)))
        if (tw, th) != (w, h):
            im = im.resize((tw, th), Image.LANCZOS)
        canvas.paste(im, (tw * k, head))
        chars = max(10, tw // 6)  # the default bitmap font is 6 pixels wide; wrap at words, two lines at most
        for j, line in enumerate(textwrap.wrap(lab, chars, max_lines=2, placeholder=" ...")):
            draw.text((tw * k + 4, 3 + 14 * j), line, fill="black")
    write_image(path, np.asarray(canvas, dtype=np.float32) / 255.0)


def safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name.replace("+", "__"))


# ----------------------------------------------------------------------------- one model

def evaluate_model(fuser, cases: list, label: str, out: Path, seed: int, data: Path | None = None) -> list[dict]:
    """Fuse and score every case; returns one record per case (in ``cases`` order). File paths in
    the records are relative to ``data`` when given."""
    from tqdm import tqdm

    from textif.core.io import read_image
    from textif.metrics import create_metric

    niqe_metric = create_metric("niqe")

    def rel(p: Path) -> str:
        try:
            return Path(p).relative_to(data).as_posix() if data is not None else str(p)
        except ValueError:
            return str(p)

    def niqe(img: np.ndarray) -> float:
        return float(niqe_metric(to_u8(img)))

    def fuse(v: np.ndarray, i: np.ndarray, text: str | None) -> np.ndarray:
        return np.asarray(fuser.fuse(v, i, text=text), dtype=np.float32)

    # group the cases by clean pair so that each reference is fused once and dropped after use
    groups: dict[tuple[Path, Path], list[int]] = defaultdict(list)
    for k, c in enumerate(cases):
        groups[(c.vis_clean, c.ir_clean)].append(k)
    first_of_type: dict[str, int] = {}
    for k, c in enumerate(cases):
        first_of_type.setdefault(c.degradation, k)
    records: list[dict | None] = [None] * len(cases)
    bar = tqdm(total=len(cases), desc=f"{label}: real cases", unit="case", file=sys.stderr)
    for (cv_path, ci_path), idx in groups.items():
        cv, ci = read_image(cv_path, channels=3), read_image(ci_path, channels=1)
        ref = fuse(cv, ci, None)
        niqe_clean = niqe(ref)
        clean_wrong: dict[str, np.ndarray] = {}
        for k in idx:
            c = cases[k]
            t0 = time.perf_counter()
            prompts = case_prompts(c, seed)
            v = cv if c.vis == c.vis_clean else read_image(c.vis, channels=3)
            i = ci if c.ir == c.ir_clean else read_image(c.ir, channels=1)
            if v.shape[:2] != cv.shape[:2] or i.shape[:2] != ci.shape[:2] or cv.shape[:2] != ci.shape[:2]:
                raise SystemExit(f"{c.name}: image sizes differ (vis {v.shape[:2]}, ir {i.shape[:2]}, "
                                 f"clean vis {cv.shape[:2]}, clean ir {ci.shape[:2]})")
            outs = {kind: fuse(v, i, prompts[kind]) for kind in KINDS}
            if prompts["wrong"] not in clean_wrong:
                clean_wrong[prompts["wrong"]] = fuse(cv, ci, prompts["wrong"])
            cw = clean_wrong[prompts["wrong"]]
            rec = {
                "name": c.name, "source": c.source, "degradation": c.degradation, "extra": list(c.extra),
                "files": {k: rel(getattr(c, k)) for k in ("vis", "ir", "vis_clean", "ir_clean")},
                "prompts": prompts,
                "psnr": {kind: psnr(o, ref) for kind, o in outs.items()},
                "ssim": {kind: ssim(o, ref) for kind, o in outs.items()},
                "clean_wrong": {"psnr": psnr(cw, ref), "ssim": ssim(cw, ref)},
                "niqe": {"clean": niqe_clean, "neutral": niqe(outs["neutral"]), "suggested": niqe(outs["suggested"])},
            }
            rec["seconds"] = time.perf_counter() - t0
            records[k] = rec
            if first_of_type.get(c.degradation) == k:
                name = f"compare_{safe(label)}_{safe(c.degradation)}.png"
                comparison_image(
                    [v, i, outs["neutral"], outs["suggested"], ref],
                    [f"visible ({'degraded' if 'vis' in c.modalities else 'clean'})",
                     f"infrared ({'degraded' if 'ir' in c.modalities else 'clean'})", "fused, neutral prompt",
                     f"fused: \"{prompts['suggested']}\"", "clean pair fused (reference)"],
                    out / name)
                rec["image"] = name
            bar.update(1)
    bar.close()
    return [r for r in records if r is not None]


# ----------------------------------------------------------------------------- aggregation

def _mean(xs: list[float]) -> float:
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    return float(np.mean(xs)) if xs else float("nan")


def summarise(records: list[dict]) -> dict[str, float]:
    s: dict[str, float] = {"n": len(records)}
    for m in ("psnr", "ssim"):
        for kind in KINDS:
            s[f"{m}_{kind}"] = _mean([r[m][kind] for r in records])
        for kind in ("suggested", "heldout", "wrong"):
            s[f"{m}_gain_{kind}"] = _mean([r[m][kind] - r[m]["neutral"] for r in records])
        s[f"{m}_clean_wrong"] = _mean([r["clean_wrong"][m] for r in records])
    for kind in ("clean", "neutral", "suggested"):
        s[f"niqe_{kind}"] = _mean([r["niqe"][kind] for r in records])
    return s


def targets(s: dict[str, float]) -> dict[str, bool]:
    return {
        "suggested": s["psnr_gain_suggested"] >= T_SUGGESTED_DB and s["ssim_gain_suggested"] > 0,
        "heldout": s["psnr_gain_heldout"] >= T_HELDOUT_DB,
        "niqe_vs_degraded": s["niqe_suggested"] < s["niqe_neutral"],
        "niqe_vs_clean": s["niqe_suggested"] <= s["niqe_clean"] + T_NIQE_MARGIN,
        "wrong": s["psnr_gain_wrong"] >= T_WRONG_DB,
    }


def type_order(records: list[dict]) -> list[str]:
    from textif.data.degradations import IR_DEGRADATIONS, VIS_DEGRADATIONS

    names = list(VIS_DEGRADATIONS + IR_DEGRADATIONS)
    present = list(dict.fromkeys(r["degradation"] for r in records))
    return sorted(present, key=lambda t: (1, t) if "+" in t else (0, f"{names.index(t):02d}"))


def aggregate(records: list[dict]) -> dict:
    types = type_order(records)
    per_type, per_source = {}, {}
    for t in types:
        rs = [r for r in records if r["degradation"] == t]
        s = summarise(rs)
        s["sources"] = list(dict.fromkeys(r["source"] for r in rs))
        s["targets"] = targets(s)
        per_type[t] = s
        for src in s["sources"]:
            per_source[f"{t} | {src}"] = summarise([r for r in rs if r["source"] == src])
    overall = summarise(records)
    return {"per_type": per_type, "per_source": per_source, "overall": overall}


# ----------------------------------------------------------------------------- Markdown

def _f(x: float, nd: int = 2, sign: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:+.{nd}f}" if sign else f"{x:.{nd}f}"


def _yn(ok: bool) -> str:
    return "pass" if ok else "**fail**"


def model_section(label: str, info: dict, agg: dict, records: list[dict]) -> str:
    pt = agg["per_type"]
    L = [f"## {label}", "",
         f"{info['cases']} cases, backend {info['backend']}, {info['threads']} thread(s), "
         f"{info['seconds']:.0f} s ({info['seconds'] / max(1, info['cases']):.1f} s per case: 4 fusions of the "
         "degraded pair, plus the clean pair's neutral and wrong-prompt fusions, shared between cases).", "",
         "### PSNR / SSIM to the model's neutral fusion of the clean pair", "",
         "Gains are against the neutral prompt on the same degraded pair (dB for PSNR).", "",
         "| type | n | sources | PSNR neutral | PSNR suggested | PSNR held-out | gain suggested | gain held-out "
         "| SSIM neutral | SSIM suggested | SSIM held-out | SSIM gain suggested | SSIM gain held-out |",
         "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for t, s in pt.items():
        L.append(f"| {t} | {s['n']} | {', '.join(s['sources'])} | {_f(s['psnr_neutral'])} | {_f(s['psnr_suggested'])} | "
                 f"{_f(s['psnr_heldout'])} | {_f(s['psnr_gain_suggested'], sign=True)} | {_f(s['psnr_gain_heldout'], sign=True)} | "
                 f"{_f(s['ssim_neutral'], 4)} | {_f(s['ssim_suggested'], 4)} | {_f(s['ssim_heldout'], 4)} | "
                 f"{_f(s['ssim_gain_suggested'], 4, True)} | {_f(s['ssim_gain_heldout'], 4, True)} |")
    L += ["", "### NIQE (lower is better) and wrong-type prompts", "",
          "NIQE of the clean pair fused neutrally (the reference), of the degraded pair fused neutrally and with "
          "the suggested prompt. Wrong type: the suggested sentence of a type the input does not have; "
          "Δ = PSNR(wrong) − PSNR(neutral) on the degraded pair; on the clean pair, the PSNR of the "
          "wrong-prompt output to the neutral one (the reference itself).", "",
          "| type | wrong prompt type | NIQE clean | NIQE degraded, neutral | NIQE degraded, suggested | "
          "wrong Δ degraded (dB) | wrong on clean: PSNR to reference | wrong on clean: SSIM |",
          "|---|---|---:|---:|---:|---:|---:|---:|"]
    for t, s in pt.items():
        wts = ", ".join(dict.fromkeys(r["prompts"]["wrong_type"] for r in records if r["degradation"] == t))
        L.append(f"| {t} | {wts} | {_f(s['niqe_clean'])} | {_f(s['niqe_neutral'])} | {_f(s['niqe_suggested'])} | "
                 f"{_f(s['psnr_gain_wrong'], sign=True)} | {_f(s['psnr_clean_wrong'])} | {_f(s['ssim_clean_wrong'], 4)} |")
    L += ["", "### Issue-9 targets per type", "",
          f"(1) suggested − neutral ≥ {T_SUGGESTED_DB} dB PSNR and SSIM gain > 0; (2) held-out − neutral ≥ "
          f"{T_HELDOUT_DB} dB; (3) NIQE(suggested) < NIQE(degraded, neutral); (4) NIQE(suggested) ≤ NIQE(clean) + "
          f"{T_NIQE_MARGIN}; (5) wrong type Δ ≥ {T_WRONG_DB} dB (on the degraded pair; see the notes).", "",
          "| type | (1) suggested | (2) held-out | (3) NIQE < degraded | (4) NIQE ≤ clean + 0.5 | (5) wrong type | all |",
          "|---|---|---|---|---|---|---|"]
    for t, s in pt.items():
        tg = s["targets"]
        L.append(f"| {t} | {_yn(tg['suggested'])} | {_yn(tg['heldout'])} | {_yn(tg['niqe_vs_degraded'])} | "
                 f"{_yn(tg['niqe_vs_clean'])} | {_yn(tg['wrong'])} | {_yn(all(tg.values()))} |")
    o = agg["overall"]
    n_all = sum(all(s["targets"].values()) for s in pt.values())
    L += ["", f"All targets met for {n_all} of {len(pt)} types. Over all {o['n']} cases: gain suggested "
          f"{_f(o['psnr_gain_suggested'], sign=True)} dB (SSIM {_f(o['ssim_gain_suggested'], 4, True)}), held-out "
          f"{_f(o['psnr_gain_heldout'], sign=True)} dB, wrong type {_f(o['psnr_gain_wrong'], sign=True)} dB; mean NIQE "
          f"clean {_f(o['niqe_clean'])}, degraded neutral {_f(o['niqe_neutral'])}, degraded suggested "
          f"{_f(o['niqe_suggested'])} (target (4) over all: "
          f"{_yn(o['niqe_suggested'] <= o['niqe_clean'] + T_NIQE_MARGIN)}).", "",
          "### Per type and source", "",
          "| type | source | n | gain suggested | gain held-out | SSIM gain suggested | wrong Δ | NIQE clean | NIQE neutral | NIQE suggested |",
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key, s in agg["per_source"].items():
        t, src = key.split(" | ")
        L.append(f"| {t} | {src} | {s['n']} | {_f(s['psnr_gain_suggested'], sign=True)} | {_f(s['psnr_gain_heldout'], sign=True)} | "
                 f"{_f(s['ssim_gain_suggested'], 4, True)} | {_f(s['psnr_gain_wrong'], sign=True)} | {_f(s['niqe_clean'])} | "
                 f"{_f(s['niqe_neutral'])} | {_f(s['niqe_suggested'])} |")
    L += ["", "### Comparison images (first case of each type)", "",
          "visible input | infrared input (each marked degraded or clean) | fused, neutral | fused, suggested prompt | "
          "clean pair fused (reference)", ""]
    for r in records:
        if "image" in r:
            L.append(f"**{r['degradation']}** — {r['name']}  ")
            L.append(f"![{r['degradation']}]({r['image']})")
            L.append("")
    return "\n".join(L)


def comparison_section(labels: list[str], aggs: dict[str, dict]) -> str:
    types = list(dict.fromkeys(t for lab in labels for t in aggs[lab]["per_type"]))
    head = ["type"]
    for what in ("gain suggested (dB)", "gain held-out (dB)", "SSIM gain suggested", "NIQE suggested"):
        head += [f"{what}, {lab}" for lab in labels]
    L = ["## Side by side", "", "| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for t in types:
        row = [t]
        for key, nd, sign in (("psnr_gain_suggested", 2, True), ("psnr_gain_heldout", 2, True),
                              ("ssim_gain_suggested", 4, True), ("niqe_suggested", 2, False)):
            for lab in labels:
                s = aggs[lab]["per_type"].get(t)
                row.append(_f(s[key], nd, sign) if s else "—")
        L.append("| " + " | ".join(row) + " |")
    return "\n".join(L)


def header(args, cases: list, selected: list) -> str:
    from collections import Counter

    cnt = Counter((c.degradation, c.source) for c in selected)
    L = ["# Real-data restoration validation (issue 9)", "",
         "Generated by `python benchmarks/eval_real.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]) + "`.", "",
         f"{len(selected)} of the {len(cases)} cases of `textif.data.realval.real_validation_cases` "
         + (f"(at most {args.limit_per_type} per type, spread over sources and frames)" if args.limit_per_type else "(all)")
         + ": " + ", ".join(f"{t} {s} {n}" for (t, s), n in cnt.items()) + ".", "",
         "Method: the reference is the model's own fusion of the clean pair with the neutral prompt "
         "(\"Fuse the infrared and visible images.\"); the degraded pair is fused with the neutral prompt, the "
         "suggested prompt of its type, one held-out wording of the type (fixed per case, seeded) and a "
         "wrong-type prompt (the suggested sentence of the next type of the same modality, cyclic, that "
         "the input does not show); the clean pair is also fused with the wrong-type prompt. PSNR/SSIM: RGB, "
         "data range 1; NIQE: grey levels of the 8-bit output.", "",
         "Notes on the data:", "",
         "* **No overexposure case**: real overexposed images (EMS/test `vis_OE`) have no clean ground truth.",
         "* **DRMF/val is `noise+ir_noise`, not low light**: its \"clean\" visible frames are as dark as the "
         "degraded ones (mean luminance 0.08–0.12 in both); the degraded pair adds mild visible noise and "
         "infrared noise with column stripes (counted as an extra type, not prompted).",
         "* **M3SVD `ir_noise`** has column stripes as well (extra type `ir_stripe`) and is 30–40 grey levels "
         "brighter than its clean frame.",
         "* EMS's clean infrared of 00005N is very dark (mean 0.03); its `ir_LC` version is mostly a "
         "brightened copy, so \"enhance the contrast\" is judged against a darker reference.",
         "* Target (5) \"a sentence naming a degradation the input does not have changes PSNR by no more than "
         "−0.5 dB\" is judged on the degraded pair (wrong − neutral): on the clean pair the neutral output is "
         "the reference itself (PSNR = ∞), so there the table gives the PSNR of the wrong-prompt output to it.",
         ]
    return "\n".join(L)


def model_label(spec: str, taken: set[str]) -> str:
    p = Path(spec)
    base = p.name if p.exists() else spec
    base = base or "model"
    lab, k = base, 2
    while lab in taken:
        lab, k = f"{base}-{k}", k + 1
    taken.add(lab)
    return lab


def _clean_json(x):
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return None
    if isinstance(x, dict):
        return {k: _clean_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean_json(v) for v in x]
    if isinstance(x, (np.floating, np.integer)):
        return _clean_json(x.item())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    return x


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True, help="preset name or checkpoint folder (repeat to compare)")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "model-eval" / "real"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit-per-type", type=int, default=None, help="at most N cases per type (default: all)")
    ap.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx"))
    ap.add_argument("--seed", type=int, default=0, help="seed of the held-out wording choice")
    args = ap.parse_args(argv)
    if args.limit_per_type is not None and args.limit_per_type < 1:
        ap.error("--limit-per-type must be at least 1")

    import torch

    torch.set_num_threads(args.threads)
    import textif
    from textif.core.errors import TextIFError
    from textif.data.realval import real_validation_cases

    try:
        cases = real_validation_cases(args.data)
    except TextIFError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    selected = select_cases(cases, args.limit_per_type)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    labels: list[str] = []
    taken: set[str] = set()
    results: dict[str, dict] = {}
    for spec in args.model:
        label = model_label(spec, taken)
        labels.append(label)
        fuser = textif.load(spec, device="cpu", backend=args.backend, threads=args.threads, progress=False)
        t0 = time.perf_counter()
        records = evaluate_model(fuser, selected, label, out, args.seed, Path(args.data))
        info = {"model": spec, "backend": fuser.backend, "threads": args.threads, "cases": len(records),
                "seconds": time.perf_counter() - t0}
        agg = aggregate(records)
        results[label] = {"info": info, "summary": agg, "cases": records}
        print(model_section(label, info, agg, records), flush=True)

    parts = [header(args, cases, selected)]
    if len(labels) > 1:
        parts.append(comparison_section(labels, {lab: results[lab]["summary"] for lab in labels}))
    parts += [model_section(lab, results[lab]["info"], results[lab]["summary"], results[lab]["cases"]) for lab in labels]
    report = "\n\n".join(parts) + "\n"
    if len(labels) > 1:
        print(parts[1], flush=True)
    (out / "report.md").write_text(report)
    meta = {"command": "python benchmarks/eval_real.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "data": str(args.data), "limit_per_type": args.limit_per_type, "seed": args.seed, "threads": args.threads,
            "n_cases_total": len(cases), "n_cases": len(selected),
            "targets": {"suggested_db": T_SUGGESTED_DB, "heldout_db": T_HELDOUT_DB, "niqe_margin": T_NIQE_MARGIN,
                        "wrong_db": T_WRONG_DB}}
    (out / "real.json").write_text(json.dumps(_clean_json({"meta": meta, "models": results}), indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {out / 'report.md'} and {out / 'real.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
