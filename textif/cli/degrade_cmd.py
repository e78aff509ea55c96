"""``textif degrade``: write degraded copies of a folder of images (seeded, reproducible)."""
from __future__ import annotations

import csv
import zlib
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from textif.cli.common import fail, user_errors


class Modality(str, Enum):
    auto = "auto"
    vis = "vis"
    ir = "ir"


def _list_types() -> str:
    from textif.data.degradations import DEGRADATIONS

    rows = [f"  {n:<16} {DEGRADATIONS.get(n).modality:<4} {DEGRADATIONS.get(n).description}" for n in DEGRADATIONS]
    return "\n".join(["name             kind description", *rows])


def degrade(
    in_dir: Optional[Path] = typer.Option(None, "--in-dir", "-i", help="Folder of images to degrade."),
    out_dir: Optional[Path] = typer.Option(None, "--out-dir", "-o", help="Folder for the degraded copies (created)."),
    type_: Optional[str] = typer.Option(
        None, "--type", "-t",
        help="Degradation name (see --list), or two of one modality joined by '+', e.g. ir_low_contrast+ir_noise.",
    ),
    severity: Optional[float] = typer.Option(
        None, "--severity", "-s", min=0.0, max=1.0,
        help="0 = unchanged, 1 = strong. Omitted: random per image in [0.1, 1] with random sub-parameters.",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed; each file's randomness depends only on the seed and its name."),
    modality: Modality = typer.Option(
        Modality.auto, "--modality",
        help="How to read the images: vis = RGB, ir = gray; auto = as the degradation expects.",
    ),
    bit_depth: Optional[int] = typer.Option(None, "--bit-depth", help="8 or 16 (default: as the input file)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    list_: bool = typer.Option(False, "--list", help="List the degradation types and exit."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Write degraded copies of every image in a folder (PNG, same file stem).

    A CSV log (degradations.csv) in the output folder records each file's type and severity.
    """
    if list_:
        typer.echo(_list_types())
        return
    if in_dir is None or out_dir is None or type_ is None:
        fail("give --in-dir, --out-dir and --type (see --list for the types)")
    assert in_dir is not None and out_dir is not None and type_ is not None
    if bit_depth is not None and bit_depth not in (8, 16):
        fail(f"--bit-depth must be 8 or 16, got {bit_depth}")
    if in_dir.resolve() == out_dir.resolve():
        fail("--out-dir must differ from --in-dir (the originals would be overwritten)")
    with user_errors():
        import torch
        from tqdm.auto import tqdm

        from textif.core.errors import TextIFError
        from textif.core.io import list_images, read_image_with_info, write_image
        from textif.data.degradations import DEGRADATIONS, DegradationError, split_task

        parts = split_task(type_)
        if not parts:
            fail(f"--type {type_!r} is not a degradation (see --list)")
        mods = {DEGRADATIONS.get(p).modality for p in parts}
        if len(mods) > 1:
            raise DegradationError(f"--type {type_!r} mixes visible and infrared degradations; "
                                   f"degrade each folder with its own type")
        natural = mods.pop()
        mod = natural if modality is Modality.auto else modality.value
        channels = 3 if mod == "vis" else 1
        files = list_images(in_dir)
        if not files:
            fail(f"{in_dir}: no images found")
        out_dir.mkdir(parents=True, exist_ok=True)
        written, skipped, failed = 0, 0, []
        log_rows = []
        for stem, path in tqdm(files.items(), desc=f"degrading ({'+'.join(parts)})", unit="img",
                               disable=quiet or None, dynamic_ncols=True):
            target = out_dir / f"{stem}.png"
            if target.exists() and not overwrite:
                skipped += 1
                continue
            try:
                arr, info = read_image_with_info(path, channels=channels)
                img = torch.from_numpy(arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1).copy())[None]
                g = torch.Generator().manual_seed((seed * 1_000_003 + zlib.crc32(stem.encode("utf-8"))) % 2**63)
                sevs = []
                for p in parts:
                    info_p = DEGRADATIONS.get(p)
                    if severity is None:
                        s = 0.1 + 0.9 * float(torch.rand((), generator=g))
                        img = info_p.random_fn(img, generator=g, severity=s)
                    else:
                        s = severity
                        img = info_p.add_fn(img, s, generator=g)
                    sevs.append(s)
                out = img[0].numpy()
                out = out[0] if out.shape[0] == 1 else out.transpose(1, 2, 0)
                write_image(target, out, bit_depth=bit_depth or (16 if info.bit_depth == 16 else 8))
                written += 1
                log_rows.append((target.name, path.name, "+".join(parts), ";".join(f"{s:.4f}" for s in sevs), seed))
            except TextIFError as e:
                failed.append(f"{path.name}: {e}")
        if log_rows:
            _append_log(out_dir / "degradations.csv", log_rows)
    typer.echo(
        f"wrote {written} degraded image{'s' if written != 1 else ''} to {out_dir}"
        + (f", skipped {skipped} existing (use --overwrite)" if skipped else "")
        + (f", {len(failed)} failed" if failed else "")
    )
    if failed:
        typer.echo("failed:", err=True)
        for msg in failed:
            typer.echo(f"  {msg}", err=True)
        raise typer.Exit(1)


def _append_log(path: Path, rows: list[tuple]) -> None:
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["output", "input", "type", "severity", "seed"])
        w.writerows(rows)


def register(app: typer.Typer) -> None:
    app.command("degrade")(degrade)
