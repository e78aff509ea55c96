"""Datasets: shapes, value ranges, determinism, padding, bit depths, EMS folders, exclusion."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from textif.core.errors import SizeMismatchError
from textif.core.io import write_image
from textif.data.datasets import (
    DRMF_FOLDERS,
    DatasetError,
    EMSFolder,
    PairConcat,
    PairedFolder,
    build_training_set,
    read_split,
)
from textif.data.prompts import TASKS

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data not found at {DATA}")

KEYS = {"vis", "ir", "vis_gt", "ir_gt", "text", "task", "name", "severity", "mismatched"}


def _pair(h: int, w: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    vis = np.stack([0.5 + 0.3 * np.sin(xx / (7 + k) + yy / 11) for k in range(3)], -1)
    ir = 0.4 + 0.3 * np.cos(xx / 5) * np.sin(yy / 9)
    return np.clip(vis + rng.normal(0, 0.01, vis.shape), 0, 1), np.clip(ir, 0, 1)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    """vis/ + ir/ with 4 pairs of mixed sizes and formats (one small, one 16-bit, one gray visible)."""
    (tmp_path / "vis").mkdir()
    (tmp_path / "ir").mkdir()
    sizes = {"a": (120, 150), "b": (100, 130), "small": (40, 30), "deep": (110, 110)}
    for i, (name, (h, w)) in enumerate(sizes.items()):
        vis, ir = _pair(h, w, i)
        if name == "b":
            vis = vis.mean(-1)  # gray visible image
        write_image(tmp_path / "vis" / f"{name}.png", vis, bit_depth=16 if name == "deep" else 8)
        write_image(tmp_path / "ir" / f"{name}.png", ir, bit_depth=16 if name == "deep" else 8)
    write_image(tmp_path / "vis" / "lonely.png", _pair(50, 50, 9)[0])  # no infrared partner
    return tmp_path


def _noise_pairs(root: Path, n: int, seed: int) -> None:
    """``root/vis`` + ``root/ir`` with ``n`` 40x40 pairs of uniform noise (8-bit)."""
    (root / "vis").mkdir()
    (root / "ir").mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        write_image(root / "vis" / f"{i}.png", rng.random((40, 40, 3)))
        write_image(root / "ir" / f"{i}.png", rng.random((40, 40)))


def _check_sample(s: dict, size: tuple[int, int] | None = (96, 96)) -> None:
    assert set(s) == KEYS
    for key, c in (("vis", 3), ("ir", 1), ("vis_gt", 3), ("ir_gt", 1)):
        t = s[key]
        assert t.dtype == torch.float32 and t.shape[0] == c, key
        if size is not None:
            assert tuple(t.shape[1:]) == size, key
        assert float(t.min()) >= 0.0 and float(t.max()) <= 1.0
    assert isinstance(s["text"], str) and s["text"]
    assert s["task"] in TASKS


def test_paired_folder_shapes_padding_and_formats(folder: Path) -> None:
    ds = PairedFolder(folder, seed=0)
    assert ds.names == ["a", "b", "deep", "small"] and ds.unmatched == ["lonely"]
    for i in range(len(ds)):
        _check_sample(ds[i])
    g = ds.names.index("b")
    ds_clean = PairedFolder(folder, seed=0, clean_prob=1.0)
    s = ds_clean[g]
    assert torch.allclose(s["vis_gt"][0], s["vis_gt"][1])  # gray visible repeated to 3 channels
    assert s["task"] == "fusion" and torch.equal(s["vis"], s["vis_gt"]) and torch.equal(s["ir"], s["ir_gt"])
    assert s["severity"] == 0.0


def test_paired_folder_tuple_source_and_errors(folder: Path, tmp_path: Path) -> None:
    ds = PairedFolder((folder / "vis", folder / "ir"), include=["a", "b.png"], crop_size=32)
    assert ds.names == ["a", "b"]
    _check_sample(ds[0], (32, 32))
    with pytest.raises(DatasetError, match="no pairs"):
        PairedFolder(folder, exclude=["a", "b", "small", "deep"])
    with pytest.raises(DatasetError, match="clean_prob"):
        PairedFolder(folder, clean_prob=1.5)
    with pytest.raises(DatasetError, match="crop_size"):
        PairedFolder(folder, crop_size=None)
    with pytest.raises(DatasetError, match="no visible folder"):
        PairedFolder(tmp_path / "vis")
    with pytest.raises(Exception, match="did you mean"):
        PairedFolder(folder, degradations=["low_ligt"])


def test_size_mismatch_is_reported(tmp_path: Path) -> None:
    for d in ("vis", "ir"):
        (tmp_path / d).mkdir()
    write_image(tmp_path / "vis" / "x.png", np.zeros((40, 50, 3)))
    write_image(tmp_path / "ir" / "x.png", np.zeros((40, 60)))
    with pytest.raises(SizeMismatchError, match="differs"):
        PairedFolder(tmp_path, crop_size=32)[0]


def test_seeded_determinism_per_epoch(folder: Path) -> None:
    a, b = PairedFolder(folder, seed=5, repeat=3), PairedFolder(folder, seed=5, repeat=3, cache=False)
    assert len(a) == 12
    for i in (0, 5, 11):
        sa, sb = a[i], b[i]
        assert sa["text"] == sb["text"] and sa["task"] == sb["task"] and torch.equal(sa["vis"], sb["vis"])
    first = [a[i]["vis"] for i in range(len(a))]
    a.set_epoch(1)
    second = [a[i]["vis"] for i in range(len(a))]
    assert sum(not torch.equal(x, y) for x, y in zip(first, second)) >= len(a) - 1
    a.set_epoch(0)
    assert all(torch.equal(x, a[i]["vis"]) for i, x in enumerate(first))


def test_task_mix_and_degradation_weights(folder: Path) -> None:
    ds = PairedFolder(folder, seed=0, repeat=30, clean_prob=0.25, composite_prob=0.3,
                      degradations={"noise": 1.0, "ir_stripe": 1.0, "haze": 0.0})
    tasks = [ds[i]["task"] for i in range(len(ds))]
    frac_clean = tasks.count("fusion") / len(tasks)
    assert 0.1 < frac_clean < 0.4
    allowed = {"noise", "ir_stripe", "noise+ir_stripe"}
    assert allowed <= set(tasks) <= allowed | {"fusion"}
    s = next(x for x in map(ds.__getitem__, range(len(ds))) if x["task"] == "ir_stripe")
    assert torch.equal(s["vis"], s["vis_gt"]) and not torch.equal(s["ir"], s["ir_gt"])
    assert 0.1 <= s["severity"] <= 1.0


def test_val_mode_full_images_fixed_per_index(folder: Path) -> None:
    ds = PairedFolder(folder, mode="val", crop_size=None, degradations=["low_light", "blur"])
    assert ds.val_tasks == ["fusion", "low_light", "blur"]
    assert [ds[i]["task"] for i in range(4)] == ["fusion", "low_light", "blur", "fusion"]
    s = ds[ds.names.index("a")]
    _check_sample(s, None)
    assert tuple(s["vis"].shape[1:]) == (120, 150)
    again = PairedFolder(folder, mode="val", crop_size=None, degradations=["low_light", "blur"])
    for i in range(len(ds)):
        assert torch.equal(ds[i]["vis"], again[i]["vis"]) and ds[i]["text"] == again[i]["text"]
    centre = PairedFolder(folder, mode="val", crop_size=64)
    _check_sample(centre[0], (64, 64))


def test_dataloader_batches(folder: Path) -> None:
    ds = PairedFolder(folder, seed=0, repeat=2)
    batch = next(iter(DataLoader(ds, batch_size=4, shuffle=True)))
    assert batch["vis"].shape == (4, 3, 96, 96) and batch["ir"].shape == (4, 1, 96, 96)
    assert len(batch["text"]) == len(batch["task"]) == 4


def test_ems_style_folder(tmp_path: Path) -> None:
    for d in ("vis", "ir", "vis_LL", "ir_SN", "notes"):
        (tmp_path / d).mkdir()
    for i, name in enumerate(("s1", "s2")):
        vis, ir = _pair(100, 120, i)
        write_image(tmp_path / "vis" / f"{name}.png", vis)
        write_image(tmp_path / "ir" / f"{name}.png", ir)
        write_image(tmp_path / "ir_SN" / f"{name}.png", np.clip(ir + 0.1, 0, 1))
    write_image(tmp_path / "vis_LL" / "s1.png", _pair(100, 120, 0)[0] * 0.2)
    write_image(tmp_path / "vis_LL" / "orphan.png", _pair(100, 120, 0)[0])  # no clean pair: ignored
    ds = EMSFolder(tmp_path, seed=0, include_clean=True)
    assert sorted(ds.tasks) == ["fusion", "fusion", "ir_stripe", "ir_stripe", "low_light"]
    for i in range(len(ds)):
        s = ds[i]
        _check_sample(s)
        if s["task"] == "low_light":
            assert torch.equal(s["ir"], s["ir_gt"]) and float(s["vis"].mean()) < float(s["vis_gt"].mean())
        elif s["task"] == "ir_stripe":
            assert torch.equal(s["vis"], s["vis_gt"]) and not torch.equal(s["ir"], s["ir_gt"])
            assert s["severity"] == -1.0
    assert EMSFolder(tmp_path, tasks=["low_light"]).tasks == ["low_light"]
    assert len(EMSFolder(tmp_path, exclude=["s1"])) == 1
    custom = EMSFolder(tmp_path, folder_tasks={"vis_LL": "low_light", "ir_SN": "ir_low_contrast+ir_noise"})
    assert set(custom.tasks) == {"low_light", "ir_low_contrast+ir_noise"}
    with pytest.raises(DatasetError, match="mixes modalities"):
        EMSFolder(tmp_path, folder_tasks={"vis_LL": "low_light+ir_noise"})


def test_build_training_set_and_exclusion(folder: Path, tmp_path: Path) -> None:
    split = tmp_path / "val.txt"
    split.write_text("a.png\n# comment\nsmall\n")
    assert read_split(split) == ["a", "small"]
    train = build_training_set([{"type": "paired", "root": folder, "repeat": 2},
                                {"vis_dir": folder / "vis", "ir_dir": folder / "ir"}],
                               exclude=split, seed=0, crop_size=48)
    assert isinstance(train, PairConcat) and len(train) == 2 * 2 + 2
    names = {train[i]["name"] for i in range(len(train))}
    assert names == {"b", "deep"}
    _check_sample(train[0], (48, 48))
    train.set_epoch(3)
    assert all(d.epoch == 3 for d in train.datasets)
    with pytest.raises(DatasetError, match="type"):
        build_training_set([{"type": "weird", "root": folder}])
    with pytest.raises(DatasetError, match="root"):
        build_training_set([{"type": "paired"}])


@needs_data
def test_shared_roadscene_excludes_val_split() -> None:
    val = set(read_split(DATA / "splits" / "roadscene_val.txt"))
    assert len(val) == 45
    ds = PairedFolder(DATA / "RoadScene", exclude=DATA / "splits" / "roadscene_val.txt", seed=0, cache=False)
    assert len(ds) == 176 and not set(ds.names) & val
    _check_sample(ds[0])
    val_ds = PairedFolder(DATA / "RoadScene", mode="val", crop_size=None, include=DATA / "splits" / "roadscene_val.txt")
    assert set(val_ds.names) == val


@needs_data
def test_shared_ems_and_drmf() -> None:
    ems = EMSFolder(DATA / "EMS" / "train", seed=0, cache=False)
    assert {"low_light", "ir_low_contrast", "ir_noise", "ir_stripe", "blur", "noise", "rain", "haze"} == set(ems.tasks)
    idx = ems.tasks.index("ir_stripe")
    s = ems[idx]  # palette PNGs decode to RGB / L
    _check_sample(s)
    assert torch.equal(s["vis"], s["vis_gt"])
    drmf = EMSFolder(DATA / "DRMF" / "train", folder_tasks=DRMF_FOLDERS, seed=0, cache=False)
    assert set(drmf.tasks) == {"low_light", "ir_low_contrast+ir_noise"}
    both = build_training_set([DATA / "EMS" / "train", {"type": "paired", "root": DATA / "TNO"}], seed=0, cache=False)
    assert isinstance(both.datasets[0], EMSFolder) and isinstance(both.datasets[1], PairedFolder)


def test_keep_prob_pairs_neutral_prompt_with_degraded_references(tmp_path):
    from textif.data.datasets import PairedFolder
    from textif.data.prompts import all_prompts

    _noise_pairs(tmp_path, 3, seed=0)
    ds = PairedFolder(tmp_path, crop_size=32, clean_prob=0.0, keep_prob=1.0, seed=0)
    neutral = set(all_prompts("train")["fusion"])
    for k in range(len(ds)):
        s = ds[k]
        assert s["task"] == "fusion" and s["text"] in neutral and s["severity"] == 0.0
        assert torch.equal(s["vis"], s["vis_gt"]) and torch.equal(s["ir"], s["ir_gt"])
    ds = PairedFolder(tmp_path, crop_size=32, clean_prob=0.0, keep_prob=0.0, seed=0)
    assert all(ds[k]["task"] != "fusion" for k in range(len(ds)))


def test_mismatch_prob_names_an_absent_degradation_and_keeps_the_inputs(tmp_path):
    from textif.data.datasets import PairedFolder
    from textif.data.prompts import all_prompts

    _noise_pairs(tmp_path, 4, seed=1)
    bank = all_prompts("train")
    owner = {t: task for task, ts in bank.items() for t in ts}
    ref = PairedFolder(tmp_path, crop_size=32, clean_prob=0.3, composite_prob=0.3, seed=0, repeat=8)
    ds = PairedFolder(tmp_path, crop_size=32, clean_prob=0.3, composite_prob=0.3, mismatch_prob=1.0, seed=0, repeat=8)
    named = set()
    for k in range(len(ds)):
        s, r = ds[k], ref[k]
        # same degraded input as without mismatching; the references are that input; the loss task is neutral
        assert torch.equal(s["vis"], r["vis"]) and torch.equal(s["ir"], r["ir"])
        assert torch.equal(s["vis"], s["vis_gt"]) and torch.equal(s["ir"], s["ir_gt"])
        assert s["task"] == "fusion" and s["severity"] == 0.0 and s["mismatched"] is True and r["mismatched"] is False
        # the prompt names one degradation, never one the input has
        said = owner[s["text"]]
        assert said != "fusion" and "+" not in said and said not in r["task"].split("+")
        named.add(said)
    assert len(named) >= 5
    # with keep_prob too, the prompt still never names what the (degraded) input has
    ref0 = PairedFolder(tmp_path, crop_size=32, clean_prob=0.3, composite_prob=0.3, keep_prob=0.0, seed=0, repeat=8)
    both = PairedFolder(tmp_path, crop_size=32, clean_prob=0.3, composite_prob=0.3, keep_prob=1.0, mismatch_prob=1.0,
                        seed=0, repeat=8)
    for k in range(len(both)):
        s, r = both[k], ref0[k]
        assert torch.equal(s["vis"], r["vis"]) and torch.equal(s["vis"], s["vis_gt"]) and s["task"] == "fusion"
        assert owner[s["text"]] not in r["task"].split("+")
    with pytest.raises(Exception, match="mismatch_prob"):
        PairedFolder(tmp_path, mismatch_prob=1.5)


def test_mismatch_weights_choose_which_absent_degradation_is_named(tmp_path):
    from textif.data.datasets import PairedFolder
    from textif.data.prompts import all_prompts

    _noise_pairs(tmp_path, 4, seed=1)
    owner = {t: task for task, ts in all_prompts("train").items() for t in ts}
    ref = PairedFolder(tmp_path, crop_size=32, clean_prob=0.3, composite_prob=0.3, seed=0, repeat=8)
    ds = PairedFolder(tmp_path, crop_size=32, clean_prob=0.3, composite_prob=0.3, mismatch_prob=1.0,
                      mismatch_weights={"low_light": 1.0, "haze": 1.0}, seed=0, repeat=8)
    named = []
    for k in range(len(ds)):
        s, r = ds[k], ref[k]
        said, has = owner[s["text"]], r["task"].split("+")
        assert said not in has
        if not {"low_light", "haze"} <= set(has):  # a weighted type is absent: one of them is named
            assert said in {"low_light", "haze"}, (said, has)
        named.append(said)
    assert {"low_light", "haze"} <= set(named)
    with pytest.raises(Exception, match="mismatch weight.*'haze'"):
        PairedFolder(tmp_path, mismatch_prob=0.5, mismatch_weights={"haze": -1.0})
    with pytest.raises(Exception, match="mismatch_weights"):
        PairedFolder(tmp_path, mismatch_prob=0.5, mismatch_weights={"haze": 0.0})


def test_training_config_severity_range_reaches_paired_sources(tmp_path):
    """``data.severity_range`` bounds every synthetic degradation of a paired source (a stage can train
    on the sizes of a real degradation); a bad range is refused by the dataset with its values."""
    from textif.data.datasets import build_training_set
    from textif.training.config import SourceConfig, TrainConfig
    from textif.training.data import source_spec

    _noise_pairs(tmp_path, 4, seed=1)
    cfg = TrainConfig()
    src = SourceConfig(kind="paired", vis=str(tmp_path / "vis"), ir=str(tmp_path / "ir"))
    assert source_spec(src, Path("/"), cfg)["severity_range"] == (0.1, 1.0)  # the default
    cfg.data.severity_range = [0.3, 0.6]
    spec = source_spec(src, Path("/"), cfg, seed=0)
    assert spec["severity_range"] == (0.3, 0.6)
    ds = build_training_set([spec])
    sev = [ds[k]["severity"] for k in range(len(ds))]
    degraded = [v for v in sev if v > 0]
    assert degraded and all(0.3 <= v <= 0.6 for v in degraded), sev
    cfg.data.severity_range = [0.6, 0.3]
    with pytest.raises(Exception, match=r"severity_range must satisfy 0 <= low <= high <= 1, got \(0.6, 0.3\)"):
        build_training_set([source_spec(src, Path("/"), cfg, seed=0)])


def test_training_config_blur_kinds_reach_paired_sources(tmp_path):
    """``data.blur_kinds`` chooses the blur kernels of a paired source; the crops and severities are
    those of the unrestricted stream; unknown kernels are refused by name."""
    from textif.data.datasets import build_training_set
    from textif.training.config import SourceConfig, TrainConfig
    from textif.training.data import source_spec

    _noise_pairs(tmp_path, 3, seed=2)
    cfg = TrainConfig()
    cfg.data.degrade_prob, cfg.data.keep_prob, cfg.data.composite_prob = 1.0, 0.0, 0.0
    cfg.data.degradation_weights = {"blur": 1.0}
    src = SourceConfig(kind="paired", vis=str(tmp_path / "vis"), ir=str(tmp_path / "ir"))
    assert source_spec(src, Path("/"), cfg)["blur_kinds"] is None  # the default: every kernel
    sets = {}
    for kinds in (["gaussian"], ["motion"]):
        cfg.data.blur_kinds = kinds
        spec = source_spec(src, Path("/"), cfg, seed=0)
        assert spec["blur_kinds"] == kinds
        ds = build_training_set([spec])
        sets[kinds[0]] = [ds[k] for k in range(len(ds))]
    for g, m in zip(sets["gaussian"], sets["motion"]):
        assert g["task"] == m["task"] == "blur" and g["severity"] == m["severity"]
        assert torch.equal(g["vis_gt"], m["vis_gt"]) and not torch.equal(g["vis"], m["vis"])
    cfg.data.blur_kinds = ["gaussian", "box"]
    with pytest.raises(Exception, match=r"blur_kinds must be a non-empty list of gaussian, defocus, motion, got \['gaussian', 'box'\]"):
        build_training_set([source_spec(src, Path("/"), cfg, seed=0)])
