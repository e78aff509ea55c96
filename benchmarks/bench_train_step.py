"""Time of one distillation step's two halves, contiguous (NCHW) against channels-last (NHWC)
memory, measured interleaved in one run: the frozen teacher's forward pass and the student's
forward and backward pass on a batch of random crops.

    PYTHONPATH=$PWD python benchmarks/bench_train_step.py [--teacher textif-restore]
        [--student checkpoints/textif-fast-stage3] [--batch 8] [--crop 128] [--threads 1] [--runs 5]

Prints the median time of each half per format, their ratio, and the largest difference between
the teacher's outputs in the two formats.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", default="textif-restore", help="checkpoint folder or shipped model name")
    ap.add_argument("--student", default="checkpoints/textif-fast-stage3", help="checkpoint folder or shipped model name")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    from textif.training.module import load_start

    torch.set_num_threads(args.threads)
    teacher = load_start(args.teacher, "teacher").model.float().eval().requires_grad_(False)
    student = load_start(args.student).model.float().train()
    g = torch.Generator().manual_seed(0)
    vis = torch.rand(args.batch, 3, args.crop, args.crop, generator=g)
    ir = torch.rand(args.batch, 1, args.crop, args.crop, generator=g)
    emb = torch.randn(args.batch, teacher.config.text_dim, generator=g) * 0.05

    def step(fmt: torch.memory_format) -> tuple[float, float, torch.Tensor]:
        teacher.to(memory_format=fmt)
        student.to(memory_format=fmt)
        v, i = vis.contiguous(memory_format=fmt), ir.contiguous(memory_format=fmt)
        t0 = time.perf_counter()
        with torch.no_grad():
            target = teacher(v, i, emb)
        t1 = time.perf_counter()
        loss = (student(v, i, emb) - target).abs().mean()
        loss.backward()
        student.zero_grad(set_to_none=True)
        return t1 - t0, time.perf_counter() - t1, target

    formats = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in formats}
    outputs = {}
    for r in range(args.runs + 1):  # the first round warms up and is not counted
        for name, fmt in formats.items():
            a, b, out = step(fmt)
            if r:
                times[name].append((a, b))
            else:
                outputs[name] = out
    diff = float((outputs["contiguous"] - outputs["channels_last"]).abs().max())
    med = {k: (statistics.median(a for a, _ in v), statistics.median(b for _, b in v)) for k, v in times.items()}
    print(f"batch {args.batch}, crop {args.crop}, {args.threads} thread(s), median of {args.runs}")
    for k, (a, b) in med.items():
        print(f"{k:>14}: teacher forward {a:.3f} s   student forward+backward {b:.3f} s   sum {a + b:.3f} s")
    (a0, b0), (a1, b1) = med["contiguous"], med["channels_last"]
    print(f"channels_last / contiguous: teacher {a1 / a0:.2f}, student {b1 / b0:.2f}, sum {(a1 + b1) / (a0 + b0):.2f}")
    print(f"max |teacher output difference| between the formats: {diff:.1e}")


if __name__ == "__main__":
    main()
