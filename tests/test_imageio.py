"""Image I/O: every container, mode and bit depth the datasets use; bad files fail clearly."""
import cv2
import numpy as np
import pytest
from PIL import Image

from bench.imageio import (ImageReadError, quantise, read_image, write_image)

RNG = np.random.default_rng(0)
GREY8 = RNG.integers(0, 256, (17, 23), dtype=np.uint8)
RGB8 = RNG.integers(0, 256, (17, 23, 3), dtype=np.uint8)
GREY16 = RNG.integers(0, 65536, (17, 23), dtype=np.uint16)
RGB16 = RNG.integers(0, 65536, (17, 23, 3), dtype=np.uint16)


def _save_cv2(path, rgb_or_grey):
    arr = rgb_or_grey
    if arr.ndim == 3:
        arr = arr[:, :, ::-1] if arr.shape[2] == 3 else arr[:, :, [2, 1, 0, 3]]
    assert cv2.imwrite(str(path), np.ascontiguousarray(arr))


LOSSLESS = ["png", "bmp", "tif"]


@pytest.mark.parametrize("ext", LOSSLESS)
def test_grey_8bit_exact(tmp_path, ext):
    p = tmp_path / f"g.{ext}"
    _save_cv2(p, GREY8)
    img = read_image(p)
    assert (img.mode, img.source_mode, img.bits) == ("L", "L", 8)
    assert np.array_equal(img.data, GREY8)
    assert img.to_float01().max() <= 1.0 and img.to_float01().dtype == np.float32


@pytest.mark.parametrize("ext", LOSSLESS)
def test_rgb_8bit_exact_in_rgb_order(tmp_path, ext):
    p = tmp_path / f"c.{ext}"
    _save_cv2(p, RGB8)
    img = read_image(p)
    assert (img.mode, img.source_mode) == ("RGB", "RGB")
    assert np.array_equal(img.data, RGB8)


@pytest.mark.parametrize("ext", ["png", "tif", "bmp"])
def test_rgba_drops_alpha(tmp_path, ext):
    rgba = np.dstack([RGB8, np.full(GREY8.shape, 200, np.uint8)])
    p = tmp_path / f"a.{ext}"
    _save_cv2(p, rgba)
    img = read_image(p)
    assert (img.mode, img.source_mode) == ("RGB", "RGBA")
    assert np.array_equal(img.data, RGB8)


@pytest.mark.parametrize("ext", LOSSLESS + ["jpg"])
def test_rgb_but_grey_is_grey(tmp_path, ext):
    p = tmp_path / f"rg.{ext}"
    _save_cv2(p, np.dstack([GREY8] * 3))
    img = read_image(p)
    assert (img.mode, img.source_mode) == ("L", "RGB-grey")
    if ext != "jpg":
        assert np.array_equal(img.data, GREY8)


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_16bit_grey_and_rgb_keep_their_range(tmp_path, ext):
    pg, pc = tmp_path / f"g16.{ext}", tmp_path / f"c16.{ext}"
    _save_cv2(pg, GREY16)
    _save_cv2(pc, RGB16)
    g, c = read_image(pg), read_image(pc)
    assert (g.bits, g.mode, c.bits, c.mode) == (16, "L", 16, "RGB")
    assert np.array_equal(g.data, GREY16) and np.array_equal(c.data, RGB16)
    assert np.allclose(g.to_float01(), GREY16 / 65535.0)


def test_16bit_rgba_and_rgb_grey(tmp_path):
    p = tmp_path / "x.png"
    _save_cv2(p, np.dstack([GREY16] * 3 + [np.full(GREY16.shape, 65535, np.uint16)]))
    img = read_image(p)
    assert (img.bits, img.mode, img.source_mode) == (16, "L", "RGBA-grey")
    assert np.array_equal(img.data, GREY16)


def test_jpeg_grey_and_colour_are_close(tmp_path):
    smooth = cv2.GaussianBlur(RGB8, (7, 7), 3)
    p, q = tmp_path / "c.jpg", tmp_path / "g.jpeg"
    _save_cv2(p, smooth)
    _save_cv2(q, smooth[:, :, 0])
    c, g = read_image(p), read_image(q)
    assert c.mode == "RGB" and g.mode == "L" and c.fmt == g.fmt == "jpeg"
    assert np.abs(c.data.astype(int) - smooth).mean() < 6


def test_pillow_palette_la_and_uppercase_extension(tmp_path):
    Image.fromarray(RGB8).convert("P").save(tmp_path / "pal.PNG")
    Image.fromarray(GREY8).convert("LA").save(tmp_path / "la.png")
    pal, la = read_image(tmp_path / "pal.PNG"), read_image(tmp_path / "la.png")
    assert pal.shape == (17, 23) and pal.bits == 8
    assert (la.mode, la.source_mode) == ("L", "RGBA-grey") and np.array_equal(la.data, GREY8)


def test_format_comes_from_content_not_extension(tmp_path):
    p = tmp_path / "really_png.jpg"
    _save_cv2(tmp_path / "t.png", GREY8)
    p.write_bytes((tmp_path / "t.png").read_bytes())
    img = read_image(p)
    assert img.fmt == "png" and np.array_equal(img.data, GREY8)


def test_unicode_and_spaces_in_names(tmp_path):
    p = tmp_path / "dossier été" / "image fusionnée 红外.png"
    write_image(p, GREY8)
    assert np.array_equal(read_image(p).data, GREY8)


@pytest.mark.parametrize("ext", ["png", "jpg", "bmp"])
def test_truncated_files_fail_with_the_file_named(tmp_path, ext):
    p = tmp_path / f"t.{ext}"
    _save_cv2(p, RGB8)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ImageReadError, match=r"t\.%s.*(truncated|corrupt)" % ext):
        read_image(p)


def test_zero_byte_missing_and_non_image(tmp_path):
    (tmp_path / "z.png").write_bytes(b"")
    (tmp_path / "notes.png").write_text("this is text, not an image")
    with pytest.raises(ImageReadError, match="zero-byte"):
        read_image(tmp_path / "z.png")
    with pytest.raises(ImageReadError, match="not an image"):
        read_image(tmp_path / "notes.png")
    with pytest.raises(ImageReadError, match="not found"):
        read_image(tmp_path / "absent.png")


def test_corrupt_body_with_valid_header(tmp_path):
    p = tmp_path / "c.png"
    _save_cv2(p, RGB8)
    data = bytearray(p.read_bytes())
    data[40:80] = b"\x00" * 40  # break the IDAT stream, keep IEND
    p.write_bytes(bytes(data))
    with pytest.raises(ImageReadError, match="c.png"):
        read_image(p)


def test_write_is_lossless_png_8_and_16_bit(tmp_path):
    write_image(tmp_path / "a.png", RGB8)
    write_image(tmp_path / "b.png", GREY16)
    assert np.array_equal(read_image(tmp_path / "a.png").data, RGB8)
    b = read_image(tmp_path / "b.png")
    assert b.bits == 16 and np.array_equal(b.data, GREY16)
    assert not list(tmp_path.glob(".tmp-*"))
    with pytest.raises(TypeError):
        write_image(tmp_path / "c.png", RGB8.astype(np.float32))


def test_quantise_rounds_and_clips():
    x = np.array([-0.1, 0.0, 0.5, 1.0, 1.2], np.float32)
    assert quantise(x, 8).tolist() == [0, 0, 128, 255, 255]
    assert quantise(x, 16).tolist() == [0, 0, 32768, 65535, 65535]


def test_atomic_writes_get_the_umask_mode_not_mkstemps_0600(tmp_path):
    from bench.imageio import atomic_write_bytes, new_file_mode
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"x")
    atomic = tmp_path / "atomic.txt"
    atomic_write_bytes(atomic, b"x")
    assert (atomic.stat().st_mode & 0o777) == (plain.stat().st_mode & 0o777) == new_file_mode()
