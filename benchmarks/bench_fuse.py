"""Fusion speed and peak memory per preset and image size, against a reference configuration
that behaves like the official Text-IF code (textif-paper layer sizes, full (HW)^2 spatial
attention, input resized to a multiple of 16) measured in the same run.

    python benchmarks/bench_fuse.py [--threads 2] [--presets textif-small,textif-base] [--quick]

Each measurement runs in a fresh subprocess so that its peak resident memory (ru_maxrss) is
its own. Weights are random (speed does not depend on them). Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

SIZES = {"640x480": (480, 640), "1920x1080": (1080, 1920), "3840x2160": (2160, 3840)}


def child(preset: str, h: int, w: int, threads: int, repeats: int, mode: str) -> None:
    import resource

    import numpy as np
    import torch

    torch.set_num_threads(threads)
    from textif.inference.fuser import Fuser
    from textif.models.hub import resolve_model

    overrides = {"full_attention": True} if mode == "reference" else {}
    ck = resolve_model(preset, **overrides)
    fuser = Fuser(ck, device="cpu", allow_untrained=True)
    rng = np.random.default_rng(0)
    vis = torch.from_numpy(rng.random((1, 3, h, w), dtype=np.float32))
    ir = torch.from_numpy(rng.random((1, 1, h, w), dtype=np.float32))
    emb = torch.randn(1, ck.model.config.text_dim)
    if mode == "reference":
        # the official code resizes the input to a multiple of 16 and runs the whole image at once
        hh, ww = max(16, round(h / 16) * 16), max(16, round(w / 16) * 16)
        vis = torch.nn.functional.interpolate(vis, size=(hh, ww), mode="bilinear")
        ir = torch.nn.functional.interpolate(ir, size=(hh, ww), mode="bilinear")
        fuser.max_pixels = 1 << 62
    times = []
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        out = fuser.fuse_tensor(vis, ir, emb)
        times.append(time.perf_counter() - t0)
    assert out.shape[-2:] == vis.shape[-2:]
    tiled = (h * w > fuser.max_pixels)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB on Linux
    steady = times[1:] if repeats else times
    print(json.dumps({"seconds": float(np.median(steady)), "first": times[0], "peak_mib": peak, "tiled": tiled}))


def run(preset: str, size: str, threads: int, repeats: int, mode: str, timeout: float) -> dict:
    h, w = SIZES[size]
    cmd = [sys.executable, __file__, "--child", preset, str(h), str(w), str(threads), str(repeats), mode]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s"}
    if p.returncode != 0:
        tail = (p.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": "killed (out of memory?)" if p.returncode < 0 else tail[:80]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--presets", default="textif-small,textif-base,textif-paper")
    ap.add_argument("--sizes", default=",".join(SIZES))
    ap.add_argument("--quick", action="store_true", help="one timed run per cell and no reference beyond 640x480")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        preset, h, w, threads, repeats, mode = a.child
        child(preset, int(h), int(w), int(threads), int(repeats), mode)
        return
    import torch

    print(f"# textif fusion benchmark: CPU, {a.threads} threads, torch {torch.__version__}, random weights")
    print()
    rows = []
    cells = [("textif-paper", "640x480", "reference")]
    for preset in a.presets.split(","):
        for size in a.sizes.split(","):
            if preset == "textif-paper" and size != "640x480":
                continue  # ~3 TFLOP per 640x480 image: larger sizes take tens of minutes on a CPU
            cells.append((preset, size, "textif"))
    results = {}
    for preset, size, mode in cells:
        repeats = 1 if (a.quick or size != "640x480" or preset == "textif-paper") else 3
        r = run(preset, size, a.threads, repeats if mode == "textif" else 0, mode, a.timeout)
        results[(preset, size, mode)] = r
        label = f"{preset} (official-like reference)" if mode == "reference" else preset
        print(f"  measured {label} @ {size}: {r}", file=sys.stderr, flush=True)
        rows.append((label, size, r))
    ref = results[("textif-paper", "640x480", "reference")].get("seconds")
    print("| model | size | tiled | time (s) | peak RSS (MiB) | speed-up vs reference @640x480 |")
    print("|---|---|---|---:|---:|---:|")
    for label, size, r in rows:
        if "error" in r:
            print(f"| {label} | {size} | | {r['error']} | | |")
            continue
        ratio = f"{ref / r['seconds']:.0f}x" if ref and size == "640x480" else ""
        print(f"| {label} | {size} | {'yes' if r['tiled'] else 'no'} | {r['seconds']:.2f} | {r['peak_mib']:.0f} | {ratio} |")


if __name__ == "__main__":
    main()
