from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from textif.core.errors import TextIFError
from textif.training.config import load_config
from tests.conftest import smooth_pair


def make_pairs(root: Path, n: int = 6, h: int = 72, w: int = 88) -> None:
    (root / "vis").mkdir(parents=True)
    (root / "ir").mkdir(parents=True)
    for i in range(n):
        vis, ir = smooth_pair(h, w, seed=i)
        cv2.imwrite(str(root / "vis" / f"p{i}.png"), (vis[..., ::-1] * 255).astype(np.uint8))
        cv2.imwrite(str(root / "ir" / f"p{i}.png"), (ir * 255).astype(np.uint8))


def write_config(tmp: Path, **over) -> Path:
    make_pairs(tmp / "data")
    cfg = {
        "model": "textif-tiny",
        "data": {"root": str(tmp / "data"), "crop": 32, "num_workers": 0,
                 "sources": [{"kind": "paired", "vis": "vis", "ir": "ir", "repeat": 2}]},
        "val": {"vis": "vis", "ir": "ir", "split": None, "images": 2, "size": 32, "every_n_steps": 2},
        "batch_size": 2, "max_steps": 2, "out_dir": str(tmp / "run"), "checkpoint_every_n_steps": 2,
        "log_every_n_steps": 1, "threads": 1,
    }
    cfg.update(over)
    p = tmp / "cfg.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p


def test_config_errors(tmp_path: Path):
    with pytest.raises(TextIFError, match="config file not found"):
        load_config(tmp_path / "none.yaml")
    (tmp_path / "a.yaml").write_text("batch_sise: 3\n")
    with pytest.raises(TextIFError, match="unknown key.*'batch_sise' \\(did you mean 'batch_size'\\?\\)"):
        load_config(tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text("data: {crop: 64, sourcez: []}\n")
    with pytest.raises(TextIFError, match="data: unknown key"):
        load_config(tmp_path / "b.yaml")
    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "textif-small.yaml", max_steps=7)
    assert cfg.max_steps == 7 and cfg.model == "textif-small" and cfg.data.sources[0].exclude == "splits/roadscene_val.txt"


def test_train_resume_and_export(tmp_path: Path):
    from textif.training.run import train

    cfg_file = write_config(tmp_path)
    export = train(load_config(cfg_file), progress=False)
    meta = json.loads((export / "config.json").read_text())
    assert meta["trained"] and meta["training"]["steps"] == 2 and meta["text_encoder"]["name"] == "minilm"
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
    assert list((tmp_path / "run" / "samples").glob("step_*.png")), "validation grid written"
    assert "train/loss" in (tmp_path / "run" / "logs" / "metrics.csv").read_text()
    # running again with more steps resumes from last.ckpt instead of starting over
    train(load_config(cfg_file, max_steps=4), progress=False)
    meta = json.loads((export / "config.json").read_text())
    assert meta["training"]["steps"] == 4
    # the export is a normal checkpoint the Fuser can load; suggested prompts ship with it
    import textif

    fuser = textif.load(str(export), device="cpu")
    assert fuser.checkpoint.text_cache and fuser.checkpoint.trained
    vis, ir = smooth_pair(30, 41)
    assert fuser.fuse(vis, ir).shape == (30, 41, 3)


def test_consistency_to_frozen_teacher(tmp_path: Path):
    """The self-consistency term pulls the output toward the teacher's fusion of the clean pair;
    the teacher is frozen and stays out of the Lightning checkpoint."""
    import torch

    from textif.data.prompts import NEUTRAL_PROMPT
    from textif.models import create_model
    from textif.models.hub import save_pretrained
    from textif.training.module import TextIFModule

    torch.manual_seed(0)
    teacher_dir = save_pretrained(create_model("textif-tiny"), tmp_path / "teacher", name="textif-tiny",
                                  text_encoder="minilm", training={"steps": 1})
    cfg = load_config(write_config(tmp_path), consistency_weight=5.0, teacher=str(teacher_dir))
    with pytest.raises(ValueError, match="needs a teacher"):
        TextIFModule(load_config(write_config(tmp_path / "b"), consistency_weight=1.0))
    module = TextIFModule(cfg)
    assert not any(k.startswith("_teacher") for k in module.state_dict())
    teacher = module._teacher[0]
    assert not any(p.requires_grad for p in teacher.parameters())
    vis, ir = smooth_pair(32, 32, seed=3)
    vis_t = torch.from_numpy(vis).permute(2, 0, 1)[None].float()
    ir_t = torch.from_numpy(ir)[None, None].float()
    target = module.teacher_target(vis_t, ir_t)
    assert target.shape == (1, 3, 32, 32) and 0 <= float(target.min()) and float(target.max()) <= 1
    # a student initialised as the teacher matches it exactly on clean input: zero consistency error
    module.model.load_state_dict(teacher.state_dict())
    with torch.no_grad():
        out = module(vis_t, ir_t, [NEUTRAL_PROMPT]).clamp(0, 1)
    assert float((out - target).abs().max()) < 1e-5
    # one optimisation step on the term alone moves the student and leaves the teacher unchanged
    before = [p.detach().clone() for p in teacher.parameters()]
    module.model.load_state_dict(create_model("textif-tiny").state_dict())
    opt = torch.optim.SGD(module.model.parameters(), lr=0.1)
    loss = (module(vis_t, ir_t, [NEUTRAL_PROMPT]) - target).abs().mean()
    loss.backward()
    opt.step()
    with torch.no_grad():
        after = (module(vis_t, ir_t, [NEUTRAL_PROMPT]) - target).abs().mean()
    assert float(after) < float(loss.detach())
    assert all(torch.equal(a, b) for a, b in zip(before, teacher.parameters()))
    # the trainer logs the term
    from textif.training.run import train

    train(cfg, progress=False)
    assert "train/consistency" in (tmp_path / "run" / "logs" / "metrics.csv").read_text()


@pytest.mark.slow
def test_two_process_ddp_on_cpu(tmp_path: Path):
    cfg_file = write_config(tmp_path, max_steps=3)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(
        [sys.executable, "-m", "textif.cli.main", "train", "-c", str(cfg_file), "--devices", "2",
         "--strategy", "ddp", "--accelerator", "cpu", "-q"],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "world_size=2" in r.stderr.replace(" ", "") or "MEMBER: 2/2" in r.stderr
    meta = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert meta["training"]["steps"] == 3 and meta["training"]["world_size"] == 2
