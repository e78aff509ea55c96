from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
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
    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "textif-small" / "1-pretrain.yaml", max_steps=7)
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


def test_distill_into_another_architecture(tmp_path: Path):
    """A student with another stem starts from the teacher's weights where they fit
    (``init_partial``), the rest fresh and recorded; ``distill_weight`` pulls it toward the
    teacher's output on the same input, and the lineage names the teacher."""
    import torch

    from textif.models import create_model
    from textif.models.hub import save_pretrained
    from textif.training.module import TextIFModule
    from textif.training.run import train

    torch.manual_seed(0)
    teacher_dir = save_pretrained(create_model("textif-tiny"), tmp_path / "teacher", name="textif-tiny",
                                  text_encoder="minilm", training={"steps": 1})
    over = dict(model_overrides={"stem": 2}, init_from=str(teacher_dir), distill_weight=5.0,
                distill_gradient_weight=0.5)
    with pytest.raises(TextIFError, match="stem differ.*init_partial"):
        TextIFModule(load_config(write_config(tmp_path / "a"), **over))
    cfg = load_config(write_config(tmp_path), init_partial=True, **over)
    module = TextIFModule(cfg)
    teacher = module._teacher[0].state_dict()
    fresh = set(module.fresh_parameters)
    assert fresh and all(k.startswith(("encoder_vis.", "encoder_ir.", "output.")) for k in fresh)
    student = module.model.state_dict()
    assert all(torch.equal(student[k], teacher[k]) for k in student if k not in fresh)
    assert any(student[k].shape != teacher[k].shape for k in fresh)
    export = train(cfg, progress=False)
    assert "train/distill" in (tmp_path / "run" / "logs" / "metrics.csv").read_text()
    stage = json.loads((export / "config.json").read_text())["training"]
    assert stage["teacher"] == str(teacher_dir) and set(stage["fresh_parameters"]) == fresh
    assert stage["config"]["distill_weight"] == 5.0 and stage["config"]["init_partial"] is True
    assert stage["config"]["distill_gradient_weight"] == 0.5
    with pytest.raises(ValueError, match="distill_gradient_weight must be >= 0"):
        TextIFModule(load_config(write_config(tmp_path / "b"), init_partial=True, **{**over, "distill_gradient_weight": -1.0}))
    with pytest.raises(ValueError, match="does nothing without the distillation term"):
        TextIFModule(load_config(write_config(tmp_path / "c"), init_partial=True,
                                 **{**over, "distill_weight": 0.0, "distill_gradient_weight": 0.5}))


def test_channels_last_training_is_the_same_computation(tmp_path: Path):
    """``channels_last`` (the default) keeps the network and the batches in NHWC memory: the first
    step's loss is the one contiguous memory gives, and the export is a plain contiguous checkpoint."""
    import csv

    from textif.models.hub import from_pretrained
    from textif.training.module import TextIFModule
    from textif.training.run import train

    def first_loss(sub: str, channels_last: bool) -> float:
        cfg = load_config(write_config(tmp_path / sub, out_dir=str(tmp_path / sub / "run")), channels_last=channels_last)
        export = train(cfg, progress=False)
        assert from_pretrained(export).model is not None
        log = (tmp_path / sub / "run" / "logs" / "metrics.csv").read_text().splitlines()
        rows = [r for r in csv.DictReader(log) if r.get("train/loss")]
        return float(rows[0]["train/loss"])

    module = TextIFModule(load_config(write_config(tmp_path / "m")))
    convs = [p for p in module.model.parameters() if p.dim() == 4 and p.shape[-1] > 1]
    assert convs and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
    batch = module.memory_format({"vis": torch.rand(2, 3, 8, 8), "text": ["x", "y"]})
    assert batch["vis"].is_contiguous(memory_format=torch.channels_last) and batch["text"] == ["x", "y"]
    a, b = first_loss("cl", True), first_loss("plain", False)
    assert a == pytest.approx(b, rel=1e-5)


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


class _Recorder:
    """Lightning callback recording what each optimiser step learns from."""

    def __init__(self, stop_at: int | None = None) -> None:
        import lightning as L

        self.seen: list[tuple] = []
        self.stop_at = stop_at
        rec = self

        class _CB(L.Callback):
            def on_train_batch_start(self, trainer, module, batch, batch_idx):
                rec.seen.append((trainer.global_step, tuple(batch["stream_index"].tolist()), tuple(batch["name"]),
                                 tuple(batch["text"]), round(float(batch["vis"].double().sum()), 6)))

            def on_train_batch_end(self, trainer, module, *args):
                if rec.stop_at is not None and trainer.global_step >= rec.stop_at:
                    trainer.should_stop = True

        self.callback = _CB()


def _weights(export: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(export / "model.safetensors"))


def test_interrupted_and_resumed_run_equals_an_uninterrupted_run(tmp_path: Path):
    """Interrupted at step 3 and resumed, a run sees exactly the samples an uninterrupted run sees
    and ends with the same weights; a fresh run that only reaches the same step count does not
    count as resumed (its stream starts over)."""
    import torch

    from textif.training.run import train

    common = dict(max_steps=6, checkpoint_every_n_steps=3, val={"vis": None}, seed=7)
    whole = _Recorder()
    cfg_a = load_config(write_config(tmp_path / "a", out_dir=str(tmp_path / "a" / "run"), **common))
    export_a = train(cfg_a, progress=False, extra_callbacks=[whole.callback])
    assert [s[0] for s in whole.seen] == list(range(6))

    cfg_b = load_config(write_config(tmp_path / "b", out_dir=str(tmp_path / "b" / "run"), **common))
    first = _Recorder(stop_at=3)
    train(cfg_b, progress=False, extra_callbacks=[first.callback])
    assert [s[0] for s in first.seen] == [0, 1, 2]
    second = _Recorder()
    export_b = train(cfg_b, progress=False, extra_callbacks=[second.callback])  # resumes from last.ckpt
    assert [s[0] for s in second.seen] == [3, 4, 5]
    assert first.seen + second.seen == whole.seen, "the resumed run replayed or skipped samples"
    wa, wb = _weights(export_a), _weights(export_b)
    assert wa.keys() == wb.keys()
    worst = max(float((wa[k].float() - wb[k].float()).abs().max()) for k in wa)
    assert worst < 1e-5, f"resumed weights differ from the uninterrupted run's by {worst}"
    meta = json.loads((export_b / "config.json").read_text())
    assert meta["training"]["steps"] == 6 and meta["training"]["total_steps"] == 6

    # starting over in a new folder replays from sample 0: the check above can tell the difference
    fresh = _Recorder()
    cfg_c = load_config(write_config(tmp_path / "c", out_dir=str(tmp_path / "c" / "run"), **common), max_steps=3)
    train(cfg_c, progress=False, extra_callbacks=[fresh.callback])
    assert fresh.seen == whole.seen[:3] and fresh.seen != whole.seen[3:]
    assert torch.is_tensor(next(iter(wa.values())))


def test_resume_with_a_different_config_is_refused_unless_allowed(tmp_path: Path):
    from textif.training.module import ConfigMismatchError
    from textif.training.run import train

    cfg_file = write_config(tmp_path, val={"vis": None})
    train(load_config(cfg_file), progress=False)
    changed = yaml.safe_load(cfg_file.read_text())
    changed["optim"] = {"lr": 1e-3}
    changed["data"]["keep_prob"] = 0.5
    changed["max_steps"] = 3  # run control: may change
    cfg_file.write_text(yaml.safe_dump(changed))
    with pytest.raises(ConfigMismatchError, match=r"data\.keep_prob, optim\.lr differ.*--allow-config-change"):
        train(load_config(cfg_file), progress=False)
    export = train(load_config(cfg_file), progress=False, allow_config_change=True)
    meta = json.loads((export / "config.json").read_text())["training"]
    assert meta["steps"] == 3 and meta["resumed_with_changes"] == ["data.keep_prob", "optim.lr"]
    # the first part's log survives the resume
    assert (tmp_path / "run" / "logs" / "metrics.csv").is_file()
    assert (tmp_path / "run" / "logs" / "resumed-1" / "metrics.csv").is_file()


def test_extends_and_stage_lineage(tmp_path: Path):
    """A stage config extends a base, starts from the model another config exports, sees new
    samples, and its export records the full resolved config of every stage, oldest first."""
    from textif.models.provenance import lineage
    from textif.training.module import TextIFModule
    from textif.training.run import train

    base = write_config(tmp_path, val={"vis": None}, seed=3)
    base.rename(tmp_path / "base.yaml")
    (tmp_path / "stages").mkdir()
    s1 = tmp_path / "stages" / "s1.yaml"
    s1.write_text(f"extends: ../base.yaml\nout_dir: {tmp_path / 'runs' / 's1'}\n")
    s2 = tmp_path / "stages" / "s2.yaml"
    s2.write_text("extends: s1.yaml\ninit_from: {config: s1.yaml}\nconsistency_weight: 1.0\noptim: {lr: 1.0e-4}\n")
    c1, c2 = load_config(s1), load_config(s2)
    assert c2.out_dir == "runs/s2", "out_dir is not inherited"
    assert c2.init_from == str(tmp_path / "runs" / "s1" / "model") and c2.optim.lr == 1e-4 and c2.batch_size == 2
    assert c2.origin["init_from_config"] == str(s1.resolve()) and c2.origin["extends"][-1] == str(s1.resolve())
    with pytest.raises(TextIFError, match="is neither a checkpoint folder nor a model shipped.*stages/s1.yaml exports: train that stage first"):
        TextIFModule(c2)  # stage 1 not trained yet
    e1 = train(c1, progress=False)
    c2 = load_config(s2, out_dir=str(tmp_path / "runs" / "s2"))
    m2 = TextIFModule(c2)
    assert m2.data_seed != TextIFModule(c1).data_seed, "a continuation stage draws new samples"
    same = load_config(s2, out_dir=str(tmp_path / "runs" / "s2"), data_seed=TextIFModule(c1).data_seed)
    assert TextIFModule(same).data_seed == 3, "unless asked to replay its parent's stream"
    e2 = train(c2, progress=False)
    t = json.loads((e2 / "config.json").read_text())["training"]
    stages = lineage(t)
    assert [s["stage"] for s in stages] == [1, 2] and t["total_steps"] == 4
    assert stages[0]["config_file"].endswith("stages/s1.yaml") and stages[0]["init_from"] is None
    assert stages[1]["init_from"] == str(e1) and stages[1]["init_from_config"].endswith("stages/s1.yaml")
    assert stages[1]["teacher_config"].endswith("stages/s1.yaml")  # the teacher defaults to init_from
    assert stages[1]["config"]["optim"]["lr"] == 1e-4 and stages[0]["config"]["optim"]["lr"] == 3e-4
    assert stages[1]["data_seed"] == m2.data_seed
    # cycles and bad references are clear errors
    (tmp_path / "x.yaml").write_text("extends: y.yaml\n")
    (tmp_path / "y.yaml").write_text("extends: x.yaml\n")
    with pytest.raises(TextIFError, match="'extends' forms a cycle"):
        load_config(tmp_path / "x.yaml")
    (tmp_path / "z.yaml").write_text("init_from: {config: z.yaml}\n")
    with pytest.raises(TextIFError, match="cannot start from itself"):
        load_config(tmp_path / "z.yaml")


def test_old_nested_provenance_reads_as_a_lineage():
    from textif.models.provenance import lineage, total_steps

    old = {"steps": 2, "config": {"init_from": "a/model"}, "init_training": {"steps": 5, "config": {}}, "total_steps": 7}
    stages = lineage(old)
    assert [(s["stage"], s["steps"], s["init_from"]) for s in stages] == [(1, 5, None), (2, 2, "a/model")]
    assert total_steps(old) == 7 and lineage(None) == []


def test_a_stage_grows_its_start_and_trains_only_the_new_path(tmp_path: Path):
    """init_from a network without the detail path into one with it (and window attention): every
    trained weight carries over; with train_only only the new path changes; the lineage records both
    stages; a train_only prefix that matches nothing and an architecture that cannot grow are refused."""
    from textif.models.hub import from_pretrained
    from textif.training.run import train

    parent = train(load_config(write_config(tmp_path / "a")), progress=False)
    grow = {"window": 2, "detail_dim": 4, "detail_blocks": 1}
    cfg = load_config(write_config(tmp_path / "b", init_from=str(parent), model_overrides=grow,
                                   train_only=["detail"], optim={"lr": 1e-2, "warmup_steps": 1}))
    child = train(cfg, progress=False)
    before, after = _weights(parent), _weights(child)
    assert set(after) - set(before) and all(k.startswith("detail.") for k in set(after) - set(before))
    assert all(torch_equal(before[k], after[k]) for k in before), "frozen weights changed"
    assert any(not torch_equal(after[k], 0 * after[k]) for k in after if k.startswith("detail.out"))
    ck = from_pretrained(child)
    assert ck.model.config.detail_dim == 4 and len(ck.training["lineage"]) == 2
    assert ck.training["lineage"][-1]["config"]["train_only"] == ["detail"]
    with pytest.raises(TextIFError, match="train_only: no parameter of textif-tiny starts with detial"):
        train(load_config(write_config(tmp_path / "c", init_from=str(parent), model_overrides=grow,
                                       train_only=["detial"])), progress=False)
    with pytest.raises(TextIFError, match="does not fit model textif-tiny: .*dim differ"):
        train(load_config(write_config(tmp_path / "d", init_from=str(parent), model_overrides={"dim": 16})),
              progress=False)


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a, b))


def test_a_time_bound_stops_the_run_and_still_exports(tmp_path: Path):
    """max_minutes (scripts/train_gpu.sh's bound) ends a run early with a normal export; the bound and
    the data's location are run control, so a resume elsewhere with another bound is no config change."""
    import shutil

    from textif.training.run import train

    cfg_file = write_config(tmp_path, max_steps=50, max_minutes=0.0005, val={"vis": None})
    export = train(load_config(cfg_file), progress=False)
    steps = json.loads((export / "config.json").read_text())["training"]["steps"]
    assert 1 <= steps < 50
    moved = tmp_path / "moved-data"
    shutil.copytree(tmp_path / "data", moved)
    shutil.rmtree(tmp_path / "data")
    cfg = load_config(cfg_file, max_minutes=10.0, max_steps=steps + 1)
    cfg.data.root = str(moved)
    train(cfg, progress=False)
    meta = json.loads((export / "config.json").read_text())["training"]
    assert meta["steps"] == steps + 1 and not meta.get("resumed_with_changes")


def test_gpu_script_and_config_are_ready():
    """The GPU stage (run only where a GPU is lent) loads, continues textif-restore and is time-bounded."""
    repo = Path(__file__).resolve().parents[1]
    cfg = load_config(repo / "configs" / "textif-restore" / "gpu.yaml")
    assert cfg.init_from == "textif-restore" and cfg.accelerator == "gpu" and not cfg.train_only
    assert cfg.batch_size > 8 and cfg.data.crop > 128
    script = (repo / "scripts" / "train_gpu.sh")
    assert os.access(script, os.X_OK)
    p = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([str(script)], capture_output=True, text=True)
    assert p.returncode != 0 and "usage: scripts/train_gpu.sh OUT_DIR" in p.stderr


def test_validation_samples_do_not_depend_on_the_run_seed(tmp_path: Path):
    """Validation losses must compare across stages, whose seeds differ: the validation samples'
    degradations and prompts follow ``val.seed`` only."""
    from textif.training.data import TextIFDataModule

    def val_samples(sub: str, **over) -> list[dict]:
        dm = TextIFDataModule(load_config(write_config(tmp_path / sub), **over))
        dm.setup("fit")
        return [dm.val_set[i] for i in range(len(dm.val_set))]

    def identical(xs: list[dict], ys: list[dict]) -> bool:
        return all(torch.equal(x["vis"], y["vis"]) and torch.equal(x["ir"], y["ir"]) and x["text"] == y["text"]
                   for x, y in zip(xs, ys, strict=True))

    a, b = val_samples("a", seed=1), val_samples("b", seed=2)
    c = val_samples("c", seed=1, val={"vis": "vis", "ir": "ir", "split": None, "images": 2, "size": 32, "seed": 5})
    assert len(a) > 1 and identical(a, b)
    assert not identical(a, c)


def test_text_noise_keeps_norms_the_slider_coordinate_and_unmasked_rows():
    from textif.training.module import perturb_embeddings

    emb = torch.nn.functional.normalize(torch.randn(64, 32, generator=torch.Generator().manual_seed(1)), dim=1)
    u = torch.randn(32, generator=torch.Generator().manual_seed(2))
    mask = torch.arange(64) % 3 != 0
    out = perturb_embeddings(emb, 0.6, torch.Generator().manual_seed(3), mask=mask, keep_direction=u)
    again = perturb_embeddings(emb, 0.6, torch.Generator().manual_seed(3), mask=mask, keep_direction=u)
    assert torch.equal(out, again)  # a pure function of the generator's seed
    torch.testing.assert_close(out.norm(dim=1), emb.norm(dim=1))
    torch.testing.assert_close(out @ u, emb @ u, atol=1e-5, rtol=0)  # the slider's coordinate is untouched
    assert torch.equal(out[~mask], emb[~mask])
    moved = (out - emb).norm(dim=1)[mask]
    # lengths drawn from [0, 0.6], shortened a little by the rescaling: some small, some large, none above
    assert moved.max() <= 0.6 and moved.max() > 0.35 and moved.min() < 0.1
    assert torch.equal(perturb_embeddings(emb, 0.0, torch.Generator()), emb)


def test_text_noise_reaches_the_student_only(tmp_path: Path):
    from textif.training.module import TextIFModule
    from textif.training.run import train

    cfg = load_config(write_config(tmp_path, text_noise=0.5, preference={"prob": 0.5}))
    module = TextIFModule(cfg)
    emb = module.embed(["Fuse the infrared and visible images.", "The infrared image is noisy, please remove the noise."])
    neutral = torch.tensor([True, False])  # the second sample asks for a preference: left as it is
    student = module.student_embeddings(emb, neutral)
    assert not torch.allclose(student[0], emb[0]) and torch.equal(student[1], emb[1])
    plain = TextIFModule(load_config(write_config(tmp_path / "plain")))
    assert torch.equal(plain.student_embeddings(emb, neutral), emb)
    # the trainer uses it, and the stage's config records it
    train(cfg, progress=False)
    saved = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert saved["training"]["config"]["text_noise"] == 0.5


def test_mismatched_prompts_are_left_out_of_the_distillation_term(tmp_path: Path):
    """With ``mismatch_prob`` the reference is the input as it is, while the teacher would repair what
    the prompt names: those samples follow the loss alone, so with every sample mismatched the
    distillation term is exactly 0 at every step (and it is not without mismatching)."""
    import csv

    from textif.models import create_model
    from textif.models.hub import save_pretrained
    from textif.training.run import train

    torch.manual_seed(123)  # a teacher other than the student (which starts from seed 0)
    teacher_dir = save_pretrained(create_model("textif-tiny"), tmp_path / "teacher", name="textif-tiny",
                                  text_encoder="minilm", training={"steps": 1})

    def distill_terms(folder: Path, mismatch: float) -> list[float]:
        p = write_config(folder, teacher=str(teacher_dir), distill_weight=5.0, max_steps=3)
        cfg = yaml.safe_load(p.read_text())
        cfg["data"]["mismatch_prob"] = mismatch
        p.write_text(yaml.safe_dump(cfg))
        train(load_config(p), progress=False)
        rows = list(csv.DictReader((folder / "run" / "logs" / "metrics.csv").open()))
        return [float(r["train/distill"]) for r in rows if r.get("train/distill")]

    assert distill_terms(tmp_path / "all", 1.0) == [0.0, 0.0, 0.0]
    plain = distill_terms(tmp_path / "none", 0.0)
    assert len(plain) == 3 and all(v > 0 for v in plain), plain


def test_distill_keep_leaves_out_samples_with_a_skipped_degradation():
    from textif.training.module import distill_keep

    keep = distill_keep(["fusion", "blur", "blur+ir_noise", "ir_noise", "rain+ir_stripe"], ["blur", "ir_stripe"])
    assert keep.tolist() == [1.0, 0.0, 0.0, 1.0, 0.0]
    assert distill_keep(["blur"], []).tolist() == [1.0]
    assert distill_keep(["blur", "noise"], ["Blur"]).tolist() == [0.0, 1.0]  # names in any case, like the check


def test_distill_skip_errors(tmp_path: Path):
    from textif.training.module import TextIFModule

    with pytest.raises(ValueError, match="distill_skip=\\['blur'\\] does nothing without the distillation term"):
        TextIFModule(load_config(write_config(tmp_path, distill_skip=["blur"])))
    with pytest.raises(TextIFError, match="did you mean 'blur'"):
        TextIFModule(load_config(write_config(tmp_path / "b", distill_skip=["blurr"], distill_weight=1.0)))


def test_distill_skip_takes_every_degraded_sample_out_of_the_distillation_term(tmp_path: Path):
    """With every sample degraded (no clean pairs, no "fuse as is") and every degradation in
    ``distill_skip``, the distillation term is exactly 0 at every step, and it is not without it."""
    import csv

    from textif.data.degradations import DEGRADATIONS
    from textif.models import create_model
    from textif.models.hub import save_pretrained
    from textif.training.run import train

    torch.manual_seed(123)
    teacher_dir = save_pretrained(create_model("textif-tiny"), tmp_path / "teacher", name="textif-tiny",
                                  text_encoder="minilm", training={"steps": 1})

    def distill_terms(folder: Path, skip: list[str]) -> list[float]:
        p = write_config(folder, teacher=str(teacher_dir), distill_weight=5.0, max_steps=3, distill_skip=skip)
        cfg = yaml.safe_load(p.read_text())
        cfg["data"].update(degrade_prob=1.0, keep_prob=0.0)
        p.write_text(yaml.safe_dump(cfg))
        train(load_config(p), progress=False)
        rows = list(csv.DictReader((folder / "run" / "logs" / "metrics.csv").open()))
        return [float(r["train/distill"]) for r in rows if r.get("train/distill")]

    assert distill_terms(tmp_path / "all", list(DEGRADATIONS.names())) == [0.0, 0.0, 0.0]
    plain = distill_terms(tmp_path / "none", [])
    assert len(plain) == 3 and all(v > 0 for v in plain), plain


def test_fusion_weight_scales_the_fusion_loss_out_of_the_total(tmp_path: Path):
    """``fusion_weight: 0`` trains on the teacher terms alone: the logged total is exactly the
    weighted consistency term, while the fusion terms are still logged; at the default they add."""
    import csv

    from textif.models import create_model
    from textif.models.hub import save_pretrained
    from textif.training.run import train

    torch.manual_seed(7)
    teacher_dir = save_pretrained(create_model("textif-tiny"), tmp_path / "teacher", name="textif-tiny",
                                  text_encoder="minilm", training={"steps": 1})

    def rows(folder: Path, **kw) -> list[dict[str, float]]:
        train(load_config(write_config(folder, teacher=str(teacher_dir), consistency_weight=5.0, max_steps=2, **kw)),
              progress=False)
        out = list(csv.DictReader((folder / "run" / "logs" / "metrics.csv").open()))
        return [{k: float(v) for k, v in r.items() if v and k.startswith("train/")} for r in out if r.get("train/loss")]

    alone = rows(tmp_path / "alone", fusion_weight=0.0)
    assert len(alone) == 2
    for r in alone:
        assert r["train/loss"] == pytest.approx(5.0 * r["train/consistency"], rel=1e-5)
        assert r["train/intensity"] > 0  # still logged
    both = rows(tmp_path / "both")
    assert all(r["train/loss"] > 5.0 * r["train/consistency"] * (1 + 1e-3) for r in both)


def test_fusion_weight_errors(tmp_path: Path):
    from textif.training.module import TextIFModule

    with pytest.raises(ValueError, match="fusion_weight must be >= 0"):
        TextIFModule(load_config(write_config(tmp_path, fusion_weight=-1.0)))
    with pytest.raises(ValueError, match="fusion_weight 0 leaves nothing to learn"):
        TextIFModule(load_config(write_config(tmp_path / "b", fusion_weight=0.0)))
