"""Time of one detector diagnosis of a 640x480 pair (images in memory), beside the time of one
``textif-small`` fusion of the same pair measured in the same run.

    PYTHONPATH=$PWD python benchmarks/bench_detect.py [--threads 2] [--runs 30]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch


def timed(fn, runs: int) -> list[float]:
    for _ in range(3):
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    import textif
    from textif.detect import Detector

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:480, 0:640].astype(np.float32)
    vis = np.stack([0.5 + 0.3 * np.sin(xx / (20 + 5 * k)) * np.cos(yy / 30) for k in range(3)], -1)
    vis = np.clip(vis + rng.normal(0, 0.01, vis.shape), 0, 1).astype(np.float32)
    ir = np.clip(0.4 + 0.3 * np.cos(xx / 17) * np.sin(yy / 13), 0, 1).astype(np.float32)
    det = Detector.load()
    d = timed(lambda: det.diagnose(vis, ir), args.runs)
    fuser = textif.load(device="cpu")
    text = det.diagnose(vis, ir).text
    f = timed(lambda: fuser.fuse(vis, ir, text), max(3, args.runs // 10))
    md, mf = statistics.median(d), statistics.median(f)
    print(f"threads {args.threads}, 640x480 pair, median of {args.runs} / {max(3, args.runs // 10)} runs")
    print(f"detector (diagnose)    {1000 * md:8.1f} ms")
    print(f"textif-small fuse      {1000 * mf:8.1f} ms")
    print(f"detector / fusion      {md / mf:8.3f}")


if __name__ == "__main__":
    main()
