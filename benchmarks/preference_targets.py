"""What the modality-preference loss aims at, scored as if a network had learned it exactly.

    python benchmarks/preference_targets.py [--reach 1 0.5] [--weights 0 0.25 0.5 0.75 1]
        [--data ../shared/data] [--limit N] [--out DIR]

For each ``preference.reach`` and slider setting ``ir_weight``, the luminance target of the
intensity term (:func:`textif.losses.fusion.preference_target` at
:func:`textif.data.preference.loss_ir_weight`) is built for every RoadScene val pair and scored like
a fused image in ``benchmarks/eval_preference.py``: corr(target, IR), corr(target, visible Y), SD and
SCD (``create_metric``). It shows which of issue 10's measures of the infrared contribution can rise
monotonically for a network that follows its loss: with ``reach`` 1 the target at ``ir_weight`` 1
is the infrared image itself, whose SCD is undefined (the fused-minus-infrared difference is zero);
with smaller reaches the ends are mixtures, whose SD is lower than either image's. Prints
Markdown; ``--out`` also writes ``report.md`` and ``targets.json``.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_preference import corr, luma, u8, val_pairs  # noqa: E402


def target_table(data: Path, reaches: list[float], weights: list[float], limit: int | None) -> dict[str, dict[str, float]]:
    """``{"reach R, ir_weight W": {"corr_ir", "corr_vis", "sd", "scd"}}``, means over the pairs
    (SCD: over the pairs where it is defined)."""
    import torch

    from textif.core.io import read_image
    from textif.data.preference import loss_ir_weight
    from textif.losses.fusion import preference_target
    from textif.metrics import create_metric

    sd, scd = create_metric("sd"), create_metric("scd")
    rows: dict[str, dict[str, list[float]]] = {}
    for v, i in val_pairs(data, limit).values():
        vis = read_image(v, channels=3)
        ir = read_image(i, channels=1)
        if ir.shape != vis.shape[:2]:
            continue
        y = luma(vis)
        ty, ti = torch.from_numpy(y)[None, None], torch.from_numpy(ir)[None, None]
        for r in reaches:
            for w in weights:
                lw = loss_ir_weight(torch.tensor([w], dtype=ty.dtype), r).reshape(1, 1, 1, 1)
                t = preference_target(ty, ti, lw)[0, 0].numpy()
                row = rows.setdefault(f"reach {r:g}, ir_weight {w:g}", {k: [] for k in ("corr_ir", "corr_vis", "sd", "scd")})
                row["corr_ir"].append(corr(t, ir))
                row["corr_vis"].append(corr(t, y))
                row["sd"].append(sd(u8(t)))
                with warnings.catch_warnings():  # undefined where the target is one image (nan, noted)
                    warnings.simplefilter("ignore")
                    row["scd"].append(scd(u8(t), ir=u8(ir), vis=u8(y)))
    return {k: {m: float(np.nanmean(x)) if np.isfinite(x).any() else float("nan") for m, x in row.items()}
            for k, row in rows.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reach", type=float, nargs="+", default=[1.0, 0.5])
    ap.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)

    table = target_table(Path(a.data), a.reach, sorted(a.weights), a.limit)
    keys = ("corr_ir", "corr_vis", "sd", "scd")
    lines = ["### The preference loss's luminance target on RoadScene val, scored as a fused image", "",
             "| reach | ir_weight | " + " | ".join(k.upper() if k in ("sd", "scd") else k for k in keys) + " |",
             "|---:|---:|" + "---:|" * len(keys)]
    mono: dict[str, dict[str, bool]] = {}
    for r in a.reach:
        rows = [table[f"reach {r:g}, ir_weight {w:g}"] for w in sorted(a.weights)]
        for w, row in zip(sorted(a.weights), rows):
            lines.append(f"| {r:g} | {w:g} | " + " | ".join("undefined" if np.isnan(row[k]) else f"{row[k]:.4f}" for k in keys) + " |")
        # nan (undefined) never counts as a rise
        mono[f"{r:g}"] = {k: all(x[k] < y[k] for x, y in zip(rows, rows[1:])) for k in ("corr_ir", "sd", "scd")}
    lines.append("")
    for r, m in mono.items():
        lines.append(f"reach {r}: rises monotonically with ir_weight: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in m.items()))
    report = "\n".join(lines)
    print(report)
    if a.out:
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.md").write_text(report + "\n")
        (out / "targets.json").write_text(json.dumps({"table": table, "monotonic": mono}, indent=2, allow_nan=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
