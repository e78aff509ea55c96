"""How well the frozen text encoder separates the degradation types, for training and held-out wording.

For each task, the centroid of (up to) 200 training sentences' embeddings is computed; then up to
100 sentences of each degradation's held-out bank (and, for comparison, 100 other training
sentences) are assigned to the nearest centroid by cosine similarity. Low held-out accuracy means
the encoder itself places unseen wording near another task, which no amount of fusion training
on the training bank can undo.

    python benchmarks/prompt_understanding.py [--encoder minilm]
"""
from __future__ import annotations

import argparse
import random
from collections import Counter

import torch
import torch.nn.functional as F

from textif.data.degradations import DEGRADATIONS
from textif.data.prompts import heldout_prompts, train_prompts
from textif.models.text import get_text_encoder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--encoder", default="minilm")
    a = ap.parse_args()
    enc = get_text_encoder(a.encoder)
    names = DEGRADATIONS.names()
    tasks = ["fusion", *names]
    cents, held_train = [], {}
    for t in tasks:
        ps = train_prompts(t)
        random.Random(0).shuffle(ps)
        e = F.normalize(enc.encode(ps[:200]), dim=-1)
        cents.append(F.normalize(e.mean(0), dim=0))
        held_train[t] = ps[200:300]
    c = torch.stack(cents)
    print(f"encoder {a.encoder}: nearest training centroid (cosine) of each sentence\n")
    print("| degradation | training wording | held-out wording | held-out mostly taken for |")
    print("|---|---:|---:|---|")
    for t in names:
        held = heldout_prompts(t)
        random.Random(1).shuffle(held)
        accs = []
        for ps in (held_train[t], held[:100]):
            pred = (F.normalize(enc.encode(ps), dim=-1) @ c.T).argmax(1).tolist()
            accs.append((sum(p == tasks.index(t) for p in pred) / max(1, len(pred)), Counter(tasks[p] for p in pred)))
        wrong = [(k, n) for k, n in accs[1][1].most_common() if k != t][:2]
        print(f"| {t} | {accs[0][0]:.0%} | {accs[1][0]:.0%} | {', '.join(f'{k} ({n})' for k, n in wrong)} |")


if __name__ == "__main__":
    main()
