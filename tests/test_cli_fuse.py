from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from textif.cli.main import app
from textif.core.io import read_image
from tests.conftest import smooth_pair

runner = CliRunner()


def write_pair(folder: Path, stem: str, h: int = 37, w: int = 53, seed: int = 0, ir_ext: str = ".png") -> None:
    (folder / "vis").mkdir(parents=True, exist_ok=True)
    (folder / "ir").mkdir(parents=True, exist_ok=True)
    vis, ir = smooth_pair(h, w, seed)
    cv2.imwrite(str(folder / "vis" / f"{stem}.png"), (vis[..., ::-1] * 255).astype(np.uint8))
    cv2.imwrite(str(folder / "ir" / f"{stem}{ir_ext}"), (ir * 255).astype(np.uint8))


def fuse(*args: str):
    return runner.invoke(app, ["fuse", *args])


def test_one_pair(tmp_path: Path, tiny_checkpoint: Path):
    write_pair(tmp_path, "a", 37, 53)
    out = tmp_path / "fused.png"
    r = fuse("--vis", str(tmp_path / "vis/a.png"), "--ir", str(tmp_path / "ir/a.png"), "-o", str(out),
             "--model", str(tiny_checkpoint), "--text", "the visible image is too dark")
    assert r.exit_code == 0, r.output
    img = read_image(out)
    assert img.shape == (37, 53, 3)
    r16 = fuse("--vis", str(tmp_path / "vis/a.png"), "--ir", str(tmp_path / "ir/a.png"), "-o", str(tmp_path / "f16.png"),
               "--model", str(tiny_checkpoint), "--bit-depth", "16")
    assert r16.exit_code == 0, r16.output
    raw = cv2.imread(str(tmp_path / "f16.png"), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16 and raw.shape == (37, 53, 3)


def test_folder_mode_goes_on_past_a_corrupt_file(tmp_path: Path, tiny_checkpoint: Path):
    for i, stem in enumerate(["a", "b", "c"]):
        write_pair(tmp_path, stem, seed=i, ir_ext=".jpg" if stem == "c" else ".png")
    (tmp_path / "ir" / "b.png").write_bytes(b"not an image at all")
    write_pair(tmp_path, "d")
    (tmp_path / "ir" / "d.png").unlink()  # unmatched stem
    out = tmp_path / "out"
    r = fuse("--vis-dir", str(tmp_path / "vis"), "--ir-dir", str(tmp_path / "ir"), "-o", str(out), "--model", str(tiny_checkpoint), "-q")
    assert r.exit_code == 1
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "c.png"]
    assert "fused 2 pairs" in r.output and "2 failed" in r.output
    assert f"{tmp_path / 'ir' / 'b.png'}: not a readable image" in r.output
    assert "no infrared image named d.*" in r.output
    # a second run skips what exists
    r2 = fuse("--vis-dir", str(tmp_path / "vis"), "--ir-dir", str(tmp_path / "ir"), "-o", str(out), "--model", str(tiny_checkpoint), "-q")
    assert "fused 0 pairs" in r2.output and "skipped 2 existing" in r2.output
    mtime = (out / "a.png").stat().st_mtime_ns
    r3 = fuse("--vis-dir", str(tmp_path / "vis"), "--ir-dir", str(tmp_path / "ir"), "-o", str(out), "--model", str(tiny_checkpoint), "-q", "--overwrite")
    assert "fused 2 pairs" in r3.output and (out / "a.png").stat().st_mtime_ns >= mtime
    assert not [f for f in out.iterdir() if f.name.endswith(".tmp")]


def test_bad_inputs_get_one_clear_line(tmp_path: Path, tiny_checkpoint: Path):
    write_pair(tmp_path, "a", 40, 60)
    (tmp_path / "small").mkdir()
    cv2.imwrite(str(tmp_path / "small" / "a.png"), np.zeros((20, 30), np.uint8))
    (tmp_path / "notes.png").write_text("hello")
    (tmp_path / "empty").mkdir()
    m = ["--model", str(tiny_checkpoint)]
    vis = str(tmp_path / "vis/a.png")
    cases = [
        (["--vis", vis, "--ir", str(tmp_path / "small/a.png"), "-o", str(tmp_path / "o.png")],
         "visible .*a.png is 60x40 but infrared .*a.png is 30x20"),
        (["--vis", vis, "--ir", str(tmp_path / "notes.png"), "-o", str(tmp_path / "o.png")], "notes.png: not a readable image"),
        (["--vis", vis, "--ir", str(tmp_path / "missing.png"), "-o", str(tmp_path / "o.png")], "missing.png: file not found"),
        (["--vis", vis, "--ir", str(tmp_path / "ir/a.png"), "-o", str(tmp_path / "nodir" / "o.png")], "output folder .*nodir does not exist"),
        (["--vis-dir", str(tmp_path / "empty"), "--ir-dir", str(tmp_path / "ir"), "-o", str(tmp_path / "out")], "empty: no images found"),
        (["--vis", vis, "-o", str(tmp_path / "o.png")], "one pair needs both --vis and --ir"),
        (["--vis", vis, "--ir", str(tmp_path / "ir/a.png"), "-o", str(tmp_path / "o.png"), "--precision", "fp16", "--device", "cpu"],
         "half precision is only supported on a GPU"),
        (["--vis", vis, "--ir", str(tmp_path / "ir/a.png"), "-o", str(tmp_path / "o.png"), "--model", "textif-smal"],
         "did you mean 'textif-small'"),
    ]
    for args, pattern in cases:
        r = fuse(*args, *m) if "--model" not in args else fuse(*args)
        assert r.exit_code != 0, (args, r.output)
        assert "Traceback" not in r.output
        lines = [ln for ln in r.output.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), r.output
        import re

        assert re.search(pattern, lines[0]), (pattern, lines[0])
    r = fuse("--vis", vis, "--ir", str(tmp_path / "small/a.png"), "-o", str(tmp_path / "o.png"), *m, "--resize-ir-to-vis")
    assert r.exit_code == 0 and read_image(tmp_path / "o.png").shape == (40, 60, 3)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output(tmp_path: Path, tiny_checkpoint: Path):  # pragma: no cover - CI runs as root
    write_pair(tmp_path, "a")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    r = fuse("--vis", str(tmp_path / "vis/a.png"), "--ir", str(tmp_path / "ir/a.png"), "-o", str(ro / "o.png"), "--model", str(tiny_checkpoint))
    assert r.exit_code != 0 and "cannot write" in r.output


def test_untrained_model_refuses(tmp_path: Path):
    write_pair(tmp_path, "a")
    r = fuse("--vis", str(tmp_path / "vis/a.png"), "--ir", str(tmp_path / "ir/a.png"), "-o", str(tmp_path / "o.png"), "--model", "textif-tiny")
    assert r.exit_code != 0 and "has no trained weights" in r.output
    assert not (tmp_path / "o.png").exists()


def test_models_command_lists_presets():
    r = runner.invoke(app, ["models"])
    assert r.exit_code == 0
    assert "textif-paper" in r.output and "63.84M" in r.output and "textif-tiny" in r.output
    from textif.inference.fuser import DEFAULT_MODEL

    marked = [ln.split()[0] for ln in r.output.splitlines() if "the default" in ln]
    assert marked == [DEFAULT_MODEL]  # one line, the default's, says so


def test_untrained_model_refuses_folders_once(tmp_path: Path):
    write_pair(tmp_path, "a")
    write_pair(tmp_path, "b", seed=1)
    r = fuse("--vis-dir", str(tmp_path / "vis"), "--ir-dir", str(tmp_path / "ir"), "-o", str(tmp_path / "out"),
             "--model", "textif-tiny", "-q")
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert r.exit_code != 0 and len(lines) == 1 and "has no trained weights" in lines[0]
