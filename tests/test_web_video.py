"""The web app's Video tab: the service's one-line messages and limits, and one fusion driven in headless
Chromium (Playwright + Debian chromium, as in test_web.py). Clips are 3 frames of 64x48."""
from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

pytest.importorskip("av", reason="PyAV is not installed (pip install -e '.[video]')")

from tests.test_video import _frames, _write_clip  # noqa: E402
from tests.test_web import CHROMIUM_ARGS, _playwright_or_skip, free_port, CHROMIUM  # noqa: E402,F401

pytestmark = pytest.mark.filterwarnings("ignore:::gradio.queueing")


@pytest.fixture(scope="module")
def video_clips(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("web-clips")
    vis, ir = _frames(shared_data, "vis", 4), _frames(shared_data, "ir", 4)
    return {
        "vis": _write_clip(d / "street_vis.mp4", vis[:3]),
        "ir": _write_clip(d / "street_ir.mp4", ir[:3]),
        "ir4": _write_clip(d / "long_ir.mp4", ir[:4]),
        "ir_fps": _write_clip(d / "ir30.mp4", ir[:3], fps=30),
    }


def test_video_service_messages_and_limits(tiny_checkpoint: Path, video_clips: dict[str, Path], tmp_path: Path):
    import textif
    from textif.core.errors import TextIFError
    from textif.video import probe
    from textif.web.app import FusionService, WebLimits
    from textif.web.video_tab import VideoLimits, VideoService

    fuser = textif.load(str(tiny_checkpoint), device="cpu")
    svc = VideoService(FusionService(fuser, WebLimits(), tmp_path / "out"), VideoLimits(max_frames=3))
    junk = tmp_path / "notes.mp4"
    junk.write_text("not a video")
    f = lambda key, name=None: {"path": str(video_clips[key]), "orig_name": name or video_clips[key].name}  # noqa: E731
    cases = {
        "upload a visible and an infrared video": (None, None),
        "upload an infrared video too": (f("vis"), None),
        "the infrared video 'long_ir.mp4' is 4 frames (0.4 s); this server fuses clips of at most 3 frames": (f("vis"), f("ir4")),
        "frame rates differ: visible 'street_vis.mp4' is 10 fps but infrared 'ir30.mp4' is 30 fps": (f("vis"), f("ir_fps")),
        "'notes.mp4': not a readable video": ({"path": str(junk), "orig_name": "notes.mp4"}, f("ir")),
    }
    for expected, (v, i) in cases.items():
        with pytest.raises(TextIFError) as e:
            svc.fuse(v, i, "x")
        msg = str(e.value)
        assert expected in msg and "\n" not in msg, msg
        assert str(tmp_path) not in msg and str(video_clips["vis"].parent) not in msg, f"server path in: {msg}"
    out, status = svc.fuse(f("vis"), f("ir"), "the visible image is blurry")
    info = probe(out)
    assert (info.frames, info.width, info.height, float(info.fps)) == (3, 64, 48, 10.0)
    assert "Fused 3 frames of 64×48" in status


@pytest.fixture(scope="module")
def video_web(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("gradio", reason="gradio is not installed (pip install -e '.[dev]')")
    import textif
    from textif.web.app import build_app, launch

    fuser = textif.load(str(tiny_checkpoint), device="cpu")
    demo = build_app(fuser, out_dir=tmp_path_factory.mktemp("web-video-out"), examples_dir=Path("/nonexistent"))
    url = launch(demo, host="127.0.0.1", port=free_port(), block=False)
    try:
        yield url
    finally:
        demo.close()


def test_video_tab_in_chromium(video_web: str, video_clips: dict[str, Path], tmp_path: Path):
    from textif.video import probe

    sync_playwright = _playwright_or_skip()
    out: dict[str, Any] = {"external": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=60_000)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.set_default_timeout(90_000)
            page.on("request", lambda r: out["external"].append(r.url)
                    if not r.url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:")) else None)
            page.goto(video_web, wait_until="domcontentloaded")
            page.get_by_role("tab", name="Video").click()
            page.wait_for_selector("#video-fuse")
            # a pair whose frame rates differ: a one-line message on the page
            page.locator("#video-vis input[type=file]").set_input_files(str(video_clips["vis"]))
            page.locator("#video-ir input[type=file]").set_input_files(str(video_clips["ir_fps"]))
            page.wait_for_selector("#video-vis video")
            page.wait_for_selector("#video-ir video")
            page.locator("#video-fuse").click()
            toast = page.locator(".toast-body", has_text="frame rates differ")
            toast.first.wait_for(state="visible")
            out["error"] = toast.first.inner_text()
            # the right infrared clip: a fused clip to watch and download
            page.locator("#video-ir button[aria-label='Clear']").first.click()
            page.locator("#video-ir input[type=file]").set_input_files(str(video_clips["ir"]))
            page.wait_for_selector("#video-ir video")
            page.locator("#video-prompt textarea").fill("The visible image is blurry, please deblur it.")
            page.locator("#video-fuse").click()
            page.wait_for_function("() => document.querySelector('#video-status').innerText.includes('Fused 3 frames')")
            out["status"] = page.inner_text("#video-status")
            out["src"] = page.eval_on_selector("#video-result video", "v => v.src")
        finally:
            browser.close()
    assert "frame rates differ" in out["error"] and "ir30.mp4" in out["error"] and "Traceback" not in out["error"]
    assert "64×48" in out["status"]
    with urllib.request.urlopen(out["src"], timeout=20) as r:  # the local server only
        (tmp_path / "fused.mp4").write_bytes(r.read())
    info = probe(tmp_path / "fused.mp4")
    assert (info.frames, info.width, info.height) == (3, 64, 48)
    assert out["external"] == [], out["external"][:5]
