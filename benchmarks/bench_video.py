"""Video fusion figures: temporal flicker on M3SVD_seq, frames per second, and memory against clip length.

    # flicker of textif-small on the shared sequence (clean, vis_blur, ir_noise), per-frame and stabilised
    python benchmarks/bench_video.py flicker [--model textif-small] [--save-strip docs/video-strip.png]
    # frames per second at 640x480 on 2 threads (extra load() keywords pass through, e.g. --load backend=onnx)
    python benchmarks/bench_video.py speed --frames 10 --threads 2 [--load backend=onnx]
    # peak memory (RSS) of fuse_video for a 10- and a 200-frame clip, each in a fresh process
    python benchmarks/bench_video.py memory --lengths 10 200 --model textif-tiny --size 160x120
    # only the before/after strip of the README (clean clip, stabilised)
    python benchmarks/bench_video.py strip --out docs/video-strip.png

Prints the figures; nothing is asserted (timings depend on the machine and its load).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SEQ = REPO.parent / "shared" / "data" / "M3SVD_seq" / "0111_1716"
CONDITIONS = {  # name: (visible folder, infrared folder, prompt task)
    "clean": ("vis", "ir", "fusion"),
    "vis_blur": ("vis_blur", "ir", "blur"),
    "ir_noise": ("vis", "ir_noise", "ir_noise"),
}


def _load_kw(items: list[str]) -> dict:
    out = {}
    for it in items or []:
        k, _, v = it.partition("=")
        out[k] = {"true": True, "false": False}.get(v.lower(), v)
    return out


def _read(sub: str, gray: bool = False, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    import cv2

    out = []
    for f in sorted((SEQ / sub).glob("*.png")):
        a = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR)
        if not gray:
            a = a[..., ::-1]
        if size is not None:
            a = cv2.resize(a, size, interpolation=cv2.INTER_AREA)
        out.append(np.ascontiguousarray(a))
    return out


def flicker(args: argparse.Namespace) -> None:
    import torch

    import textif
    from textif.data.prompts import suggested_prompts
    from textif.metrics.temporal import FlickerMeter
    from textif.video import stream

    torch.set_num_threads(args.threads)
    fuser = textif.load(args.model, device="cpu", **_load_kw(args.load))
    prompts = suggested_prompts()
    rows = []
    strip = None
    for name, (vd, idr, task) in CONDITIONS.items():
        vis, ir = _read(vd), _read(idr, gray=True)
        plain = list(stream(fuser, zip(vis, ir), prompts[task], stabilize=False))
        steady = list(stream(fuser, zip(vis, ir), prompts[task], stabilize=True))
        res = {}
        for label, fused in (("per-frame", plain), ("stabilised", steady)):
            m = FlickerMeter()
            for f, v, i in zip(fused, vis, ir):
                m.add(f, vis=v, ir=i)
            res[label] = m.result()
        mx = FlickerMeter()  # reference: per-pixel maximum of the luminances (cannot flicker by itself)
        for v, i in zip(vis, ir):
            y = np.round(v.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.uint8)
            mx.add(np.maximum(y, i), vis=v, ir=i)
        rows.append((name, prompts[task], res, mx.result()))
        if name == "clean":
            strip = (vis, ir, steady)
        print(f"{name:9} per-frame {res['per-frame'].ratio:.3f} (frame-mean {res['per-frame'].global_ratio:.3f}) | "
              f"stabilised {res['stabilised'].ratio:.3f} (frame-mean {res['stabilised'].global_ratio:.3f}) | "
              f"pixel-max baseline {mx.result().ratio:.3f} (frame-mean {mx.result().global_ratio:.3f})", flush=True)
    print("\n| input | prompt | temporal_flicker per-frame | stabilised | pixel-max baseline | frame-mean variant: per-frame / stabilised / pixel-max |")
    print("|---|---|---|---|---|---|")
    for name, p, res, mx in rows:
        print(f"| {name} | {p} | {res['per-frame'].ratio:.3f} | {res['stabilised'].ratio:.3f} | {mx.ratio:.3f} | "
              f"{res['per-frame'].global_ratio:.3f} / {res['stabilised'].global_ratio:.3f} / {mx.global_ratio:.3f} |")
    if args.save_strip and strip is not None:
        _strip(*strip, Path(args.save_strip))


def _strip(vis: list, ir: list, fused: list, path: Path, picks=(0, 6, 12, 19), height: int = 150) -> None:
    """Rows: visible, infrared, fused; columns: frames ``picks``; labelled."""
    import cv2

    from textif.core.io import write_image

    def tile(a: np.ndarray, label: str) -> np.ndarray:
        a = np.repeat(a[..., None], 3, 2) if a.ndim == 2 else a
        w = int(round(a.shape[1] * height / a.shape[0]))
        t = cv2.resize(a, (w, height), interpolation=cv2.INTER_AREA).copy()
        cv2.putText(t, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(t, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        return t

    rows = []
    for name, seq in (("visible", vis), ("infrared", ir), ("fused", fused)):
        rows.append(np.concatenate([tile(seq[k], f"{name} t={k}") for k in picks], axis=1))
    write_image(path, np.concatenate(rows, axis=0).astype(np.float32) / 255.0)
    print(f"wrote {path}")


def strip(args: argparse.Namespace) -> None:
    """Only the strip image: the clean clip fused (stabilised, neutral prompt)."""
    import torch

    import textif
    from textif.video import stream

    torch.set_num_threads(args.threads)
    fuser = textif.load(args.model, device="cpu", **_load_kw(args.load))
    vis, ir = _read("vis"), _read("ir", gray=True)
    _strip(vis, ir, list(stream(fuser, zip(vis, ir))), Path(args.out))


def speed(args: argparse.Namespace) -> None:
    import torch

    import textif
    from textif.video import stream

    torch.set_num_threads(args.threads)
    fuser = textif.load(args.model, device="cpu", **_load_kw(args.load))
    vis, ir = _read("vis")[: args.frames], _read("ir", gray=True)[: args.frames]
    h, w = vis[0].shape[:2]
    list(stream(fuser, [(vis[0], ir[0])]))  # warm-up (text encoder, first-call allocations)
    for stab in (False, True):
        t0 = time.perf_counter()
        n = sum(1 for _ in stream(fuser, zip(vis, ir), stabilize=stab))
        dt = time.perf_counter() - t0
        print(f"{args.model} {w}x{h} threads={args.threads} stabilise={stab}: {n / dt:.2f} frames/s ({n} frames in {dt:.1f} s)")


def memory(args: argparse.Namespace) -> None:
    w, h = (int(x) for x in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="textif-mem-") as tmp:
        for n in args.lengths:
            code = f"""
import resource, sys, time
sys.path.insert(0, {str(REPO)!r})
import numpy as np, torch
torch.set_num_threads({args.threads})
sys.argv = ['x']
from benchmarks.bench_video import _read
from textif.video import VideoWriter, fuse_video
import textif
vis, ir = _read('vis', size=({w}, {h})), _read('ir', size=({w}, {h}))
order = [k for k in range({n})]
order = [(k // 20) % 2 and 19 - k % 20 or k % 20 for k in order]   # ping-pong through the 20 frames
for name, frames in (('v', vis), ('i', ir)):
    with VideoWriter({tmp!r} + f'/{{name}}{n}.mp4', fps=25, width={w}, height={h}) as wr:
        for k in order:
            wr.write(frames[k])
fuser = textif.load({args.model!r}, device='cpu', allow_untrained=True)
import textif.video.fuse as vf, os
page = os.sysconf('SC_PAGE_SIZE') / 2**20
rss = lambda: int(open('/proc/self/statm').read().split()[1]) * page
samples = []
real_stream = vf.stream
def sampled(*a, **k):   # current RSS after every frame (the stream is what fuse_video runs)
    for f in real_stream(*a, **k):
        samples.append(rss())
        yield f
vf.stream = sampled
before = rss()
t0 = time.perf_counter()
r = fuse_video(fuser, {tmp!r} + '/v{n}.mp4', {tmp!r} + '/i{n}.mp4', {tmp!r} + '/f{n}.mp4', progress=False)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
q = lambda x: round(samples[min(len(samples) - 1, int(x * len(samples)))], 1)
print({{'frames': r.frames, 'rss_before_mb': round(before, 1), 'rss_at_25_50_75_100pct_mb': [q(.25), q(.5), q(.75), q(1)],
       'peak_rss_mb': round(peak / 1024, 1), 'seconds': round(time.perf_counter() - t0, 1)}})
"""
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ})
            if out.returncode:
                print(out.stderr[-2000:])
                raise SystemExit(1)
            print(f"{args.model} {w}x{h}, {n} frames: {out.stdout.strip()}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("flicker", "speed", "memory", "strip"):
        p = sub.add_parser(name)
        p.add_argument("--model", default="textif-small" if name != "memory" else "textif-tiny")
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--load", nargs="*", default=[], help="extra textif.load keywords, KEY=VALUE")
        if name == "flicker":
            p.add_argument("--save-strip", default=None)
        if name == "strip":
            p.add_argument("--out", default=str(REPO / "docs" / "video-strip.png"))
        if name == "speed":
            p.add_argument("--frames", type=int, default=10)
        if name == "memory":
            p.add_argument("--lengths", type=int, nargs="+", default=[10, 200])
            p.add_argument("--size", default="160x120")
    args = ap.parse_args()
    {"flicker": flicker, "speed": speed, "memory": memory, "strip": strip}[args.cmd](args)


if __name__ == "__main__":
    main()
