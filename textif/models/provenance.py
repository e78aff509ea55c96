"""What a checkpoint's ``config.json`` says about how it was trained: the stages behind it.

A checkpoint exported by ``textif train`` records, under ``training``, its last stage (steps,
hours, resolved config, ...) and ``lineage``: every stage from the first, oldest first, each with
the config file it was trained from, where it started (``init_from``) and its figures. Older
checkpoints nested the previous stage under ``init_training``; :func:`lineage` reads both.
"""
from __future__ import annotations

from typing import Any

__all__ = ["lineage", "total_steps", "total_train_hours"]



def lineage(training: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The stages behind a checkpoint, oldest first (empty for an untrained model).

    Args:
        training: the ``training`` mapping of a checkpoint's ``config.json``
            (``Checkpoint.training``).
    """
    if not training:
        return []
    if isinstance(training.get("lineage"), list):
        return [dict(s) for s in training["lineage"]]
    chain = []
    node: dict[str, Any] | None = training
    while node:
        chain.append({k: v for k, v in node.items() if k not in ("init_training", "total_steps", "total_train_hours")})
        node = node.get("init_training")
    chain.reverse()
    for i, st in enumerate(chain):
        st.setdefault("stage", i + 1)
        st.setdefault("init_from", (st.get("config") or {}).get("init_from"))
    return chain


def total_steps(training: dict[str, Any] | None) -> int:
    """Optimiser steps over all stages."""
    return sum(int(s.get("steps", 0)) for s in lineage(training))


def total_train_hours(training: dict[str, Any] | None) -> float:
    """Training-step wall time over all stages, in hours."""
    return round(sum(float(s.get("train_hours", 0.0)) for s in lineage(training)), 3)
