"""The image loader on a corpus of awkward and broken files that the tests write."""

import io

import nibabel
import numpy as np
import pytest
from PIL import Image

from strainer.demo_data import load_source
from strainer.image_files import BACKGROUND, BadImageError, ImageTooSmallError, load_image, prepare_image

GRADIENT = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (48, 1))  # 48 x 64, values 0..252


def write(path, image: Image.Image, **options):
    image.save(path, **options)
    return path


def test_rgb_png_scaled_to_unit_range(tmp_path):
    rgb = np.stack([GRADIENT, GRADIENT[:, ::-1], np.full_like(GRADIENT, 255)], axis=-1)
    loaded = load_image(write(tmp_path / "rgb.png", Image.fromarray(rgb)))
    assert loaded.dtype == np.float32
    assert loaded.shape == (48, 64, 3)
    np.testing.assert_allclose(loaded, rgb / 255.0, atol=1e-6)


def test_gray_png_is_two_dimensional(tmp_path):
    loaded = load_image(write(tmp_path / "gray.png", Image.fromarray(GRADIENT)))
    assert loaded.shape == (48, 64)
    assert loaded.max() == pytest.approx(252 / 255)


def test_16_bit_gray_keeps_precision(tmp_path):
    values = np.array([[0, 1, 257, 65535]], dtype=np.uint16).repeat(4, axis=0)
    path = write(tmp_path / "deep.png", Image.fromarray(values))
    loaded = load_image(path)
    assert loaded.shape == (4, 4)
    np.testing.assert_allclose(loaded[0], values[0] / 65535.0, rtol=1e-6)
    assert loaded[0, 1] > 0.0  # 1 / 65535 survives; cutting to 8 bits would give 0


def test_palette_with_transparency_composited(tmp_path):
    palette_image = Image.new("P", (8, 8), 0)
    palette_image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    palette_image.putpixel((0, 0), 1)
    path = write(tmp_path / "palette.png", palette_image, transparency=0)
    loaded = load_image(path)
    assert loaded.shape == (8, 8, 3)
    np.testing.assert_allclose(loaded[0, 0], [0.0, 0.0, 1.0])
    np.testing.assert_allclose(loaded[4, 4], [BACKGROUND] * 3)  # transparent red becomes background


def test_rgba_and_la_composited_onto_background(tmp_path):
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 51  # alpha 0.2
    loaded = load_image(write(tmp_path / "rgba.png", Image.fromarray(rgba, "RGBA")))
    np.testing.assert_allclose(loaded[0, 0], [1.0, 0.8 * BACKGROUND, 0.8 * BACKGROUND], atol=1e-6)

    la = Image.fromarray(np.zeros((4, 4), dtype=np.uint8), "L").convert("LA")
    la.putalpha(0)
    loaded = load_image(write(tmp_path / "la.png", la))
    assert loaded.shape == (4, 4)
    np.testing.assert_allclose(loaded, BACKGROUND)


def test_cmyk_jpeg_converted_to_rgb(tmp_path):
    rgb = Image.new("RGB", (16, 16), (200, 40, 90))
    path = write(tmp_path / "cmyk.jpg", rgb.convert("CMYK"), quality=95)
    assert Image.open(path).mode == "CMYK"
    loaded = load_image(path)
    assert loaded.shape == (16, 16, 3)
    np.testing.assert_allclose(loaded[8, 8], np.array([200, 40, 90]) / 255.0, atol=0.05)


def test_exif_orientation_applied_once(tmp_path):
    pixels = np.zeros((20, 40, 3), dtype=np.uint8)  # landscape, red on the left
    pixels[:, :10, 0] = 255
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = write(tmp_path / "rotated.jpg", image, exif=exif, quality=95)
    loaded = load_image(path)
    assert loaded.shape == (40, 20, 3)  # portrait once transposed
    assert loaded[2, 10, 0] > 0.8  # red band now at the top
    assert loaded[-2, 10, 0] < 0.2


def test_truncated_jpeg_rejected(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buffer, "JPEG")
    path = tmp_path / "truncated.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(BadImageError, match="truncated.jpg"):
        load_image(path)


@pytest.mark.parametrize("content", [b"", b"<html>Access denied</html>", b"\x89PNG\r\n\x1a\n garbage"])
def test_corrupt_files_rejected(tmp_path, content):
    path = tmp_path / "corrupt.png"
    path.write_bytes(content)
    with pytest.raises(BadImageError, match="corrupt.png: cannot read image"):
        load_image(path)


def test_decompression_bomb_rejected(tmp_path):
    path = write(tmp_path / "bomb.png", Image.new("1", (2000, 2000)))
    assert path.stat().st_size < 10_000
    with pytest.raises(BadImageError, match="exceeds the limit of 1000000"):
        load_image(path, max_pixels=1_000_000)


def test_nifti_slice_read_with_nibabel(tmp_path):
    values = np.linspace(0, 1, 12 * 16, dtype=np.float32).reshape(12, 16, 1)
    path = tmp_path / "slice_norm.nii.gz"
    nibabel.save(nibabel.Nifti1Image(values, np.eye(4)), path)
    loaded = load_image(path)
    assert loaded.shape == (12, 16)
    np.testing.assert_allclose(loaded, values[..., 0], atol=1e-6)


def test_nifti_raw_intensities_rescaled(tmp_path):
    values = np.arange(20, dtype=np.float32).reshape(4, 5) * 10
    path = tmp_path / "raw.nii"
    nibabel.save(nibabel.Nifti1Image(values, np.eye(4)), path)
    loaded = load_image(path)
    assert loaded.min() == 0.0
    assert loaded.max() == 1.0


def test_constant_image_stays_constant(tmp_path):
    path = write(tmp_path / "flat.png", Image.new("RGB", (300, 200), (51, 102, 153)))
    prepared = prepare_image(load_image(path), 178)
    assert prepared.shape == (178, 178, 3)
    np.testing.assert_allclose(prepared, np.broadcast_to([0.2, 0.4, 0.6], prepared.shape), atol=1e-6)


def test_small_image_rules(tmp_path):
    small = load_image(write(tmp_path / "small.png", Image.new("L", (100, 120), 128)))
    with pytest.raises(ImageTooSmallError, match="shorter side is 100 px, below the target size of 178 px"):
        prepare_image(small, 178, "error", "small.png")
    assert prepare_image(small, 178, "upscale").shape == (178, 178, 1)


def test_demo_loads_grace_hopper_through_loader():
    image = load_source("grace_hopper")
    assert image.dtype == np.float32
    assert image.ndim == 3
    assert image.shape[2] == 3
    assert image.min() >= 0.0
    assert image.max() <= 1.0
