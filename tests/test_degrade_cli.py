"""``textif degrade``: writes seeded degraded copies, reports bad files, suggests names."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from textif.cli.main import app
from textif.core.io import read_image, read_image_with_info, write_image

runner = CliRunner()


@pytest.fixture()
def images(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    yy, xx = np.mgrid[0:40, 0:56].astype(np.float32)
    rgb = np.stack([0.5 + 0.3 * np.sin(xx / (5 + k)) * np.cos(yy / 7) for k in range(3)], -1)
    write_image(d / "color.png", rgb)
    write_image(d / "gray16.png", 0.4 + 0.3 * np.cos(xx / 6), bit_depth=16)
    write_image(d / "photo.jpg", rgb)
    return d


def _run(*args: str):
    return runner.invoke(app, ["degrade", *args])


def test_writes_degraded_copies(images: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = _run("--in-dir", str(images), "--out-dir", str(out), "--type", "low_light", "--severity", "0.6", "-q")
    assert r.exit_code == 0, r.output
    assert "wrote 3 degraded images" in r.output
    assert sorted(p.name for p in out.glob("*.png")) == ["color.png", "gray16.png", "photo.png"]
    for name in ("color", "photo"):
        src = read_image(images / f"{name}.{'jpg' if name == 'photo' else 'png'}", channels=3)
        dst = read_image(out / f"{name}.png")
        assert dst.shape == src.shape and dst.mean() < 0.6 * src.mean()
    _, info = read_image_with_info(out / "gray16.png")
    assert info.bit_depth == 16
    log = (out / "degradations.csv").read_text().splitlines()
    assert log[0] == "output,input,type,severity,seed" and len(log) == 4 and "low_light,0.6000" in log[1]


def test_seeded_and_reproducible(images: Path, tmp_path: Path) -> None:
    outs = []
    for i, seed in enumerate((1, 1, 2)):
        out = tmp_path / f"o{i}"
        r = _run("-i", str(images), "-o", str(out), "-t", "ir_stripe", "--seed", str(seed), "-q")
        assert r.exit_code == 0, r.output
        outs.append((out / "color.png").read_bytes())
        assert read_image_with_info(out / "color.png")[0].ndim == 2  # infrared: read and written as gray
    assert outs[0] == outs[1] != outs[2]


def test_severity_zero_copies_and_modality(images: Path, tmp_path: Path) -> None:
    out = tmp_path / "z"
    r = _run("-i", str(images), "-o", str(out), "-t", "noise", "-s", "0", "--modality", "vis", "-q")
    assert r.exit_code == 0, r.output
    assert np.array_equal(read_image(out / "color.png"), read_image(images / "color.png"))
    out2 = tmp_path / "g"
    r = _run("-i", str(images), "-o", str(out2), "-t", "blur", "-s", "0.5", "--modality", "ir", "-q")
    assert r.exit_code == 0, r.output
    assert read_image(out2 / "color.png").ndim == 2


def test_bad_file_is_skipped_with_summary(images: Path, tmp_path: Path) -> None:
    (images / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    r = _run("-i", str(images), "-o", str(out), "-t", "haze", "-s", "0.5", "-q")
    assert r.exit_code == 1
    assert "wrote 3 degraded images" in r.output and "1 failed" in r.output and "broken.png" in r.output
    assert not (out / "broken.png").exists()
    again = _run("-i", str(images), "-o", str(out), "-t", "haze", "-s", "0.5", "-q")
    assert "skipped 3 existing" in again.output


def test_unknown_type_and_bad_arguments(images: Path, tmp_path: Path) -> None:
    r = _run("-i", str(images), "-o", str(tmp_path / "o"), "-t", "low_ligth")
    assert r.exit_code == 2 and "did you mean 'low_light'" in r.output
    r = _run("-i", str(images), "-o", str(tmp_path / "o"), "-t", "low_light+ir_noise")
    assert r.exit_code == 2 and "mixes visible and infrared" in r.output
    r = _run("-i", str(images), "-o", str(images), "-t", "noise")
    assert r.exit_code == 2 and "must differ" in r.output
    r = _run("-i", str(images), "-o", str(tmp_path / "o"), "-t", "noise", "-s", "1.5")
    assert r.exit_code == 2
    r = _run("-i", str(tmp_path / "missing"), "-o", str(tmp_path / "o"), "-t", "noise")
    assert r.exit_code == 2 and "not found" in r.output
    r = _run("--list")
    assert r.exit_code == 0 and "ir_stripe" in r.output and "low_light" in r.output


def test_random_severity_and_composite(images: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    r = _run("-i", str(images), "-o", str(out), "-t", "ir_noise+ir_low_contrast", "-q")
    assert r.exit_code == 0, r.output
    rows = (out / "degradations.csv").read_text().splitlines()[1:]
    assert all(",ir_low_contrast+ir_noise," in row for row in rows)
    sevs = [float(s) for row in rows for s in row.split(",")[3].split(";")]
    assert len(sevs) == 6 and all(0.1 <= s <= 1.0 for s in sevs)
