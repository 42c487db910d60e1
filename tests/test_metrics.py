import math

import numpy as np
import pytest

from strainer.metrics import psnr_db, ssim


def test_psnr_hand_computed():
    target = np.zeros((8, 8, 3), dtype=np.float32)
    reconstruction = np.full((8, 8, 3), 0.1, dtype=np.float32)
    # MSE 0.01 with data range 1: 10 * log10(1 / 0.01) = 20 dB
    assert psnr_db(target, reconstruction) == pytest.approx(20.0, abs=1e-4)


def test_psnr_clips_reconstruction():
    target = np.ones((4, 4), dtype=np.float32)
    overshoot = np.full((4, 4), 1.5, dtype=np.float32)
    assert psnr_db(target, overshoot) == math.inf


def test_psnr_rejects_integer_images():
    target = np.zeros((4, 4), dtype=np.uint8)
    with pytest.raises(TypeError, match="float"):
        psnr_db(target, target)


def test_ssim_identical_is_one():
    rng = np.random.default_rng(0)
    image = rng.random((16, 16, 3)).astype(np.float32)
    assert ssim(image, image.copy()) == pytest.approx(1.0)


def test_ssim_hand_computed_constants():
    # For constant images the variances vanish, so SSIM = (2ab + C1) / (a^2 + b^2 + C1)
    # with C1 = (0.01 * data_range)^2.
    a, b, c1 = 0.5, 0.25, 1e-4
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    target = np.full((9, 9), a, dtype=np.float64)
    reconstruction = np.full((9, 9), b, dtype=np.float64)
    assert ssim(target, reconstruction) == pytest.approx(expected, rel=1e-6)


def test_ssim_colour_uses_channel_axis():
    rng = np.random.default_rng(1)
    target = rng.random((12, 12, 3))
    noisy = np.clip(target + rng.normal(0, 0.1, target.shape), 0, 1)
    per_channel = np.mean([ssim(target[..., c], noisy[..., c]) for c in range(3)])
    assert ssim(target, noisy) == pytest.approx(per_channel, rel=1e-6)


def test_ssim_small_image_uses_smaller_window():
    rng = np.random.default_rng(2)
    target = rng.random((5, 6))
    value = ssim(target, target * 0.9)
    assert 0.0 < value < 1.0


def test_ssim_tiny_image_is_nan_not_error():
    target = np.zeros((2, 2), dtype=np.float32)
    assert math.isnan(ssim(target, target))
