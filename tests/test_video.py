"""Video fusion: PyAV reading/writing, the streaming API, the CLI's video path and its pairing errors,
the temporal stabiliser and the temporal_flicker metric.

Clips are built in temporary folders from the first frames of ``M3SVD_seq`` scaled down to 64x48,
and fused with the tiny random-weights checkpoint, so the file stays fast.
"""
from __future__ import annotations

import math
import warnings
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

av = pytest.importorskip("av", reason="PyAV is not installed (pip install -e '.[video]')")

from textif.cli.main import app  # noqa: E402

W, H = 64, 48
SEQ = "M3SVD_seq/0111_1716"


def _frames(shared_data: Path, sub: str, n: int, size: tuple[int, int] = (W, H)) -> list[np.ndarray]:
    files = sorted((shared_data / SEQ / sub).glob("*.png"))[:n]
    out = []
    for f in files:
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)[..., ::-1]
        out.append(np.ascontiguousarray(cv2.resize(img, size, interpolation=cv2.INTER_AREA)))
    return out


def _write_clip(path: Path, frames: list[np.ndarray], fps: float = 10, codec: str | None = None) -> Path:
    from textif.video import VideoWriter

    h, w = frames[0].shape[:2]
    with VideoWriter(path, fps=fps, width=w, height=h, codec=codec) as wr:
        for f in frames:
            wr.write(f)
    return path


@pytest.fixture(scope="module")
def clips(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    vis, ir = _frames(shared_data, "vis", 4), _frames(shared_data, "ir", 4)
    out = {
        "vis": _write_clip(d / "vis.mp4", vis[:3], codec="ffv1" if False else None),
        "ir": _write_clip(d / "ir.mkv", ir[:3], codec="ffv1"),
        "ir4": _write_clip(d / "ir4.mp4", ir[:4]),
        "ir_fps": _write_clip(d / "ir12.mp4", ir[:3], fps=12),
        "ir_small": _write_clip(d / "ir_small.mp4", [cv2.resize(f, (W // 2, H // 2)) for f in ir[:3]]),
    }
    for name, frames in (("vis_dir", vis[:3]), ("ir_dir", ir[:3])):
        (d / name).mkdir()
        for k, f in enumerate(frames):
            cv2.imwrite(str(d / name / f"{k:04d}.png"), f[..., ::-1])
        out[name] = d / name
    return out


def _run(*args: str):
    r = CliRunner().invoke(app, ["fuse", *args])
    return r


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


# ----------------------------------------------------------------------------- PyAV io
def test_writer_reader_round_trip_keeps_rate_size_count(tmp_path: Path):
    from textif.video import CodecError, VideoError, probe, read_frames

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(5)]
    lossless = _write_clip(tmp_path / "a.mkv", frames, fps=Fraction(30000, 1001), codec="ffv1")
    info = probe(lossless)
    assert (info.width, info.height, info.frames, info.fps) == (W, H, 5, Fraction(30000, 1001))
    back = list(read_frames(lossless))
    assert all(np.array_equal(a, b) for a, b in zip(frames, back)) and len(back) == 5  # FFV1 is exact
    smooth = [np.full((H, W, 3), 40 * k, np.uint8) for k in range(4)]
    for name in ("b.mp4", "b.webm", "b.mov", "b.avi"):
        p = _write_clip(tmp_path / name, smooth, fps=25, codec="mpeg4" if name == "b.avi" else None)
        i = probe(p)
        assert (i.width, i.height, i.frames, float(i.fps)) == (W, H, 4, 25.0), name
        assert np.abs(next(read_frames(p)).astype(int) - smooth[0]).max() <= 3, name
    assert probe(tmp_path / "b.mp4").codec == "h264" and probe(tmp_path / "b.webm").codec == "vp9"
    gray = next(read_frames(tmp_path / "b.mp4", gray=True))
    assert gray.shape == (H, W) and gray.dtype == np.uint8

    with pytest.raises(CodecError, match="a .mp4 file cannot hold ffv1"):
        _write_clip(tmp_path / "c.mp4", smooth, codec="ffv1")
    with pytest.raises(CodecError, match="unknown codec.*did you mean 'h264'"):
        _write_clip(tmp_path / "c.mkv", smooth, codec="h246")
    with pytest.raises(CodecError, match="ffv1 codec has no CRF"):
        from textif.video import VideoWriter

        VideoWriter(tmp_path / "c.mkv", fps=5, width=W, height=H, codec="ffv1", crf=10)
    with pytest.raises(VideoError, match="frame 2 is 32x48"):
        from textif.video import VideoWriter

        with VideoWriter(tmp_path / "d.mp4", fps=5, width=W, height=H) as w:
            w.write(smooth[0])
            w.write(smooth[0][:, :32])
    assert not (tmp_path / "d.mp4").exists() and not (tmp_path / "c.mkv").exists()
    assert _leftovers(tmp_path) == []


def test_unreadable_and_empty_videos(tmp_path: Path):
    from textif.video import VideoReadError, probe

    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("not a video at all")
    with pytest.raises(VideoReadError, match="empty.mp4: empty file"):
        probe(tmp_path / "empty.mp4")
    with pytest.raises(VideoReadError, match="text.mp4: not a readable video"):
        probe(tmp_path / "text.mp4")
    with pytest.raises(VideoReadError, match="missing.mp4: file not found"):
        probe(tmp_path / "missing.mp4")


# ----------------------------------------------------------------------------- streaming API
def test_stream_encodes_text_once_and_matches_per_frame_fusion(tiny_fuser, shared_data: Path):
    from textif import video

    vis, ir = _frames(shared_data, "vis", 3), _frames(shared_data, "ir", 3)
    calls: list[object] = []

    class Counting:
        def __init__(self, f):
            self.f, self.device = f, f.device

        def embed(self, text):
            calls.append(text)
            return self.f.embed(text)

        def fuse_tensor(self, *a, **k):
            return self.f.fuse_tensor(*a, **k)

    def gen():  # a generator: frames arrive one at a time, as from two cameras
        for v, i in zip(vis, ir):
            yield v, i[..., 0]

    out = list(video.stream(Counting(tiny_fuser), gen(), "the visible image is blurry", stabilize=False))
    assert calls == ["the visible image is blurry"]
    assert len(out) == 3 and all(o.shape == (H, W, 3) and o.dtype == np.uint8 for o in out)
    emb = tiny_fuser.embed("the visible image is blurry")
    ref = tiny_fuser.fuse_tensor(torch.from_numpy(vis[1]).permute(2, 0, 1)[None] / 255.0,
                                 torch.from_numpy(ir[1][..., 0])[None, None] / 255.0, emb)
    assert np.abs(out[1].astype(int) - np.round(ref[0].permute(1, 2, 0).numpy() * 255).astype(int)).max() <= 1

    # float frames give float frames; a gray visible stream gives gray frames; a function of the first pair
    # chooses the text once per clip (no scene change in three frames of one shot)
    seen = []
    outf = list(video.stream(tiny_fuser, [(v / 255.0, i / 255.0) for v, i in zip(vis, ir)],
                             lambda v, i: seen.append(v.shape) or "the infrared image is noisy"))
    assert outf[0].dtype == np.float64 and outf[0].shape == (H, W, 3) and seen == [(H, W, 3)]
    outg = list(video.stream(tiny_fuser, [(v[..., 1], i) for v, i in zip(vis, ir)]))
    assert outg[0].shape == (H, W) and outg[0].dtype == np.uint8

    from textif.core.errors import SizeMismatchError, TextIFError

    with pytest.raises(SizeMismatchError, match="size mismatch.*--resize-ir-to-vis"):
        list(video.stream(tiny_fuser, [(vis[0], ir[0][: H // 2, : W // 2])]))
    assert list(video.stream(tiny_fuser, [(vis[0], ir[0][: H // 2, : W // 2])], resize_ir_to_vis=True))[0].shape == (H, W, 3)
    with pytest.raises(TextIFError, match="visible frame 2 is 32x48, the frames before it are 64x48"):
        list(video.stream(tiny_fuser, [(vis[0], ir[0]), (vis[1][:, :32], ir[1][:, :32])]))
    with pytest.raises(TextIFError, match="item 1 of the stream is not a"):
        list(video.stream(tiny_fuser, [vis[0]]))


def test_fuse_video_api_and_interrupt_leaves_nothing(tiny_fuser, clips: dict[str, Path], tmp_path: Path, monkeypatch):
    from textif import video
    from textif.video import probe

    vf = video.VideoFuser(tiny_fuser)
    r = vf.fuse_video(clips["vis"], clips["ir"], tmp_path / "f.mkv", text="x", codec="ffv1", progress=False)
    info = probe(tmp_path / "f.mkv")
    assert (info.width, info.height, info.frames, info.fps) == (W, H, 3, Fraction(10)) and r.frames == 3
    assert r.codec == "ffv1" and vf.device == tiny_fuser.device

    # Ctrl-C in the middle of the clip: no output, no temporary file
    import textif.video.fuse as vfuse

    real = vfuse.stream

    def interrupted(*a, **k):
        for n, f in enumerate(real(*a, **k)):
            if n == 1:
                raise KeyboardInterrupt
            yield f

    monkeypatch.setattr(vfuse, "stream", interrupted)
    with pytest.raises(KeyboardInterrupt):
        video.fuse_video(tiny_fuser, clips["vis"], clips["ir"], tmp_path / "g.mp4", progress=False)
    assert not (tmp_path / "g.mp4").exists() and _leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- the CLI
def test_cli_fuses_videos_keeping_rate_size_count(tiny_checkpoint: Path, clips: dict[str, Path], tmp_path: Path):
    from textif.video import probe

    out = tmp_path / "fused.mp4"
    r = _run("--vis", str(clips["vis"]), "--ir", str(clips["ir"]), "-o", str(out), "-m", str(tiny_checkpoint),
             "--text", "the visible image is blurry", "-q", "--crf", "23")
    assert r.exit_code == 0, r.output
    info = probe(out)
    assert (info.width, info.height, info.frames, float(info.fps), info.codec) == (W, H, 3, 10.0, "h264")
    c = av.open(str(out))
    assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
    c.close()
    # frame folders -> lossless video at --fps; a video -> a folder of PNG frames
    r = _run("--vis-dir", str(clips["vis_dir"]), "--ir-dir", str(clips["ir_dir"]), "-o", str(tmp_path / "f.mkv"),
             "--fps", "5", "--codec", "ffv1", "-m", str(tiny_checkpoint))
    assert r.exit_code == 0, r.output
    assert "wrote" in r.output and "3 frames, 64x48, 5 fps, ffv1" in r.output
    info = probe(tmp_path / "f.mkv")
    assert (info.frames, float(info.fps)) == (3, 5.0)
    r = _run("--vis", str(clips["vis"]), "--ir", str(clips["ir"]), "-o", str(tmp_path / "frames"),
             "-m", str(tiny_checkpoint), "-q", "--no-stabilize")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == ["000000.png", "000001.png", "000002.png"]
    assert _leftovers(tmp_path) == []


def test_cli_pairing_errors_are_one_line(tiny_checkpoint: Path, clips: dict[str, Path], tmp_path: Path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "junk.mkv").write_text("not a video")
    out = str(tmp_path / "o.mp4")
    m = ["-m", str(tiny_checkpoint), "-q"]
    v = str(clips["vis"])
    cases = {
        f"frame rates differ: visible {v} is 10 fps but infrared {clips['ir_fps']} is 12 fps":
            ["--vis", v, "--ir", str(clips["ir_fps"]), "-o", out],
        f"frame counts differ: visible {v} has 3 frames but infrared {clips['ir4']} has 4 (use --sync shortest":
            ["--vis", v, "--ir", str(clips["ir4"]), "-o", out],
        "size mismatch: visible": ["--vis", v, "--ir", str(clips["ir_small"]), "-o", out],
        "empty.mp4: empty file": ["--vis", v, "--ir", str(tmp_path / "empty.mp4"), "-o", out],
        "junk.mkv: not a readable video": ["--vis", str(tmp_path / "junk.mkv"), "--ir", v, "-o", out],
        "--codec x265x: unknown codec": ["--vis", v, "--ir", str(clips["ir"]), "-o", out, "--codec", "x265x"],
        "a .webm file cannot hold h264": ["--vis", v, "--ir", str(clips["ir"]), "-o", str(tmp_path / "o.webm"),
                                          "--codec", "h264"],
        "--fps: the inputs are frame folders": ["--vis-dir", str(clips["vis_dir"]), "--ir-dir", str(clips["ir_dir"]),
                                                "-o", out],
        "--codec: only for video": ["--vis-dir", str(clips["vis_dir"]), "--ir-dir", str(clips["ir_dir"]),
                                    "-o", str(tmp_path / "d"), "--codec", "h264"],
    }
    for expected, args in cases.items():
        r = _run(*args, *m)
        assert r.exit_code == 2, (expected, r.output)
        assert expected in r.output and "Traceback" not in r.output, (expected, r.output)
        assert len(r.output.strip().splitlines()) == 1, r.output
    assert not Path(out).exists() and _leftovers(tmp_path) == []

    # the fixes the messages suggest work
    from textif.video import probe

    r = _run("--vis", v, "--ir", str(clips["ir4"]), "-o", out, "--sync", "shortest", *m[:2])
    assert r.exit_code == 0 and "left out the last 1 frame of the infrared input" in r.output, r.output
    assert probe(out).frames == 3
    r = _run("--vis", v, "--ir", str(clips["ir_small"]), "-o", out, "--resize-ir-to-vis", *m)
    assert r.exit_code == 0 and (probe(out).width, probe(out).height) == (W, H)


def test_eval_scores_videos_and_frame_sequences(tiny_checkpoint: Path, clips: dict[str, Path], tmp_path: Path):
    import json

    r = CliRunner().invoke(app, ["eval", "--vis-dir", str(clips["vis"]), "--ir-dir", str(clips["ir"]),
                                 "--fused-dir", f"vis_itself={clips['vis']}", "--metrics", "temporal_flicker,en",
                                 "-o", str(tmp_path / "r.json"), "-q"])
    assert r.exit_code == 0, r.output
    row = json.loads((tmp_path / "r.json").read_text())["methods"][0]
    assert row["method"] == "vis_itself" and row["frames"] == 3
    assert row["temporal_flicker"] <= 1.0 and row["global_ratio"] == pytest.approx(row["fused_change"] / max(
        row["vis_change"], row["ir_change"]))
    assert 0 < row["en"] <= 8
    # frame folders are sequences when a temporal metric is asked for
    r = CliRunner().invoke(app, ["eval", "--vis-dir", str(clips["vis_dir"]), "--ir-dir", str(clips["ir_dir"]),
                                 "--fused-dir", str(clips["ir_dir"]), "--metrics", "temporal_flicker", "-q"])
    assert r.exit_code == 0 and "| ir_dir | 3 |" in r.output, r.output


# ----------------------------------------------------------------------------- stabiliser and metric
def test_stabilizer_removes_low_frequency_wobble_and_resets_at_a_cut():
    from textif.video.stabilize import StabilizerConfig, TemporalStabilizer

    g = torch.Generator().manual_seed(0)
    vis = torch.rand(1, 3, 64, 96, generator=g) * 0.5 + 0.25
    ir = torch.rand(1, 1, 64, 96, generator=g)
    detail = torch.rand(1, 3, 64, 96, generator=g) * 0.1
    stab = TemporalStabilizer(StabilizerConfig(alpha=0.3, grid=16))
    outs, raw = [], []
    for t in range(12):
        fused = (vis + detail + 0.06 * (-1) ** t).clamp(0, 1)  # the model's brightness wobbles frame to frame
        raw.append(fused)
        outs.append(stab(fused, vis, ir))
    assert torch.equal(outs[0], raw[0])  # the first frame passes unchanged
    change = lambda seq: float(torch.stack([(a - b).abs().mean() for a, b in zip(seq[1:], seq[:-1])]).mean())  # noqa: E731
    assert change(outs[4:]) < 0.25 * change(raw[4:])
    # detail (high frequency) follows the frame
    assert float((outs[-1] - raw[-1] - (outs[-1] - raw[-1]).mean()).abs().mean()) < 0.01
    # a new scene: the average restarts, so the new frame is not pulled towards the old scene
    new_vis = vis * 0.3
    out = stab(new_vis, new_vis, ir * 0.3)
    assert stab.scene_changed and torch.allclose(out, new_vis)


def test_temporal_flicker_metric(shared_data: Path):
    from textif.metrics import create_metric, list_metrics
    from textif.metrics.errors import MetricInputError, MetricWarning
    from textif.metrics.temporal import FlickerMeter, frame_change, temporal_flicker

    assert list_metrics(kind="temporal") == ["temporal_flicker"]
    vis, ir = _frames(shared_data, "vis", 5, (160, 120)), _frames(shared_data, "ir", 5, (160, 120))
    # hand-computed reference on luminance rounded like the evaluator
    y = lambda a: np.round(a.astype(np.float64) @ [0.299, 0.587, 0.114])  # noqa: E731
    yv, yi = [y(a) for a in vis], [y(a) for a in ir]
    noisy = [np.clip(a.astype(np.float64) + np.random.default_rng(k).normal(0, 6, a.shape), 0, 255).astype(np.uint8)
             for k, a in enumerate(vis)]
    yf = [y(a) for a in noisy]
    num = np.mean([np.abs(a - b).mean() for a, b in zip(yf[1:], yf[:-1])])
    den = np.mean([np.maximum(np.abs(a - b), np.abs(c - d)).mean() for a, b, c, d in zip(yv[1:], yv[:-1], yi[1:], yi[:-1])])
    got = temporal_flicker(noisy, ir, vis)
    assert got == pytest.approx(num / den, rel=1e-3) and got > 1.5  # per-frame noise is flicker (float32 grey conversion: ~1e-5)
    assert temporal_flicker(vis, ir, vis) <= 1.0  # a source itself adds nothing
    m = FlickerMeter()
    for f, v, i in zip(noisy, vis, ir):
        m.add(f, vis=v, ir=i)
    r = m.result()
    assert r.frames == 5 and r.global_ratio == pytest.approx(r.fused / max(r.vis, r.ir))
    assert frame_change(vis) == pytest.approx(r.vis)
    assert create_metric("temporal_flicker")(noisy, ir=ir, vis=vis) == pytest.approx(got)
    with pytest.raises(MetricInputError, match="scores a video"):
        create_metric("temporal_flicker").compute(None)  # type: ignore[arg-type]
    with pytest.raises(MetricInputError, match="the fused sequence ends after 3"):
        temporal_flicker(noisy[:3], ir, vis)
    with pytest.raises(MetricInputError, match="at least 2 frames"):
        temporal_flicker(noisy[:1], ir[:1], vis[:1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert math.isnan(temporal_flicker(noisy[:3], [ir[0]] * 3, [vis[0]] * 3))
    assert any(issubclass(w.category, MetricWarning) for w in caught)


def test_video_load_passes_every_keyword_through(monkeypatch):
    """Backends added to textif.load later (e.g. backend="onnx") reach it unchanged."""
    import textif.inference.fuser as fz
    from textif import video

    got = {}
    monkeypatch.setattr(fz, "load", lambda model=None, **kw: got.update(model=model, **kw) or "FUSER")
    vf = video.load("textif-small", device="cpu", backend="onnx", threads=2)
    assert vf.fuser == "FUSER" and got == {"model": "textif-small", "device": "cpu", "backend": "onnx", "threads": 2}
