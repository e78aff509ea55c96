"""Time to score the RoadScene validation pairs with every built-in metric.

The fused image of each pair is the pixel-max baseline (luminance maximum with the visible colour,
the peers table's ``classic_max``). Prints the end-to-end time (reading the images and all 15
metrics), a per-metric breakdown, and the mean scores next to the peers table's classic_max row.

    OMP_NUM_THREADS=1 python benchmarks/bench_metrics.py [--data ../shared/data] [--split splits/roadscene_val.txt]
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from textif.metrics import DEFAULT_METRICS, create_metric  # noqa: E402
from textif.metrics.baselines import write_baselines  # noqa: E402
from textif.metrics.io import load_image, load_triplet  # noqa: E402
from textif.metrics.runner import Method, score_folders  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--split", default="splits/roadscene_val.txt", help="names file, relative to --data")
    ap.add_argument("--peers", type=Path, default=REPO.parent / "shared" / "benchmarks" / "peers_RoadSceneVal45.csv")
    ap.add_argument("--repeat", type=int, default=3, help="end-to-end repetitions (best is reported)")
    args = ap.parse_args()

    names = [l.strip() for l in (args.data / args.split).read_text().splitlines() if l.strip()]
    root = args.data / "RoadScene"
    pairs = {Path(n).stem: (root / "vis" / n, root / "ir" / n) for n in names}
    metrics = [create_metric(n) for n in DEFAULT_METRICS]
    print(f"{len(pairs)} pairs from {args.split}; {len(metrics)} metrics: {', '.join(m.name for m in metrics)}")
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, {os.cpu_count()} CPU(s) visible")

    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as tmp:
        t0 = time.perf_counter()
        folders = write_baselines(pairs, Path(tmp), ["max"])
        t_fuse = time.perf_counter() - t0
        method = Method("classic_max", {s: folders["max"] / f"{s}.png" for s in pairs})

        times = []
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            report = score_folders(pairs, [method], metrics)
            times.append(time.perf_counter() - t0)
        best = min(times)

        # per-metric breakdown on preloaded images
        triplets = [
            load_triplet(method.files[s], load_image(ir, "ir"), load_image(vis, "vis")) for s, (vis, ir) in pairs.items()
        ]
        per_metric = {}
        for m in metrics:
            t0 = time.perf_counter()
            for t in triplets:
                m.compute(t)
            per_metric[m.name] = time.perf_counter() - t0

    res = report.methods[0]
    print(f"\nbaseline fusion (pixel max, {len(pairs)} PNGs written): {t_fuse:.2f} s")
    print(f"scoring {len(res.per_image)} pairs with all metrics (read + score): best {best:.2f} s of {len(times)} "
          f"({best / len(pairs) * 1000:.0f} ms/pair); runs: {', '.join(f'{t:.2f}' for t in times)} s")
    print("\nper metric, 45 pairs (images preloaded):")
    for n, t in sorted(per_metric.items(), key=lambda kv: -kv[1]):
        print(f"  {n:8s} {t:6.3f} s  ({t / len(pairs) * 1000:5.1f} ms/pair)")

    peers = {}
    if args.peers.is_file():
        with open(args.peers, newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["method"] == "classic_max" and r["status"] == "ok"]
        for m in metrics:
            vals = [float(r[m.display]) for r in rows if m.display in r]
            if vals:
                peers[m.name] = float(np.mean(vals))
    print("\nmean over the pairs (classic_max) vs the peers table's classic_max:")
    for m in metrics:
        ours = res.summary(m.name)[0]
        ref = peers.get(m.name)
        extra = f"  peers {ref:10.4f}  diff {ours - ref:+.2e}" if ref is not None else ""
        print(f"  {m.display:8s} {ours:10.4f}{extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
