"""The web app (``textif serve``): the result cache, the fusion service's messages, the ``/fuse``
endpoint through ``gradio_client``, and the page driven end to end in headless Chromium.

The server runs in a background thread on a free localhost port, with the tiny random-weights
checkpoint and small images, so the whole file stays well under a minute and a half.

Regenerate the README screenshot (a real fusion of the bundled ``010007`` pair) with::

    python tests/test_web.py --screenshot docs/web-screenshot.png [--model CHECKPOINT_DIR]
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
if __name__ == "__main__":  # run as a script: make `tests.conftest` importable
    sys.path.insert(0, str(REPO))

from tests.conftest import png_header_only, smooth_pair  # noqa: E402

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
# gradio's queue statistics use pandas APIs that pandas 3 deprecates: not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:::gradio.queueing")
H, W = 96, 128  # small pair: fast fusion on a busy CPU
MAX_PIXELS = 200_000  # the examples' 640x512 is over this: used to test the pixel limit
MAX_UPLOAD_MB = 1.0


# ----------------------------------------------------------------------------- helpers
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_pair(folder: Path, h: int = H, w: int = W, seed: int = 0) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    vis, ir = smooth_pair(h, w, seed)
    v, i = folder / f"vis-{w}x{h}.png", folder / f"ir-{w}x{h}.png"
    cv2.imwrite(str(v), np.round(vis[..., ::-1] * 255).astype(np.uint8))
    cv2.imwrite(str(i), np.round(ir * 255).astype(np.uint8))
    return v, i


def read_png(path: str | Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, f"{path}: not an image"
    return img


@pytest.fixture(scope="module")
def gradio_mod():
    return pytest.importorskip("gradio", reason="gradio is not installed (pip install -e '.[dev]')")


@pytest.fixture(scope="module")
def web(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory, gradio_mod) -> Iterator[dict[str, Any]]:
    """The app with the tiny checkpoint, served in a background thread on a free port."""
    import textif
    from textif.web.app import WebLimits, build_app, launch

    fuser = textif.load(str(tiny_checkpoint), device="cpu")
    fuser.embed("warm up the text encoder")
    demo = build_app(
        fuser, limits=WebLimits(max_upload_mb=MAX_UPLOAD_MB, max_pixels=MAX_PIXELS),
        out_dir=tmp_path_factory.mktemp("web-out"), examples_dir=REPO / "examples",
    )
    url = launch(demo, host="127.0.0.1", port=free_port(), block=False)
    try:
        yield {"url": url, "demo": demo, "service": demo.textif_service, "fuser": fuser,
               "files": tmp_path_factory.mktemp("web-in")}
    finally:
        demo.close()


# ----------------------------------------------------------------------------- no server
def test_result_cache_is_lru_and_deletes_evicted_files(tmp_path: Path):
    from textif.web.cache import CachedResult, ResultCache, result_key

    a = np.zeros((4, 5, 3), np.float32)
    b = np.zeros((4, 5), np.float32)
    k1 = result_key(a, b, "t", "m")
    assert k1 == result_key(a.copy(), b.copy(), "t", "m")
    assert len({k1, result_key(a, b, "u", "m"), result_key(a, b, "t", "n"), result_key(b, b, "t", "m"),
                result_key(a, b, "t", "m", resize=True)}) == 5
    b2 = b.copy()
    b2[0, 0] = 1e-3
    assert result_key(a, b2, "t", "m") != k1

    def entry(name: str) -> CachedResult:
        d = tmp_path / name
        d.mkdir()
        (d / "f.png").write_bytes(b"x")
        (d / "v.png").write_bytes(b"x")
        return CachedResult(d, d / "f.png", d / "v.png", 5, 4, 0.1, False)

    cache = ResultCache(2)
    cache.put("a", entry("a"))
    cache.put("b", entry("b"))
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("c", entry("c"))  # evicts b
    assert "b" not in cache and not (tmp_path / "b").exists()
    assert cache.get("a") is not None and cache.get("c") is not None
    (tmp_path / "c" / "f.png").unlink()  # a vanished file is a miss, not a broken result
    assert cache.get("c") is None
    cache.clear()
    assert len(cache) == 0 and not (tmp_path / "a").exists()


def test_service_messages_are_one_line(tiny_checkpoint: Path, tmp_path: Path):
    import textif
    from textif.core.errors import TextIFError
    from textif.web.app import FusionService, WebLimits

    fuser = textif.load(str(tiny_checkpoint), device="cpu")
    svc = FusionService(fuser, WebLimits(max_pixels=100 * 100, max_upload_mb=0.05), tmp_path / "out")
    v, i = write_pair(tmp_path / "a", 48, 64)
    v2, i2 = write_pair(tmp_path / "b", 40, 64)
    big_v, big_i = write_pair(tmp_path / "c", 120, 120)
    junk = tmp_path / "notes.png"
    junk.write_text("this is not an image")
    noise = tmp_path / "noise.png"  # ~77 kB of incompressible pixels: over the 0.05 MB upload limit
    cv2.imwrite(str(noise), np.random.default_rng(1).integers(0, 256, (160, 160, 3), dtype=np.uint8))
    cases = {
        "upload a visible and an infrared image": (None, None),
        "upload an infrared image too": ({"path": str(v), "orig_name": "v.png"}, None),
        "upload a visible image too": (None, {"path": str(i), "orig_name": "i.png"}),
        "size mismatch: the visible image 'v.png' is 64×48 but the infrared image 'i2.png' is 64×40":
            ({"path": str(v), "orig_name": "v.png"}, {"path": str(i2), "orig_name": "i2.png"}),
        "the visible file 'notes.txt' is not an image":
            ({"path": str(junk), "orig_name": "notes.txt"}, {"path": str(i), "orig_name": "i.png"}),
        "the visible image 'big.png' is 120×120 (0.0144 MP); this server accepts at most 0.01 MP per image":
            ({"path": str(big_v), "orig_name": "big.png"}, {"path": str(big_i), "orig_name": "bigi.png"}),
        # over PIL's decompression-bomb limit: refused from the header, with the pixel count it states
        "the visible image 'huge.png' is about 225 MP; this server accepts at most 0.01 MP per image":
            ({"path": str(png_header_only(tmp_path / "huge.png", 15000, 15000)), "orig_name": "huge.png"},
             {"path": str(i), "orig_name": "i.png"}),
        "this server accepts uploads of at most 0.05 MB":
            ({"path": str(noise), "orig_name": "noise.png"}, {"path": str(i), "orig_name": "i.png"}),
    }
    for expected, (vis, ir) in cases.items():
        with pytest.raises(TextIFError) as e:
            svc.fuse(vis, ir, "x")
        msg = str(e.value)
        assert expected in msg and "\n" not in msg, msg
        assert str(tmp_path) not in msg, f"server paths leak into the message: {msg}"
    with pytest.raises(TextIFError, match="at most 1000 are allowed"):
        svc.fuse(str(v), str(i), "x" * 1001)

    # resizing on request; then a repeated request comes from the cache
    first = svc.fuse(str(v), str(i2), "the visible image is too dark", True)
    assert not first.from_cache and read_png(first.result.fused).shape == (48, 64, 3)
    again = svc.fuse(str(v), str(i2), "  the visible image is too dark ", True)
    assert again.from_cache and again.result.fused == first.result.fused
    assert "from the cache" in again.status_markdown("m", "cpu")

    # large images go through the tiled path (here: anything over 1000 pixels)
    tiled = FusionService(textif.load(str(tiny_checkpoint), device="cpu", max_pixels=1000), out_dir=tmp_path / "out3")
    t = tiled.fuse(str(v), str(i), "x")
    assert t.result.tiled and "tiled" in t.status_markdown("m", "cpu") and read_png(t.result.fused).shape == (48, 64, 3)
    assert not first.result.tiled

    # an untrained model: the message says so, on the page and on every fuse
    untrained = textif.load("textif-tiny", device="cpu")
    svc2 = FusionService(untrained, out_dir=tmp_path / "out2")
    assert svc2.untrained_message() and "no trained weights" in svc2.untrained_message()
    with pytest.raises(TextIFError, match="no trained weights"):
        svc2.fuse(str(v), str(i), "x")


def test_serve_cli(tmp_path: Path, tiny_checkpoint: Path, gradio_mod):
    from typer.testing import CliRunner

    from textif.cli.main import app

    runner = CliRunner()
    r = runner.invoke(app, ["serve", "--help"])
    assert r.exit_code == 0 and "--port" in r.output and "--max-megapixels" in r.output
    r = runner.invoke(app, ["serve", "--port", "0"])
    assert r.exit_code == 2 and "--port must be between" in r.output
    r = runner.invoke(app, ["serve", "--model", str(tmp_path / "nope")])
    assert r.exit_code == 2 and "error:" in r.output and "Traceback" not in r.output


def test_port_in_use_is_a_clear_error(tiny_fuser, gradio_mod):
    from textif.core.errors import TextIFError
    from textif.web.app import build_app, launch

    demo = build_app(tiny_fuser, examples_dir=Path("/nonexistent"))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        with pytest.raises(TextIFError, match=f"cannot listen on 127.0.0.1:{port}.*--port"):
            launch(demo, port=port, block=False)
    demo.close()


# ----------------------------------------------------------------------------- gradio_client
def test_fuse_endpoint_through_gradio_client(web: dict[str, Any], tmp_path: Path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    v, i = write_pair(tmp_path / "pair", H, W, seed=3)
    client = Client(web["url"], verbose=False, analytics_enabled=False, download_files=str(tmp_path / "dl"))
    assert "/fuse" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]

    fused, (before, after), download, status = client.predict(
        handle_file(v), handle_file(i), "The visible image is too dark, please enhance the brightness.", False,
        api_name="/fuse",
    )
    img = read_png(fused)
    assert img.shape == (H, W, 3)
    assert read_png(download).shape == (H, W, 3) and Path(download).suffix == ".png"
    assert read_png(before).shape == (H, W, 3) and np.array_equal(read_png(after), img)
    assert f"Fused {W}×{H} in" in status and "textif-tiny" in status

    # the same inputs and text: from the cache, identical pixels
    fused2, _, _, status2 = client.predict(handle_file(v), handle_file(i),
                                           "The visible image is too dark, please enhance the brightness.", False,
                                           api_name="/fuse")
    assert "from the cache" in status2 and np.array_equal(read_png(fused2), img)
    # another sentence: another image
    fused3, _, _, status3 = client.predict(handle_file(v), handle_file(i), "The infrared image has stripe noise.", False,
                                           api_name="/fuse")
    assert "cache" not in status3 and np.abs(read_png(fused3).astype(int) - img.astype(int)).max() > 0

    _, i_small = write_pair(tmp_path / "small", H // 2, W // 2)
    junk = tmp_path / "readme.txt"
    junk.write_text("not an image")
    errors = {
        "size mismatch": (handle_file(v), handle_file(i_small)),
        "upload a visible image too": (None, handle_file(i)),
        "'readme.txt' is not an image": (handle_file(junk), handle_file(i)),
        "this server accepts at most 0.2 MP per image": (handle_file(REPO / "examples/vis/010007.png"),
                                                          handle_file(REPO / "examples/ir/010007.png")),
    }
    for expected, (a, b) in errors.items():
        with pytest.raises(AppError) as e:
            client.predict(a, b, "x", False, api_name="/fuse")
        assert expected in str(e.value) and "Traceback" not in str(e.value), str(e.value)


# ----------------------------------------------------------------------------- the browser
def _playwright_or_skip():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright Python package is not installed (pip install -e '.[dev]')")
    return sync_playwright


@contextlib.contextmanager
def page_with_pair(url: str, vis: Path, ir: Path, ready: str) -> Iterator[Any]:
    """A headless Chromium page (1400x1100, 60 s timeouts) at ``url``, once ``ready`` (a selector)
    is on it and ``vis``/``ir`` are uploaded to the image tab and previewed; skips without Chromium."""
    sync_playwright = _playwright_or_skip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=60_000)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.set_default_timeout(60_000)
            page.goto(url, wait_until="domcontentloaded")
            page.wait_for_selector(ready)
            page.locator("#vis input[type=file]").set_input_files(str(vis))
            page.locator("#ir input[type=file]").set_input_files(str(ir))
            page.wait_for_selector("#vis img")
            page.wait_for_selector("#ir img")
            yield page
        finally:
            browser.close()


def _image_src(page, elem: str) -> str:
    return page.eval_on_selector(f"{elem} img", "img => img.src")


def _wait_result(page, previous_src: str | None, timeout_ms: int) -> dict[str, Any]:
    """Wait until the result image is loaded (and differs from ``previous_src``); return its size and src."""
    page.wait_for_function(
        """(prev) => { const img = document.querySelector('#result img');
                       return img && img.complete && img.naturalWidth > 0 && img.src !== prev; }""",
        arg=previous_src or "", timeout=timeout_ms,
    )
    return page.eval_on_selector("#result img", "i => ({w: i.naturalWidth, h: i.naturalHeight, src: i.src})")


def _fetch(url: str) -> np.ndarray:
    with urllib.request.urlopen(url, timeout=20) as r:  # the local server only
        data = np.frombuffer(r.read(), np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    assert img is not None, f"{url}: not an image"
    return img


def drive_page(url: str, vis: Path, ir: Path, prompt: str, *, second_prompt_button: str | None = None,
               second_prompt: str | None = None, screenshot: Path | None = None, timeout_s: float = 60,
               extra_checks: Any = None) -> dict[str, Any]:
    """Open the page in headless Chromium, upload ``vis``/``ir``, type ``prompt``, press Fuse, wait for the
    result; then change the prompt (a suggested-prompt button or typed text) and fuse again.

    Returns the sizes and pixels of both results, the status texts and any request that left localhost.
    """
    sync_playwright = _playwright_or_skip()
    out: dict[str, Any] = {"external": []}
    with sync_playwright() as p:
        # Playwright gives each launch a fresh temporary profile (--user-data-dir) and removes it after
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=60_000)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1150})
            page.set_default_timeout(timeout_s * 1000)
            page.on("request", lambda r: out["external"].append(r.url)
                    if not r.url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:")) else None)
            page.goto(url, wait_until="domcontentloaded")
            page.wait_for_selector("#fuse")
            page.locator("#vis input[type=file]").set_input_files(str(vis))
            page.locator("#ir input[type=file]").set_input_files(str(ir))
            page.wait_for_selector("#vis img")
            page.wait_for_selector("#ir img")
            page.locator("#prompt textarea").fill(prompt)
            page.locator("#fuse").click()
            first = _wait_result(page, None, int(timeout_s * 1000))
            page.wait_for_function("() => document.querySelector('#status').innerText.includes('Fused')")
            out["first"] = first
            out["first_pixels"] = _fetch(first["src"])
            out["first_status"] = page.inner_text("#status")
            if second_prompt_button:
                page.locator(f"#{second_prompt_button}").click()
                page.wait_for_function(
                    "(t) => document.querySelector('#prompt textarea').value === t", arg=second_prompt or "")
            elif second_prompt:
                page.locator("#prompt textarea").fill(second_prompt)
            if second_prompt_button or second_prompt:
                page.locator("#fuse").click()
                # the status and the image come in the same update; the status text may repeat (same time)
                second = _wait_result(page, first["src"], int(timeout_s * 1000))
                out["second"] = second
                out["second_pixels"] = _fetch(second["src"])
                out["second_status"] = page.inner_text("#status")
                out["prompt_value"] = page.input_value("#prompt textarea")
            page.wait_for_function(
                "() => [...document.querySelectorAll('#compare img')].every(i => i.complete && i.naturalWidth > 0)"
            )
            out["compare_images"] = page.eval_on_selector_all("#compare img", "els => els.length")
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=True)
            if extra_checks is not None:
                extra_checks(page, out)
        finally:
            browser.close()
    return out


def _more_checks(web_files: Path):
    """After the fusions: the download button gives the full-resolution PNG; a mismatched pair and an
    upload over the size limit each give a clear message on the page; an example pair loads in one click."""

    def check(page, out: dict[str, Any]) -> None:
        with page.expect_download() as dl:
            page.locator("#download").click()
        out["download_name"] = dl.value.suggested_filename
        out["download_pixels"] = read_png(dl.value.path())

        _, small_ir = write_pair(web_files / "mismatch", H // 2, W // 2)
        page.locator("#ir button[aria-label='Remove Image']").click()
        page.locator("#ir input[type=file]").set_input_files(str(small_ir))
        page.wait_for_function(
            f"() => {{ const i = document.querySelector('#ir img'); return i && i.naturalWidth === {W // 2}; }}")
        page.locator("#fuse").click()
        toast = page.locator(".toast-body", has_text="size mismatch")
        toast.first.wait_for(state="visible")
        out["mismatch_message"] = toast.first.inner_text()
        page.wait_for_function("() => document.querySelector('#status').innerText.includes('did not run')")
        out["failed_status"] = page.inner_text("#status")

        big = web_files / "big.png"  # ~1.5 MB of noise: over the server's 1 MB upload limit
        cv2.imwrite(str(big), np.random.default_rng(0).integers(0, 256, (720, 720, 3), dtype=np.uint8))
        page.locator("#vis button[aria-label='Remove Image']").click()
        page.locator("#vis input[type=file]").set_input_files(str(big))
        toast = page.locator(".toast-body", has_text="maximum allowed size")
        toast.first.wait_for(state="visible")
        out["upload_limit_message"] = toast.first.inner_text()

        # picking a bundled example fills both inputs and the prompt
        page.locator("#examples tr.tr-body", has_text="too dark").first.click()
        page.wait_for_function(
            """() => [...document.querySelectorAll('#vis img, #ir img')]
                       .filter(i => i.complete && i.naturalWidth === 640).length === 2""")
        out["example_prompt"] = page.input_value("#prompt textarea")

    return check


def test_page_end_to_end_in_chromium(web: dict[str, Any], tmp_path: Path):
    from textif.data.prompts import suggested_prompts

    vis, ir = write_pair(web["files"] / "e2e", H, W, seed=5)
    shot = tmp_path / "web-e2e.png"
    stripe = suggested_prompts()["ir_stripe"]
    out = drive_page(
        web["url"], vis, ir, "The visible image is too dark, please enhance the brightness.",
        second_prompt_button="prompt-ir_stripe", second_prompt=stripe, screenshot=shot,
        extra_checks=_more_checks(web["files"]),
    )
    # the result appears with the input's size, and the page says how long it took
    assert (out["first"]["w"], out["first"]["h"]) == (W, H)
    assert out["first_pixels"].shape[:2] == (H, W)
    assert f"Fused {W}×{H} in" in out["first_status"] and " s" in out["first_status"]
    # one click put the suggested prompt in the box; the new sentence changed the result
    assert out["prompt_value"] == stripe
    assert (out["second"]["w"], out["second"]["h"]) == (W, H)
    assert np.abs(out["second_pixels"].astype(int) - out["first_pixels"].astype(int)).max() > 0
    assert out["compare_images"] == 2  # the before/after slider shows visible and fused
    assert out["download_name"].endswith(".png") and np.array_equal(out["download_pixels"], out["second_pixels"])
    # a clear message on the page for a mismatched pair, no stack trace
    assert "size mismatch" in out["mismatch_message"] and "Traceback" not in out["mismatch_message"]
    assert "did not run" in out["failed_status"]
    assert "big.png" in out["upload_limit_message"]
    assert out["example_prompt"] == suggested_prompts()["low_light"]
    assert out["external"] == [], f"the page fetched from outside localhost: {out['external'][:5]}"
    assert shot.stat().st_size > 10_000
    if os.environ.get("TEXTIF_WEB_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["TEXTIF_WEB_SCREENSHOT"])


# ----------------------------------------------------------------------------- screenshot for the README
def _main(argv: list[str] | None = None) -> int:
    """Serve the app and screenshot a fusion of the bundled 010007 pair (for docs/web-screenshot.png)."""
    import argparse

    import textif
    from textif.data.prompts import suggested_prompts
    from textif.web.app import build_app, launch

    ap = argparse.ArgumentParser(description=_main.__doc__)
    ap.add_argument("--screenshot", type=Path, default=REPO / "docs" / "web-screenshot.png")
    ap.add_argument("--model", default=None,
                    help="checkpoint folder (default: the shipped default model, else a tiny random-weights test model)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="textif-shot-") as tmp:
        from textif.inference.fuser import DEFAULT_MODEL
        from textif.models.hub import bundled_weights

        shipped = bundled_weights(DEFAULT_MODEL)
        model = args.model or (str(shipped) if shipped else None)
        if model is None:
            import torch

            from tests.conftest import randomize_text_path
            from textif.models import create_model
            from textif.models.hub import save_pretrained

            torch.manual_seed(0)
            model = str(Path(tmp) / "tiny")
            save_pretrained(randomize_text_path(create_model("textif-tiny")), model, name="textif-tiny",
                            text_encoder="minilm", training={"steps": 0, "note": "random weights for tests"})
        fuser = textif.load(model, device="cpu")
        demo = build_app(fuser, out_dir=Path(tmp) / "out", examples_dir=REPO / "examples")
        url = launch(demo, port=free_port(), block=False)
        try:
            out = drive_page(url, REPO / "examples/vis/010007.png", REPO / "examples/ir/010007.png",
                             suggested_prompts()["low_light"], screenshot=args.screenshot, timeout_s=300)
        finally:
            demo.close()
    print(f"wrote {args.screenshot} ({out['first_status']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
