"""textif.distributed without a Ray cluster: pair matching, the manifest, the CLI's checks and layout."""
from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from textif.cli.main import app
from textif.distributed.manifest import MANIFEST_NAME, ManifestWriter, read_manifest
from textif.distributed.pairs import match_pairs
from tests.test_cli_fuse import write_pair

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_match_pairs_agrees_with_single_process_fuse_folder(tmp_path: Path, tiny_fuser):
    for i, stem in enumerate(["a", "b", "c", "only_vis", "only_ir"]):
        write_pair(tmp_path, stem, 24, 32, seed=i)
    (tmp_path / "ir" / "only_vis.png").unlink()
    (tmp_path / "vis" / "only_ir.png").unlink()
    out = tmp_path / "out"
    plan = match_pairs(tmp_path / "vis", tmp_path / "ir", out)
    report = tiny_fuser.fuse_folder(tmp_path / "vis", tmp_path / "ir", out, progress=False)
    assert plan.unmatched == report.failed  # same names, same messages, same order
    assert [t[0] for t in plan.todo] == [p.stem for p in report.written] == ["a", "b", "c"]
    assert all(p.is_absolute() for t in plan.todo for p in t[1:])
    # once written, the same pairs are skipped by both (and fused again with overwrite)
    again = match_pairs(tmp_path / "vis", tmp_path / "ir", out)
    assert again.todo == [] and again.skipped == tiny_fuser.fuse_folder(tmp_path / "vis", tmp_path / "ir", out, progress=False).skipped
    assert [t[0] for t in match_pairs(tmp_path / "vis", tmp_path / "ir", out, overwrite=True).todo] == ["a", "b", "c"]


def test_match_pairs_errors_name_the_folder(tmp_path: Path):
    (tmp_path / "vis").mkdir()
    write_pair(tmp_path / "x", "a")
    from textif.core.errors import ImageReadError

    with pytest.raises(ImageReadError, match="vis: no images found"):
        match_pairs(tmp_path / "vis", tmp_path / "x" / "ir", tmp_path / "out")
    with pytest.raises(ImageReadError, match="nope: folder not found"):
        match_pairs(tmp_path / "nope", tmp_path / "x" / "ir", tmp_path / "out")


def test_manifest_survives_a_cut_last_line(tmp_path: Path):
    path = tmp_path / MANIFEST_NAME
    with ManifestWriter(path) as m:
        m.append(name="a", status="ok", seconds=0.5, worker="host:1")
    with open(path, "a", encoding="utf-8") as fh:  # a job killed in the middle of a line
        fh.write('{"name": "b", "sta')
    with ManifestWriter(path) as m:
        m.append(name="c", status="failed", worker="host:2", error="c.png: not a readable image")
    recs = read_manifest(tmp_path)  # the folder or the file
    assert [(r["name"], r["status"]) for r in recs] == [("a", "ok"), ("c", "failed")]
    assert set(recs[0]) == {"name", "status", "seconds", "worker", "error", "time"}
    assert recs[1]["error"] == "c.png: not a readable image" and recs[0]["seconds"] == 0.5
    assert len(path.read_text().splitlines()) == 3
    assert read_manifest(tmp_path / "missing") == []


def test_engine_ray_without_ray_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    write_pair(tmp_path, "a")
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    monkeypatch.setitem(sys.modules, "ray.data", None)
    r = runner.invoke(app, ["fuse", "--vis-dir", str(tmp_path / "vis"), "--ir-dir", str(tmp_path / "ir"),
                            "-o", str(tmp_path / "out"), "--engine", "ray"])
    assert r.exit_code == 2
    assert r.output.strip() == "error: the Ray engine needs Ray Data, which is not installed: pip install 'textif[ray]'"
    assert not (tmp_path / "out").exists()
    from textif.distributed import RayNotInstalledError, fuse_folder

    with pytest.raises(RayNotInstalledError, match=r"pip install 'textif\[ray\]'"):
        fuse_folder(tmp_path / "vis", tmp_path / "ir", tmp_path / "out")


def test_cli_rejects_ray_options_in_the_wrong_mode(tmp_path: Path):
    write_pair(tmp_path, "a")
    r = runner.invoke(app, ["fuse", "--vis-dir", str(tmp_path / "vis"), "--ir-dir", str(tmp_path / "ir"), "-o", str(tmp_path / "o"),
                            "--workers", "2"])
    assert r.exit_code == 2 and "need --engine ray" in r.output
    r = runner.invoke(app, ["fuse", "--vis", str(tmp_path / "vis/a.png"), "--ir", str(tmp_path / "ir/a.png"), "-o", str(tmp_path / "o.png"),
                            "--engine", "ray"])
    assert r.exit_code == 2 and "--engine ray fuses folders" in r.output


def test_cli_forwards_every_load_option():
    from textif.cli.ray_fuse import load_kwargs_from_options
    from textif.cli.fuse_cmd import Device, PrecisionOpt

    opts = {"vis_dir": Path("v"), "output": Path("o"), "model": "m", "workers": 2, "device": Device.cpu,
            "precision": PrecisionOpt.fp32, "tile": 256, "tile_overlap": 32, "allow_untrained": True, "backend": "onnx"}
    assert load_kwargs_from_options(opts) == {"device": "cpu", "precision": "fp32", "tile": 256, "tile_overlap": 32,
                                              "allow_untrained": True, "backend": "onnx"}


def _module_level_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_layout_ray_is_imported_lazily_and_never_by_inference():
    for path in (REPO / "textif").rglob("*.py"):
        assert "ray" not in _module_level_imports(path), f"{path} imports ray at module level"
    for path in (REPO / "textif" / "inference").rglob("*.py"):
        text = path.read_text()
        assert "import ray" not in text and "textif.distributed" not in text, path


def test_manifest_records_are_json_lines(tmp_path: Path):
    with ManifestWriter(tmp_path / MANIFEST_NAME) as m:
        rec = m.append(name="é", status="ok", seconds=1.23456789, worker="h:1")
    line = (tmp_path / MANIFEST_NAME).read_text(encoding="utf-8").splitlines()[0]
    assert json.loads(line) == rec and rec["seconds"] == 1.2346


def test_worker_reports_a_model_it_cannot_load_as_fatal(tmp_path: Path):
    from textif.distributed.ray_engine import _PairWorker

    w = _PairWorker(str(tmp_path / "no-model"), {"device": "cpu"}, None, 8, False, False)
    rows = w({"name": ["a"], "vis": ["v.png"], "ir": ["i.png"], "out": [str(tmp_path / "a.png")]})
    assert rows["fatal"] == [True] and rows["status"] == ["failed"]
    assert rows["error"] == [f"{tmp_path / 'no-model'}: model folder not found"]


def test_worker_fuses_skips_existing_and_records_bad_pairs(tmp_path: Path, tiny_checkpoint: Path, tiny_fuser):
    from textif.distributed.ray_engine import _PairWorker

    write_pair(tmp_path, "a", 24, 32)
    write_pair(tmp_path, "b", 24, 32)
    (tmp_path / "ir" / "b.png").write_bytes(b"")
    out = tmp_path / "out"
    out.mkdir()
    text = "the visible image is too dark"
    w = _PairWorker(str(tiny_checkpoint), {"device": "cpu"}, text, 8, False, False)
    batch = {k: [] for k in ("name", "vis", "ir", "out")}
    for stem in "ab":
        for key, value in zip(batch, (stem, tmp_path / "vis" / f"{stem}.png", tmp_path / "ir" / f"{stem}.png", out / f"{stem}.png")):
            batch[key].append(str(value))
    rows = w(batch)
    assert rows["status"] == ["ok", "failed"] and rows["fatal"] == [False, False]
    assert rows["error"] == ["", f"{tmp_path / 'ir' / 'b.png'}: file is empty"]
    ref = tiny_fuser.fuse_file(tmp_path / "vis/a.png", tmp_path / "ir/a.png", tmp_path / "ref.png", text)
    assert (out / "a.png").read_bytes() == ref.read_bytes()
    # a retried batch does not fuse an output that exists again
    mtime = (out / "a.png").stat().st_mtime_ns
    assert w(batch)["status"][0] == "ok" and (out / "a.png").stat().st_mtime_ns == mtime


def test_workers_get_absolute_paths_and_this_checkout_on_their_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import os

    import textif
    from textif.distributed.ray_engine import _absolute_paths, _worker_runtime_env

    (tmp_path / "ckpt").mkdir()
    monkeypatch.chdir(tmp_path)
    model, kw = _absolute_paths("ckpt", {"text_encoder_path": Path("clip"), "device": "cpu", "tile": 256})
    assert model == str(tmp_path / "ckpt") and kw == {"text_encoder_path": str(tmp_path / "clip"), "device": "cpu", "tile": 256}
    assert _absolute_paths("textif-small", {})[0] == "textif-small"  # a preset name stays a name
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(["/elsewhere", str(REPO)]))
    env = _worker_runtime_env()
    root = str(Path(textif.__file__).resolve().parents[1])
    assert env == {"env_vars": {"PYTHONPATH": os.pathsep.join([root, "/elsewhere"] if root == str(REPO) else [root, "/elsewhere", str(REPO)])}}
