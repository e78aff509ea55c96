"""The Ray engine on a local Ray instance (2 CPUs, shared by the tests of this module).

Ray start-up and the workers' model loading take most of the time here, so the module runs
three jobs in all on one Ray session.
"""
from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from textif.cli.main import app
from textif.distributed.manifest import read_manifest
from tests.test_cli_fuse import write_pair

ray = pytest.importorskip("ray", reason="the Ray engine needs the textif[ray] extra")
pytest.importorskip("ray.data")

runner = CliRunner()
TEXT = "the visible image is too dark"


@pytest.fixture(scope="module")
def ray_session():
    """One local Ray instance for the module; workers inherit PYTHONPATH (and get it again from
    the engine's runtime_env), so they import this checkout of textif."""
    if ray.is_initialized():  # pragma: no cover - someone else's session
        yield
        return
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    yield
    ray.shutdown()


def _raw(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_ray_engine_matches_single_process_and_records_the_bad_pair(tmp_path: Path, tiny_checkpoint: Path, ray_session):
    for i, stem in enumerate(["a", "b", "c", "d", "e"]):
        write_pair(tmp_path, stem, 40, 56, seed=i)
    (tmp_path / "ir" / "c.png").write_bytes(b"\x89PNG but cut short")  # corrupt pair
    (tmp_path / "ir" / "e.png").unlink()  # unmatched visible image
    common = ["--vis-dir", str(tmp_path / "vis"), "--ir-dir", str(tmp_path / "ir"), "--model", str(tiny_checkpoint),
              "--text", TEXT, "--bit-depth", "16", "--device", "cpu", "-q"]
    # Ray gives each worker one torch thread (its one CPU); a single-process run with as many
    # threads sums in the same order, so the outputs must be identical
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ref = runner.invoke(app, ["fuse", *common, "-o", str(tmp_path / "ref")])
    finally:
        torch.set_num_threads(threads)
    assert ref.exit_code == 1, ref.output
    r = runner.invoke(app, ["fuse", *common, "-o", str(tmp_path / "out"), "--engine", "ray", "--workers", "2"])
    assert r.exit_code == 1, r.output
    assert "fused 3 pairs" in r.output and "on 2 Ray workers" in r.output and "2 failed" in r.output
    assert f"{tmp_path / 'ir' / 'c.png'}: not a readable image" in r.output
    assert "no infrared image named e.*" in r.output
    # same files, same 16-bit pixels as single-process mode; no temporary files left behind
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["_manifest.jsonl", "a.png", "b.png", "d.png"]
    for stem in "abd":
        a, b = _raw(tmp_path / "ref" / f"{stem}.png"), _raw(out / f"{stem}.png")
        assert a.dtype == b.dtype == np.uint16 and a.shape == b.shape == (40, 56, 3)
        np.testing.assert_array_equal(a, b)
    recs = {rec["name"]: rec for rec in read_manifest(out)}
    assert set(recs) == {"a", "b", "c", "d", "e.png"}
    assert recs["c"]["status"] == "failed" and "c.png: not a readable image" in recs["c"]["error"]
    assert recs["e.png"]["status"] == "failed" and recs["e.png"]["worker"] == ""
    for stem in "abd":
        assert recs[stem]["status"] == "ok" and recs[stem]["error"] == "" and recs[stem]["seconds"] > 0
        host, pid = recs[stem]["worker"].rsplit(":", 1)
        assert host and int(pid) != os.getpid()


def test_interrupted_job_resumes_with_only_the_missing_pairs_and_survives_a_worker_death(
    tmp_path: Path, tiny_checkpoint: Path, tiny_fuser, ray_session
):
    from textif.distributed import fuse_folder

    tiny_fuser.embed(TEXT)  # the embedding goes to the disk cache once, not into every worker
    stems = [f"p{i}" for i in range(8)]
    for i, stem in enumerate(stems):
        write_pair(tmp_path, stem, 128, 160, seed=i)
    out = tmp_path / "out"
    kw = dict(text=TEXT, model=tiny_checkpoint, device="cpu", workers=1, progress=False)

    def interrupt(rec):  # the driver is stopped (Ctrl-C) as soon as the first pair is recorded
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fuse_folder(tmp_path / "vis", tmp_path / "ir", out, **kw, on_record=interrupt)
    done = {p.stem: p.stat().st_mtime_ns for p in out.glob("*.png")}
    assert 1 <= len(done) < len(stems) - 2, done
    assert [r["name"] for r in read_manifest(out)][0] in done
    assert not list(out.glob(".*.tmp"))

    killed: list[int] = []

    def kill_worker(rec):  # the worker that fused the first pair of the second run dies
        if not killed:
            killed.append(int(rec["worker"].rsplit(":", 1)[1]))
            os.kill(killed[0], signal.SIGKILL)

    report = fuse_folder(tmp_path / "vis", tmp_path / "ir", out, **kw, on_record=kill_worker)
    missing = sorted(set(stems) - set(done))
    assert report.failed == []
    assert sorted(p.stem for p in report.written) == missing
    assert sorted(p.stem for p in report.skipped) == sorted(done)
    assert {p.stem: p.stat().st_mtime_ns for p in out.glob("*.png") if p.stem in done} == done  # not fused again
    assert sorted(p.stem for p in out.glob("*.png")) == stems
    second = read_manifest(out)[-len(missing):]
    assert sorted(r["name"] for r in second) == missing and all(r["status"] == "ok" for r in second)
    workers = {r["worker"] for r in second}
    assert len(workers) >= 2 and any(w.endswith(f":{killed[0]}") for w in workers)  # Ray restarted the actor
