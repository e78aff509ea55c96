"""Which pairs a folder job fuses: matched by file stem exactly as :meth:`Fuser.fuse_folder` does.

The matching below mirrors the body of ``Fuser.fuse_folder`` (same listing, same order, same
messages for unmatched files); ``tests/test_distributed.py`` checks that the two agree. Once
``textif.inference.fuser`` exposes this step as a function, :func:`match_pairs` should call it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from textif.core.errors import ImageReadError, TextIFError
from textif.core.io import list_images

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
    vis_files, ir_files = list_images(vis_dir), list_images(ir_dir)
    if not vis_files:
        raise ImageReadError(f"{vis_dir}: no images found")
    if not ir_files:
        raise ImageReadError(f"{ir_dir}: no images found")
    out = Path(out_dir)
    if create:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise TextIFError(f"{out}: cannot create output folder ({e.strerror or e})") from None
    plan = PairPlan()
    for stem in sorted(set(vis_files) - set(ir_files)):
        plan.unmatched.append((vis_files[stem].name, f"{vis_files[stem]}: no infrared image named {stem}.* in {ir_dir}"))
    for stem in sorted(set(ir_files) - set(vis_files)):
        plan.unmatched.append((ir_files[stem].name, f"{ir_files[stem]}: no visible image named {stem}.* in {vis_dir}"))
    out_abs = out.resolve()
    for stem in sorted(set(vis_files) & set(ir_files)):
        target = out / f"{stem}{suffix}"
        if target.exists() and not overwrite:
            plan.skipped.append(target)
            continue
        plan.todo.append((stem, vis_files[stem].resolve(), ir_files[stem].resolve(), out_abs / f"{stem}{suffix}"))
    return plan
