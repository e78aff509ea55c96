"""Which pairs a folder job fuses: matched by file stem with :func:`textif.core.io.pair_folders`,
as :meth:`Fuser.fuse_folder` does (same order, same messages for unmatched files)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from textif.core.errors import TextIFError
from textif.core.io import pair_folders

__all__ = ["PairPlan", "match_pairs"]


@dataclass
class PairPlan:
    """The pairs of a folder job.

    ``todo``: ``(stem, vis, ir, out)`` to fuse; ``skipped``: existing outputs left alone;
    ``unmatched``: ``(file name, message)`` for files without a partner.
    """

    todo: list[tuple[str, Path, Path, Path]] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    unmatched: list[tuple[str, str]] = field(default_factory=list)


def match_pairs(
    vis_dir: str | os.PathLike,
    ir_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    overwrite: bool = False,
    suffix: str = ".png",
    create: bool = True,
) -> PairPlan:
    """List both folders, match by stem and decide what to fuse.

    Paths in the plan are absolute, so that workers whose working folder differs (every Ray
    worker) find the files.

    Raises:
        ImageReadError: a folder is missing, empty of images, or has two images with one stem.
        TextIFError: the output folder cannot be created.
    """
    pairs, unmatched = pair_folders(vis_dir, ir_dir)
    out = Path(out_dir)
    if create:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise TextIFError(f"{out}: cannot create output folder ({e.strerror or e})") from None
    plan = PairPlan(unmatched=unmatched)
    out_abs = out.resolve()
    for stem, vis, ir in pairs:
        target = out / f"{stem}{suffix}"
        if target.exists() and not overwrite:
            plan.skipped.append(target)
            continue
        plan.todo.append((stem, vis.resolve(), ir.resolve(), out_abs / f"{stem}{suffix}"))
    return plan
