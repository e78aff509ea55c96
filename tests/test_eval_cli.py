"""``textif eval``: reports, baselines, grids and the handling of bad input."""
from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from textif.cli.main import app
from textif.metrics import evaluate_pair

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
STEMS = ("FLIR_00006", "FLIR_00233")

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["eval", *map(str, args)])


@pytest.fixture()
def pairs(tmp_path: Path) -> Path:
    """Two RoadScene pairs copied into tmp/vis and tmp/ir."""
    src = DATA / "RoadScene"
    if not all((src / m / f"{s}.jpg").is_file() for m in ("vis", "ir") for s in STEMS):
        pytest.skip(f"shared test data not found under {DATA}")
    for m in ("vis", "ir"):
        (tmp_path / m).mkdir()
        for s in STEMS:
            shutil.copy(src / m / f"{s}.jpg", tmp_path / m / f"{s}.jpg")
    return tmp_path


def grey_max_dir(root: Path, name: str = "greymax") -> Path:
    """A method folder: the grey pixel maximum of the sources, as PNG."""
    out = root / name
    out.mkdir()
    for s in STEMS:
        vis = cv2.imread(str(root / "vis" / f"{s}.jpg"), cv2.IMREAD_GRAYSCALE)
        ir = cv2.imread(str(root / "ir" / f"{s}.jpg"), cv2.IMREAD_GRAYSCALE)
        cv2.imwrite(str(out / f"{s}.png"), np.maximum(vis, ir))
    return out


def test_report_with_baselines_grid_and_formats(pairs: Path):
    fused = grey_max_dir(pairs)
    report = pairs / "out" / "report.md"
    report.parent.mkdir()
    r = run("--vis-dir", pairs / "vis", "--ir-dir", pairs / "ir", "--fused-dir", f"mine={fused}",
            "--baselines", "avg,max", "-o", report, "--grid", STEMS[0], "--grid-height", 64)
    assert r.exit_code == 0, r.output
    md = report.read_text(encoding="utf-8")
    assert "| method | n | EN ↑ |" in md and "NIQE ↓" in md and "PSNR ·" in md
    for name in ("mine", "classic_avg", "classic_max"):
        assert f"| {name} | 2/2 |" in md
    assert "**" in md  # best values marked
    assert "## Per image" in md and f"| {STEMS[1]} | classic_max |" in md
    assert sorted(p.name for p in (pairs / "out" / "baselines" / "max").iterdir()) == [f"{s}.png" for s in STEMS]
    grid = cv2.imread(str(pairs / "out" / "report_grid.png"))
    assert grid is not None and grid.shape[0] == 64 + 22  # one row: label strip + tile
    assert not list(report.parent.glob(".*.tmp"))  # atomic writes leave nothing behind

    # smoke test: JSON holds the same numbers as the Python API it calls (the values themselves are
    # checked against outside references in test_metrics.py)
    r = run("--vis-dir", pairs / "vis", "--ir-dir", pairs / "ir", "--fused-dir", fused, "--format", "json", "-q")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    want = evaluate_pair(fused / f"{STEMS[0]}.png", ir=pairs / "ir" / f"{STEMS[0]}.jpg", vis=pairs / "vis" / f"{STEMS[0]}.jpg")
    got = data["methods"]["greymax"]["per_image"][STEMS[0]]
    assert got == pytest.approx(want, rel=1e-12)
    assert data["metrics"]["qabf"]["direction"] == "higher" and data["metrics"]["psnr"]["direction"] == "none"
    assert data["methods"]["greymax"]["n"] == 2

    # CSV: per-image rows, mean/std rows and the best row
    out_csv = pairs / "out" / "r.csv"
    r = run("--vis-dir", pairs / "vis", "--ir-dir", pairs / "ir", "--fused-dir", fused, "--baselines", "max",
            "--baseline-dir", pairs / "bl", "--metrics", "en,qabf,niqe", "-o", out_csv, "-q")
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(io.StringIO(out_csv.read_text())))
    assert rows[0] == ["method", "image", "status", "EN", "Qabf", "NIQE"]
    assert [r_[1] for r_ in rows if r_[0] == "greymax"] == [*STEMS, "__mean__", "__std__"]
    assert rows[-1][0] == "__best__" and all(rows[-1][3:])


def test_conventions_and_metric_selection(pairs: Path):
    fused = grey_max_dir(pairs)
    common = ["--vis-dir", pairs / "vis", "--ir-dir", pairs / "ir", "--fused-dir", fused, "--format", "json", "-q"]
    a = json.loads(run(*common, "--metrics", "mi,ssim,sf").stdout)
    b = json.loads(run(*common, "--metrics", "mi,ssim,sf", "--convention", "vifb,mi=bits,ssim=mean").stdout)
    assert b["metrics"]["mi"]["convention"] == "bits" and b["metrics"]["sf"]["convention"] == "vifb"
    ma, mb = a["methods"]["greymax"]["mean"], b["methods"]["greymax"]["mean"]
    assert mb["mi"] == pytest.approx(ma["mi"] / np.log(2))
    assert mb["ssim"] == pytest.approx(ma["ssim"] / 2)
    r = run(*common, "--metrics", "qabff")
    assert r.exit_code == 2 and "did you mean 'qabf'" in r.output
    r = run(*common, "--metrics", "en", "--convention", "mi=bits,ssim=nope")
    assert r.exit_code == 2 and "ssim accepts cddfuse, mean, vifb" in r.output
    r = run(*common, "--metrics", "en,musiq")
    assert r.exit_code == 0 and "metric musiq skipped" in r.output and "needs model weights" in r.output
    assert "metric musiq skipped" in json.loads(r.stdout)["notes"][0]


def test_missing_counterparts_and_size_mismatch(pairs: Path):
    fused = grey_max_dir(pairs)
    (fused / f"{STEMS[1]}.png").unlink()  # missing fused image
    (pairs / "vis" / "lonely.jpg").write_bytes((pairs / "vis" / f"{STEMS[0]}.jpg").read_bytes())  # unpaired source
    common = ["--vis-dir", pairs / "vis", "--ir-dir", pairs / "ir", "--metrics", "en,ssim"]
    r = run(*common, "--fused-dir", fused)
    assert r.exit_code == 0, r.output
    assert "unpaired sources skipped" in r.output and "lonely" in r.output
    assert "| greymax | 1/2 |" in r.stdout and f"no fused image for 1 pair(s): {STEMS[1]}" in r.stdout
    r = run(*common, "--fused-dir", fused, "--strict")
    assert r.exit_code == 2 and "error:" in r.output

    # a fused image of the wrong size is reported (never resized); --strict stops with one line
    small = cv2.imread(str(fused / f"{STEMS[0]}.png"))[:-2]
    cv2.imwrite(str(fused / f"{STEMS[0]}.png"), small)
    shutil.copy(pairs / "ir" / f"{STEMS[1]}.jpg", fused / f"{STEMS[1]}.png")  # a valid, same-size image
    (pairs / "vis" / "lonely.jpg").unlink()
    r = run(*common, "--fused-dir", fused, "-q")
    assert r.exit_code == 0, r.output
    assert "| greymax | 1/2 |" in r.stdout and "not scored" in r.stdout and "nothing is resized" in r.stdout
    r = run(*common, "--fused-dir", fused, "--strict")
    assert r.exit_code == 2
    err = r.output.strip().splitlines()[-1]
    assert err.startswith("error: ") and f"{STEMS[0]}.png" in err and "source" in err


def test_subset_and_argument_errors(pairs: Path, tmp_path: Path):
    fused = grey_max_dir(pairs)
    subset = tmp_path / "split.txt"
    subset.write_text(f"{STEMS[1]}.jpg\n\n")
    r = run("--vis-dir", pairs / "vis", "--ir-dir", pairs / "ir", "--fused-dir", fused, "--subset", subset,
            "--metrics", "en", "--format", "csv", "-q")
    assert r.exit_code == 0, r.output
    assert [row[1] for row in csv.reader(io.StringIO(r.stdout))][1:2] == [STEMS[1]]
    assert run("--vis-dir", pairs / "vis").exit_code == 2
    r = run("--vis-dir", pairs / "vis", "--ir-dir", pairs / "ir")
    assert r.exit_code == 2 and "nothing to evaluate" in r.output
    r = run("--vis-dir", pairs / "vis", "--ir-dir", pairs / "ir", "--fused-dir", tmp_path / "nope")
    assert r.exit_code == 2 and "folder not found" in r.output
    r = run("--vis-dir", pairs / "vis", "--ir-dir", pairs / "ir", "--fused-dir", fused, "--grid", "unknown_stem", "-q")
    assert r.exit_code == 2 and "unknown_stem is not among the evaluated pairs" in r.output
    r = run("--list-metrics")
    assert r.exit_code == 0 and "qabf" in r.output and "no-reference" in r.output
