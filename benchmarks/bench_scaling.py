"""How fusion time grows with image size (issue 9: time at 1920x1080 at most 8x the time at 640x480).

    python benchmarks/bench_scaling.py [--model textif-fast] [--backends onnx,torch] [--repeats 5]

For each backend one Fuser is loaded and warmed up at every size; then the sizes are fused in
turn, ``--repeats`` rounds, so that a slow moment of a shared machine falls on all sizes alike
(``bench_fuse.py`` times each size in its own process, one run for the large ones, and its
ratios moved between 7.3x and 8.6x from run to run). Prints the median and minimum per size and
each size's ratio to the first size (of the medians, and of the minima, which a busy moment
moves less), beside the ratio of pixels.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def _size(s: str) -> tuple[int, int]:
    w, h = s.lower().split("x")
    return int(w), int(h)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="preset or checkpoint folder (default: the default model)")
    ap.add_argument("--backends", default="onnx,torch")
    ap.add_argument("--sizes", default="640x480,1920x1080")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    import textif

    sizes = [_size(s) for s in args.sizes.split(",")]
    rng = np.random.default_rng(0)
    pairs = {(w, h): (rng.random((h, w, 3), dtype=np.float32), rng.random((h, w), dtype=np.float32)) for w, h in sizes}
    text = "Fuse the infrared and visible images."
    rows = []
    for backend in args.backends.split(","):
        fuser = textif.load(args.model, backend=backend, threads=args.threads)
        for p in pairs.values():  # warm-up: export, session, caches
            fuser.fuse(*p, text=text)
        times: dict[tuple[int, int], list[float]] = {s: [] for s in sizes}
        for _ in range(args.repeats):
            for s, p in pairs.items():
                t0 = time.perf_counter()
                fuser.fuse(*p, text=text)
                times[s].append(time.perf_counter() - t0)
        base, base_min = statistics.median(times[sizes[0]]), min(times[sizes[0]])
        for (w, h), ts in times.items():
            med = statistics.median(ts)
            rows.append((backend, f"{w}x{h}", med, min(ts), med / base, min(ts) / base_min,
                         w * h / (sizes[0][0] * sizes[0][1])))
    print(f"model {args.model or 'default'}, {args.threads} threads, {args.repeats} rounds")
    print("| backend | size | median (s) | min (s) | time ratio (medians) | time ratio (minima) | pixel ratio |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for b, s, med, mn, r, rm, pr in rows:
        print(f"| {b} | {s} | {med:.3f} | {mn:.3f} | {r:.2f}x | {rm:.2f}x | {pr:.2f}x |")


if __name__ == "__main__":
    main()
