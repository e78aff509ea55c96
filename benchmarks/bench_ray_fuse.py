"""Folder throughput of the Ray engine with 1 and 2 workers against single-process fusion, in one run.

    python benchmarks/bench_ray_fuse.py [--pairs 24] [--model textif-small] [--cpus 2] [--workers 1,2] [--threads 1] [--rounds 2]

Fuses the first ``--pairs`` RoadScene pairs (../shared/data/RoadScene) with the shipped model and
neutral text, into fresh temporary folders:

- single process: ``textif.load`` + ``Fuser.fuse_folder`` with each of ``--threads`` torch threads
  (the first run of the first is the baseline of the ratios);
- Ray: ``textif.distributed.fuse_folder`` on a local Ray instance with ``--cpus`` CPUs, one CPU
  (one torch thread) per worker.

The configurations run in turn, ``--rounds`` times, so that a machine whose load drifts (a
shared one) shows the drift in the table instead of favouring one configuration. Ray sets a worker's thread count to its CPUs (1), so its outputs are compared pixel for pixel
with the 1-thread single-process outputs (another thread count sums floats in another order and
may move a few values by one step). Prints a Markdown table: whole-job seconds (model loading and, for Ray, worker start-up included,
Ray's own start-up not), pairs/s over the whole job, and steady pairs/s (between the first and
the last finished pair, i.e. without start-up), each with its ratio to the baseline.
"""
from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "RoadScene"


def subset(folder: Path, n: int) -> tuple[Path, Path]:
    names = sorted(p.name for p in (DATA / "vis").iterdir())[:n]
    for sub in ("vis", "ir"):
        (folder / sub).mkdir(parents=True)
        for name in names:
            (folder / sub / name).symlink_to(DATA / sub / name)
    return folder / "vis", folder / "ir"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=24)
    ap.add_argument("--model", default="textif-small")
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--threads", default="1", help="torch threads of the single-process runs, e.g. 1,2")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    import cv2
    import ray
    import torch

    import textif
    from textif.distributed import fuse_folder

    tmp = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    try:
        vis, ir = subset(tmp / "in", args.pairs)
        rows = []
        base: dict[str, float] = {}

        def single(k: int, label: str) -> int:
            torch.set_num_threads(k)
            out = tmp / f"single{k}"
            shutil.rmtree(out, ignore_errors=True)
            t0 = time.perf_counter()
            fuser = textif.load(args.model, device="cpu")
            rep = fuser.fuse_folder(vis, ir, out, progress=False)
            total = time.perf_counter() - t0
            n = len(rep.written)
            base.setdefault("job", n / total)
            base.setdefault("steady", n / rep.seconds)
            base.setdefault("threads", k)
            rows.append((f"{label}, {k} thread{'s' if k != 1 else ''}", k, total, n / total, n / rep.seconds))
            print(f"{label}, {k} thread(s): {total:.1f} s", flush=True)
            return n

        threads = [int(x) for x in args.threads.split(",")]
        t0 = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
        print(f"Ray start-up: {time.perf_counter() - t0:.1f} s (not counted below)")
        for rnd in range(1, args.rounds + 1):
            for k in threads:
                n = single(k, f"round {rnd}: single process")
            for w in (int(x) for x in args.workers.split(",")):
                out = tmp / f"ray{w}"
                shutil.rmtree(out, ignore_errors=True)
                stamps: list[float] = []
                t0 = time.perf_counter()
                r = fuse_folder(vis, ir, out, model=args.model, device="cpu", workers=w, progress=False,
                                on_record=lambda rec: stamps.append(time.perf_counter()))
                total = time.perf_counter() - t0
                assert len(r.written) == n and not r.failed, r.failed
                steady = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else float("nan")
                label = f"round {rnd}: Ray, {w} worker{'s' if w != 1 else ''}"
                rows.append((label, w, total, n / total, steady))
                worst = max(
                    int(np.abs(cv2.imread(str(p)).astype(int) - cv2.imread(str(tmp / f"single{threads[0]}" / p.name)).astype(int)).max())
                    for p in out.glob("*.png")
                )
                print(f"{label}: {total:.1f} s; largest difference to single process "
                      f"({threads[0]} thread{'s' if threads[0] != 1 else ''}): {worst}/255", flush=True)
        ray.shutdown()
        print(f"\n{n} RoadScene pairs, model {args.model}, CPU, {args.cpus} CPUs for Ray\n")
        print("| engine | threads / workers | job s | pairs/s (job) | × | pairs/s (steady) | × |")
        print("|---|---|---|---|---|---|---|")
        for name, k, total, job, steady in rows:
            print(f"| {name} | {k} | {total:.1f} | {job:.2f} | {job / base['job']:.2f} | {steady:.2f} | {steady / base['steady']:.2f} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
