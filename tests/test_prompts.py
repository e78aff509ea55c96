"""Prompt bank: coverage, held-out disjointness, sampling, suggested prompts, keyword classifier."""
from __future__ import annotations

import random
import re

import pytest
import torch

from textif.core.registry import UnknownNameError
from textif.data import prompts as P
from textif.data.degradations import COMPOSITES, DEGRADATIONS


def _norm(s: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", s.lower()).split())


def test_tasks_cover_fusion_degradations_and_composites() -> None:
    assert P.TASKS[0] == "fusion"
    assert set(P.TASKS) == {"fusion", *DEGRADATIONS.names(), *COMPOSITES}
    assert all("+" in t for t in COMPOSITES)


def test_bank_sizes() -> None:
    train, held = P.bank_counts("train"), P.bank_counts("heldout")
    assert set(train) == set(held) == set(P.TASKS)
    assert all(n >= 40 for n in train.values()), {t: n for t, n in train.items() if n < 40}
    assert all(n >= 20 for n in held.values()), {t: n for t, n in held.items() if n < 20}
    assert sum(train.values()) > 1000
    by_band = P.all_prompts("train", by_band=True)
    for task in DEGRADATIONS.names():
        assert all(len(by_band[task][b]) >= 10 for b in ("any", "mild", "moderate", "severe"))


def test_heldout_disjoint_from_train() -> None:
    train = {_norm(s) for lst in P.all_prompts("train").values() for s in lst}
    held = {_norm(s) for lst in P.all_prompts("heldout").values() for s in lst}
    assert not train & held
    for task in ("low_light", "ir_stripe", "fusion", "haze+ir_noise"):
        assert not {_norm(s) for s in P.heldout_prompts(task)} & {_norm(s) for s in P.train_prompts(task)}


def test_bank_is_deterministic_and_well_formed() -> None:
    for lst in P.all_prompts("train").values():
        assert len(lst) == len(set(lst))
        for s in lst:
            assert s[0].isupper() and "{" not in s and "  " not in s and s == s.strip()


def test_neutral_and_suggested_prompts() -> None:
    assert P.NEUTRAL_PROMPT == "Fuse the infrared and visible images."
    assert P.NEUTRAL_PROMPT in P.train_prompts("fusion")
    sug = P.suggested_prompts()
    assert set(sug) == {"fusion", *DEGRADATIONS.names()}
    for task, sentence in sug.items():
        assert sentence in P.train_prompts(task)
        assert P.task_from_text(sentence) == task
    assert set(P.suggested_prompts(include_composites=True)) == set(P.TASKS)


@pytest.mark.parametrize("make", [lambda: torch.Generator().manual_seed(3), lambda: random.Random(3)])
def test_sample_prompt_seeded(make) -> None:
    a = [P.sample_prompt(t, generator=make()) for t in P.TASKS]
    b = [P.sample_prompt(t, generator=make()) for t in P.TASKS]
    assert a == b
    g = make()
    draws = {P.sample_prompt("low_light", generator=g) for _ in range(30)}
    assert len(draws) > 15 and draws <= set(P.train_prompts("low_light"))
    held = {P.sample_prompt("ir_noise", generator=g, split="heldout") for _ in range(20)}
    assert held <= set(P.heldout_prompts("ir_noise"))


def test_sample_prompt_severity_band() -> None:
    bands = P.all_prompts("train", by_band=True)["noise"]
    g = random.Random(0)
    for sev, band in ((0.1, "mild"), (0.5, "moderate"), (0.9, "severe"), ("severe", "severe")):
        draws = [P.sample_prompt("noise", generator=g, severity=sev) for _ in range(40)]
        assert all(d in bands[band] or d in bands["any"] for d in draws)
        assert any(d in bands[band] for d in draws)


def test_sample_prompt_composite_any_order_and_errors() -> None:
    s = P.sample_prompt("ir_noise+low_light", generator=random.Random(0))
    assert s in P.train_prompts("low_light+ir_noise")
    with pytest.raises(UnknownNameError, match="did you mean"):
        P.sample_prompt("low_lihgt")
    with pytest.raises(P.PromptError, match="split"):
        P.sample_prompt("noise", split="test")  # type: ignore[arg-type]
    with pytest.raises(P.PromptError, match="band"):
        P.sample_prompt("noise", severity="extreme")


def _accuracy(split: str, composite: bool) -> float:
    hits = total = 0
    for task, lst in P.all_prompts(split).items():  # type: ignore[arg-type]
        if ("+" in task) != composite:
            continue
        for s in lst:
            total += 1
            hits += P.task_from_text(s) == task
    return hits / total


def test_task_from_text() -> None:
    assert _accuracy("train", composite=False) > 0.98
    assert _accuracy("heldout", composite=False) > 0.95
    assert _accuracy("train", composite=True) > 0.9
    assert _accuracy("heldout", composite=True) > 0.8
    assert P.task_from_text("the visible image is too dark") == "low_light"
    assert P.task_from_text("remove the stripe noise from the thermal image") == "ir_stripe"
    assert P.task_from_text("The infrared image is noisy") == "ir_noise"
    assert P.task_from_text("low-light visible image, please enhance brightness") == "low_light"
    assert P.task_from_text("Just fuse them.") == "fusion"
    assert P.task_from_text("It's dark and the IR image is noisy") == "low_light+ir_noise"
