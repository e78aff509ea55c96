"""The web app's Detect button, in headless Chromium, and the ``/detect`` endpoint through gradio_client."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.test_detect import write_pair
from tests.test_web import free_port, page_with_pair

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
pytestmark = pytest.mark.filterwarnings("ignore:::gradio.queueing")


@pytest.fixture(scope="module")
def detect_web(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    pytest.importorskip("gradio", reason="gradio is not installed (pip install -e '.[dev]')")
    import torch

    import textif
    import textif.detect.diagnosis as diag
    from textif.models.detector import create_detector, load_detector, save_detector
    from textif.web.app import build_app, launch

    torch.manual_seed(1)
    folder = tmp_path_factory.mktemp("det") / "tiny"
    save_detector(create_detector("detector-tiny").eval(), folder, thresholds={}, training={"steps": 0})
    original = diag.load_detector
    diag.load_detector = lambda path=None: load_detector(folder if path is None else path)
    diag.default_detector.cache_clear()
    fuser = textif.load(str(tiny_checkpoint), device="cpu")
    demo = build_app(fuser, out_dir=tmp_path_factory.mktemp("web-out"), examples_dir=tmp_path_factory.mktemp("none"))
    url = launch(demo, host="127.0.0.1", port=free_port(), block=False)
    try:
        yield {"url": url, "files": tmp_path_factory.mktemp("in"), "detector": folder}
    finally:
        demo.close()
        diag.load_detector = original
        diag.default_detector.cache_clear()


def test_detect_endpoint(detect_web: dict[str, Any]):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    from textif.detect import Detector
    from textif.web.detect_ui import findings_markdown

    v, i = write_pair(detect_web["files"], "api")
    client = Client(detect_web["url"], verbose=False, analytics_enabled=False)
    text, found = client.predict(handle_file(v), handle_file(i), api_name="/detect")
    d = Detector.load(detect_web["detector"]).diagnose(v, i)
    assert text == d.text and found == findings_markdown(d)
    with pytest.raises(AppError) as e:
        client.predict(handle_file(v), None, api_name="/detect")
    assert "upload an infrared image to detect" in str(e.value) and "Traceback" not in str(e.value)


def test_detect_button_fills_the_text_box(detect_web: dict[str, Any]):
    from textif.detect import Detector

    v, i = write_pair(detect_web["files"], "page", seed=2)
    expected = Detector.load(detect_web["detector"]).diagnose(v, i).text
    with page_with_pair(detect_web["url"], v, i, "#detect") as page:
        page.locator("#prompt textarea").fill("something else")
        page.locator("#detect").click()
        page.wait_for_function("(t) => document.querySelector('#prompt textarea').value === t", arg=expected)
        page.wait_for_function("() => document.querySelector('#detected').innerText.includes('Infrared:')")
        found = page.inner_text("#detected")
    assert found.startswith("Visible:") and "Infrared:" in found
