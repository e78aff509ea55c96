"""Fusion speed and peak memory: the torch and ONNX Runtime backends side by side, against the
torch path as it was before the speed work ("torch, plain": contiguous NCHW, ``no_grad``) and a
reference configuration that behaves like the official Text-IF code (textif-paper layer sizes,
full (HW)^2 spatial attention, input resized to a multiple of 16), all measured in the same run;
then the wall time of a cold ``textif fuse`` of one pair per backend.

    python benchmarks/bench_fuse.py [--threads 2] [--presets textif-small] [--sizes 640x480,1920x1080,3840x2160]
                                    [--file-sizes 7680x4320] [--device cuda]

Each cell runs in a fresh subprocess so that its peak resident memory (ru_maxrss) is its own.
Tensor cells time ``Fuser.fuse_tensor`` (median of the runs after a warm-up); file cells time
``Fuser.fuse_file`` on PNGs written beforehand (read, tile, write: the whole pipeline). Presets
with shipped weights use them; others use random weights (speed does not depend on them).
Prints Markdown tables. On a GPU (``--device cuda``) it reports frames per second for torch
fp32/fp16/bf16 and ONNX Runtime's CUDA provider when onnxruntime-gpu is installed.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZES = {"640x480": (480, 640), "1920x1080": (1080, 1920), "3840x2160": (2160, 3840), "7680x4320": (4320, 7680)}
MODES = {
    "reference": "official-like reference (textif-paper, full attention)",
    "plain": "torch, plain (before)",
    "torch": "torch",
    "onnx": "ONNX Runtime",
}


def _load(preset: str, mode: str, device: str, precision: str, threads: int):
    from textif.inference.fuser import Fuser, load
    if mode == "reference":
        from textif.models.hub import resolve_model

        return Fuser(resolve_model(preset, full_attention=True), device=device, allow_untrained=True, threads=threads,
                     progress=False, max_megapixels=None)
    backend = "torch" if mode == "plain" else mode
    return load(preset, device=device, precision=precision, backend=backend, allow_untrained=True, threads=threads,
                progress=False, max_megapixels=None)


def child(preset: str, h: int, w: int, threads: int, repeats: int, mode: str, device: str, precision: str, kind: str) -> None:
    import resource

    import numpy as np

    if mode in ("reference", "plain", "torch") or device != "cpu":
        import torch

        torch.set_num_threads(threads)
    fuser = _load(preset, mode, device, precision, threads)
    if kind == "file":
        folder = Path(sys.argv[-1])
        t0 = time.perf_counter()
        fuser.fuse_file(folder / "vis.png", folder / "ir.png", folder / f"out-{mode}.png")
        seconds = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"seconds": seconds, "peak_mib": peak, "tiled": fuser.tile_count(h, w) > 1}))
        return
    rng = np.random.default_rng(0)
    vis = rng.random((1, 3, h, w), dtype=np.float32)
    ir = rng.random((1, 1, h, w), dtype=np.float32)
    emb = rng.standard_normal((1, fuser.text_dim), dtype=np.float32)  # any sentence costs the same
    if mode == "reference":  # the official code resizes to a multiple of 16 and runs the whole image at once
        import torch

        hh, ww = max(16, round(h / 16) * 16), max(16, round(w / 16) * 16)
        vis = torch.nn.functional.interpolate(torch.from_numpy(vis), size=(hh, ww), mode="bilinear").numpy()
        ir = torch.nn.functional.interpolate(torch.from_numpy(ir), size=(hh, ww), mode="bilinear").numpy()
        fuser.max_pixels = 1 << 62
    if mode in ("plain", "reference"):  # the torch path before: contiguous NCHW under no_grad, text MLPs every call
        import torch

        from textif.inference.tiling import padded_forward, tiled_forward

        net = fuser.checkpoint.model.to(memory_format=torch.contiguous_format)
        t = torch.from_numpy(emb)

        def run(v, i):
            with torch.no_grad():
                return net(v, i, t)

        def fuse(v, i):
            tile = fuser.tile_size(h, w)
            if tile:
                return tiled_forward(run, v, i, multiple=fuser.multiple, tile=tile, overlap=fuser.tile_overlap)
            return padded_forward(run, v, i, fuser.multiple)

        vis, ir = torch.from_numpy(vis), torch.from_numpy(ir)
    else:
        if device != "cpu":
            import torch

            vis, ir = torch.from_numpy(vis).to(device), torch.from_numpy(ir).to(device)

        def fuse(v, i):
            return fuser.fuse_tensor(v, i, emb) if device != "cpu" else fuser._run(v, i, emb, None)

    times, cpu = [], []
    for _ in range(repeats + 1):
        if device != "cpu":
            torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time()
        out = fuse(vis, ir)
        if device != "cpu":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    assert out.shape[-2:] == vis.shape[-2:]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB on Linux
    steady = times[1:] if repeats else times
    cpu_steady = cpu[1:] if repeats else cpu
    print(json.dumps({"seconds": float(statistics.median(steady)), "first": times[0], "peak_mib": peak,
                      "cpu_seconds": float(statistics.median(cpu_steady)),
                      "tiled": fuser.tile_count(h, w) > 1}))


def run_cell(preset: str, size: str, threads: int, repeats: int, mode: str, timeout: float, device: str = "cpu",
             precision: str = "fp32", kind: str = "tensor", folder: str = "-") -> dict:
    h, w = SIZES[size]
    cmd = [sys.executable, __file__, "--child", preset, str(h), str(w), str(threads), str(repeats), mode, device,
           precision, kind, folder]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s"}
    if p.returncode != 0:
        tail = (p.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": "killed (out of memory?)" if p.returncode < 0 else tail[:100]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def cold_cli(backend: str, threads: int, runs: int = 3) -> float:
    """Median wall time of ``python -m textif.cli.main fuse`` on one 640x480 example pair (warm caches)."""
    out = Path(tempfile.mkdtemp()) / "fused.png"
    cmd = [sys.executable, "-m", "textif.cli.main", "fuse", "--vis", str(REPO / "examples/vis/00016N.png"),
           "--ir", str(REPO / "examples/ir/00016N.png"), "-o", str(out), "--backend", backend,
           "--threads", str(threads), "-q"]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run(cmd, check=True, env=env, capture_output=True)  # warm: export, text and file caches
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, env=env, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _png_header(path: Path, w: int, h: int) -> None:
    """A PNG whose header claims w x h (8-bit gray) with almost no pixel data: enough for the size check."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def refusal_cli(runs: int = 3) -> tuple[float, str]:
    """Median wall time of a ``textif fuse`` process asked to fuse a 15000x15000 (225 MP) pair, which
    it must refuse from the file headers; and the message it printed."""
    folder = Path(tempfile.mkdtemp(prefix="bench-225mp-"))
    for name in ("vis.png", "ir.png"):
        _png_header(folder / name, 15000, 15000)
    cmd = [sys.executable, "-m", "textif.cli.main", "fuse", "--vis", str(folder / "vis.png"), "--ir", str(folder / "ir.png"),
           "-o", str(folder / "out.png"), "-q"]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    times, message = [], ""
    for _ in range(runs + 1):  # the first run warms the file cache
        t0 = time.perf_counter()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if r.returncode == 0:
            raise RuntimeError("the 225 MP pair was not refused")
        message = (r.stderr or r.stdout).strip().splitlines()[-1]
    return statistics.median(times[1:]), message


def write_pair(size: str) -> str:
    import numpy as np

    from textif.core.io import write_image

    h, w = SIZES[size]
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{size}-"))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    vis = np.stack([0.5 + 0.3 * np.sin(xx / (23 + 7 * k)) * np.cos(yy / 31.0) for k in range(3)], axis=-1)
    write_image(folder / "vis.png", vis)
    del vis
    write_image(folder / "ir.png", 0.4 + 0.35 * np.cos(xx / 17.0) * np.sin(yy / 13.0))
    return str(folder)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--presets", default="textif-small")
    ap.add_argument("--sizes", default="640x480,1920x1080,3840x2160")
    ap.add_argument("--file-sizes", default="", help="sizes fused file to file (e.g. 7680x4320 for the 8K memory check)")
    ap.add_argument("--modes", default="plain,torch,onnx")
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--no-cli", action="store_true")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs after a warm-up at 640x480 (larger sizes: one run)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--child", nargs=10, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        preset, h, w, threads, repeats, mode, device, precision, kind, _ = a.child
        child(preset, int(h), int(w), int(threads), int(repeats), mode, device, precision, kind)
        return
    import onnxruntime
    import torch

    load = os.getloadavg()
    print(f"# textif fusion benchmark: {a.device}, {a.threads} threads, torch {torch.__version__}, "
          f"onnxruntime {onnxruntime.__version__}; load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")
    if a.device != "cpu":
        gpu_table(a)
        return
    modes = a.modes.split(",")
    for preset in a.presets.split(","):  # export once, before any timing
        if "onnx" in modes:
            from textif.inference.fuser import load as load_fuser

            load_fuser(preset, device="cpu", backend="onnx", allow_untrained=True, progress=False)
    rows = []
    if not a.no_reference:
        r = run_cell("textif-paper", "640x480", a.threads, 0, "reference", a.timeout)
        print(f"  measured reference @ 640x480: {r}", file=sys.stderr, flush=True)
        rows.append(("textif-paper", "640x480", "reference", r))
    for preset in a.presets.split(","):
        for size in a.sizes.split(","):
            for mode in modes:
                r = run_cell(preset, size, a.threads, a.repeats if size == "640x480" else 0, mode, a.timeout)
                print(f"  measured {preset} {mode} @ {size}: {r}", file=sys.stderr, flush=True)
                rows.append((preset, size, mode, r))
        for size in filter(None, a.file_sizes.split(",")):
            folder = write_pair(size)
            for mode in (m for m in modes if m != "plain"):
                r = run_cell(preset, size, a.threads, 0, mode, a.timeout, kind="file", folder=folder)
                print(f"  measured {preset} {mode} file @ {size}: {r}", file=sys.stderr, flush=True)
                rows.append((preset, f"{size} (file to file)", mode, r))
    ref = next((r.get("seconds") for p, s, m, r in rows if m == "reference"), None)
    plain = {(p, s): r.get("seconds") for p, s, m, r in rows if m == "plain"}
    print("| model | backend | size | tiled | time (s) | CPU time (s) | peak RSS (MiB) | speed-up vs torch before | speed-up vs reference |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|")
    for preset, size, mode, r in rows:
        if "error" in r:
            print(f"| {preset} | {MODES[mode]} | {size} | | {r['error']} | | | | |")
            continue
        before = plain.get((preset, size))
        vs_before = f"{before / r['seconds']:.2f}x" if before and mode != "reference" else ""
        vs_ref = f"{ref / r['seconds']:.0f}x" if ref and size == "640x480" else ""
        cpu_s = f"{r['cpu_seconds']:.2f}" if "cpu_seconds" in r else ""
        print(f"| {preset} | {MODES[mode]} | {size} | {'yes' if r['tiled'] else 'no'} | {r['seconds']:.2f} | {cpu_s} | "
              f"{r['peak_mib']:.0f} | {vs_before} | {vs_ref} |")
    if not a.no_cli:
        print("\nCold `textif fuse` of one 640x480 pair (new process each time; cached export and sentence; median of 3):\n")
        print("| backend | wall time (s) |")
        print("|---|---:|")
        for backend in ("onnx", "torch"):
            print(f"| {MODES[backend]} | {cold_cli(backend, a.threads):.2f} |", flush=True)
        seconds, message = refusal_cli()
        print(f"\nA 15000x15000 (225 MP) pair refused by a cold `textif fuse` in {seconds:.2f} s (median of 3): {message}")
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def gpu_table(a: argparse.Namespace) -> None:
    import onnxruntime

    print("| model | backend | precision | size | fps | peak RSS (MiB) |")
    print("|---|---|---|---|---:|---:|")
    cells = [("torch", p) for p in ("fp32", "fp16", "bf16")]
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        cells.append(("onnx", "fp32"))
    for preset in a.presets.split(","):
        for size in ("640x480", "3840x2160"):
            for mode, precision in cells:
                r = run_cell(preset, size, a.threads, 5, mode, a.timeout, device=a.device, precision=precision)
                if "error" in r:
                    print(f"| {preset} | {MODES[mode]} | {precision} | {size} | {r['error']} | |", flush=True)
                else:
                    print(f"| {preset} | {MODES[mode]} | {precision} | {size} | {1 / r['seconds']:.1f} | {r['peak_mib']:.0f} |",
                          flush=True)


if __name__ == "__main__":
    main()
