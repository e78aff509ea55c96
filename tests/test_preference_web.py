"""The web app's infrared-weight slider: in headless Chromium and through the ``/fuse`` endpoint."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from tests.conftest import randomize_text_path
from tests.test_detect import write_pair
from tests.test_web import free_port, page_with_pair

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
pytestmark = pytest.mark.filterwarnings("ignore:::gradio.queueing")


def _app(folder: Path, tmp: pytest.TempPathFactory) -> Any:
    import textif
    from textif.web.app import build_app, launch

    fuser = textif.load(str(folder), device="cpu")
    demo = build_app(fuser, out_dir=tmp.mktemp("web-out"), examples_dir=tmp.mktemp("none"))
    return demo, launch(demo, host="127.0.0.1", port=free_port(), block=False)


@pytest.fixture(scope="module")
def pref_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A tiny model whose checkpoint says it was trained for ir_weight (random, text-sensitive weights)."""
    pytest.importorskip("gradio", reason="gradio is not installed (pip install -e '.[dev]')")
    import torch

    from textif.models import create_model
    from textif.models.hub import save_pretrained

    torch.manual_seed(3)
    folder = tmp_path_factory.mktemp("pref") / "tiny"
    save_pretrained(randomize_text_path(create_model("textif-tiny")), folder, name="textif-tiny", text_encoder="minilm",
                    training={"steps": 0, "preference": {"strength": 1.0}})
    demo, url = _app(folder, tmp_path_factory)
    try:
        yield {"url": url, "files": tmp_path_factory.mktemp("in"), "service": demo.textif_service}
    finally:
        demo.close()


def test_fuse_endpoint_takes_the_ir_weight(pref_web: dict[str, Any]):
    from gradio_client import Client, handle_file
    from PIL import Image

    v, i = write_pair(pref_web["files"], "api", seed=4)
    client = Client(pref_web["url"], verbose=False, analytics_enabled=False)
    neutral = client.predict(handle_file(v), handle_file(i), "fuse them", False, 0.5, api_name="/fuse")[0]
    default = client.predict(handle_file(v), handle_file(i), "fuse them", False, api_name="/fuse")[0]
    warm = client.predict(handle_file(v), handle_file(i), "fuse them", False, 1.0, api_name="/fuse")[0]
    a, b, c = (np.asarray(Image.open(p), dtype=np.int16) for p in (neutral, default, warm))
    np.testing.assert_array_equal(a, b)  # the slider's default is the neutral fusion
    assert np.abs(c - a).max() > 0


def test_slider_reaches_the_fusion_in_the_browser(pref_web: dict[str, Any]):
    from gradio_client import Client, handle_file

    v, i = write_pair(pref_web["files"], "page", seed=5)
    with page_with_pair(pref_web["url"], v, i, "#ir-weight") as page:
        box = page.locator("#ir-weight input[type=number]")
        box.fill("0.9")
        box.press("Enter")
        page.locator("#fuse").click()
        page.wait_for_function("() => document.querySelector('#status').innerText.includes('Fused')")
    # the same pair at 0.9 is now in the server's cache: the browser's request carried the slider
    client = Client(pref_web["url"], verbose=False, analytics_enabled=False)
    status = client.predict(handle_file(v), handle_file(i), "Fuse the infrared and visible images.", False, 0.9,
                            api_name="/fuse")[3]
    assert "from the cache" in status
    status = client.predict(handle_file(v), handle_file(i), "Fuse the infrared and visible images.", False, 0.5,
                            api_name="/fuse")[3]
    assert "from the cache" not in status


def test_slider_is_disabled_for_a_model_not_trained_for_it(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("gradio", reason="gradio is not installed (pip install -e '.[dev]')")
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    demo, url = _app(tiny_checkpoint, tmp_path_factory)
    try:
        v, i = write_pair(tmp_path_factory.mktemp("in2"), "x", seed=6)
        client = Client(url, verbose=False, analytics_enabled=False)
        assert client.predict(handle_file(v), handle_file(i), "fuse", False, 0.5, api_name="/fuse")[3].startswith("**Fused")
        with pytest.raises(AppError) as e:
            client.predict(handle_file(v), handle_file(i), "fuse", False, 0.8, api_name="/fuse")
        assert "not trained for ir_weight" in str(e.value) and "Traceback" not in str(e.value)
    finally:
        demo.close()
