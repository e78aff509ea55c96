from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from textif.core.errors import ImageReadError, ImageWriteError
from textif.core.io import list_images, read_image, read_image_with_info, write_image
from textif.core.registry import Registry, UnknownNameError


def test_registry_suggests_close_names():
    import textif

    with pytest.raises(UnknownNameError, match="did you mean 'textif-small'"):
        textif.create_model("textif-smal")
    reg: Registry[int] = Registry("thing")
    reg.add("alpha", 1)
    with pytest.raises(ValueError, match="registered twice"):
        reg.add("ALPHA", 2)
    with pytest.raises(UnknownNameError, match="unknown thing 'zzz'") as e:
        reg.get("zzz")
    assert "did you mean" not in str(e.value)


def test_read_16bit_gray_and_palette(tmp_path: Path):
    a16 = (np.arange(64 * 48, dtype=np.uint32).reshape(48, 64) * 21).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "t16.png"), a16)
    cv2.imwrite(str(tmp_path / "t16.tif"), a16)
    for name in ("t16.png", "t16.tif"):
        img, info = read_image_with_info(tmp_path / name)
        assert info.bit_depth == 16 and img.shape == (48, 64) and img.dtype == np.float32
        np.testing.assert_allclose(img, a16 / 65535.0, atol=1e-6)
    pal = Image.fromarray((np.arange(30 * 20) % 4).reshape(20, 30).astype(np.uint8), mode="P")
    pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 10, 10] + [0] * (256 * 3 - 12))
    pal.save(tmp_path / "pal.png")
    rgb = read_image(tmp_path / "pal.png")
    assert rgb.shape == (20, 30, 3)
    np.testing.assert_allclose(rgb[0, 0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(rgb[0, 1], [0.0, 1.0, 0.0])
    assert read_image(tmp_path / "pal.png", channels=1).shape == (20, 30)
    # a colour file whose channels are equal reads as gray
    cv2.imwrite(str(tmp_path / "g3.png"), np.repeat(a16[..., None] >> 8, 3, axis=2).astype(np.uint8))
    assert read_image(tmp_path / "g3.png").ndim == 2


@pytest.mark.parametrize(
    "content, match",
    [(None, "file not found"), (b"", "file is empty"), (b"this is not an image", "not a readable image")],
)
def test_read_errors_name_the_file(tmp_path: Path, content, match):
    p = tmp_path / "bad.png"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(ImageReadError, match=match) as e:
        read_image(p)
    assert str(p) in str(e.value)


def test_write_is_atomic_and_checks_folder(tmp_path: Path):
    img = np.random.default_rng(0).random((9, 11, 3)).astype(np.float32)
    out = write_image(tmp_path / "o.png", img, bit_depth=16)
    back = read_image(out)
    np.testing.assert_allclose(back, img, atol=1 / 65535)
    assert [f.name for f in tmp_path.iterdir()] == ["o.png"]  # no temporary file left behind
    with pytest.raises(ImageWriteError, match="does not exist"):
        write_image(tmp_path / "missing" / "o.png", img)
    with pytest.raises(ImageWriteError, match="16-bit output needs"):
        write_image(tmp_path / "o.jpg", img, bit_depth=16)


def test_list_images_by_stem(tmp_path: Path):
    for n in ("a.png", "b.JPG", "notes.txt", ".hidden.png"):
        (tmp_path / n).write_bytes(b"x")
    assert sorted(list_images(tmp_path)) == ["a", "b"]
    (tmp_path / "a.jpg").write_bytes(b"x")
    with pytest.raises(ImageReadError, match="share the name 'a'"):
        list_images(tmp_path)


def test_written_files_get_the_usual_permissions(tmp_path: Path):
    import os

    umask = os.umask(0o022)
    try:
        out = write_image(tmp_path / "p.png", np.zeros((4, 4), np.float32))
    finally:
        os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o644
