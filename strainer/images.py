"""Image arrays: conversion to float, square crops, resizing and channel layouts.

Every image in the workflow is a float32 array in [0, 1] of shape (H, W, C) with C = 3
(RGB) or C = 1 (single channel). Kept apart from the file loaders so that demo images
from arrays and dataset images from files go through the same steps.
"""

import numpy as np
from skimage.transform import resize

CHANNELS = {"rgb": 3, "gray": 1}  # channel layouts by name, as in config and paths
GRAY_FROM_RGB_CHANNEL = 1  # a gray encoder of an RGB domain is trained on green


def to_float(image: np.ndarray) -> np.ndarray:
    """Convert an integer or float image to float32 in [0, 1], scaled by its dtype."""
    if np.issubdtype(image.dtype, np.integer):
        return (image.astype(np.float64) / np.iinfo(image.dtype).max).astype(np.float32)
    if np.issubdtype(image.dtype, np.bool_):
        return image.astype(np.float32)
    image = image.astype(np.float32)
    if image.size and (image.min() < 0.0 or image.max() > 1.0):
        raise ValueError(f"float image has values in [{image.min()}, {image.max()}], outside [0, 1]")
    return image


def with_channel_axis(image: np.ndarray) -> np.ndarray:
    """Return an (H, W, C) view of an (H, W) or (H, W, C) image."""
    if image.ndim == 2:
        return image[:, :, None]
    if image.ndim == 3:
        return image
    raise ValueError(f"expected an image of shape (H, W) or (H, W, C), got {image.shape}")


def center_square(image: np.ndarray) -> np.ndarray:
    """Return the largest centred square crop of an (H, W, ...) image."""
    height, width = image.shape[:2]
    side = min(height, width)
    top = (height - side) // 2
    left = (width - side) // 2
    return image[top : top + side, left : left + side]


def resize_square(image: np.ndarray, size_px: int) -> np.ndarray:
    """Resize a square float image to size_px x size_px in float.

    Downscaling applies a Gaussian anti-aliasing filter first (scikit-image), and the
    filter and the interpolation are both weighted averages, so a constant image stays
    constant and values stay in [0, 1].
    """
    if image.shape[0] != image.shape[1]:
        raise ValueError(f"resize_square expects a square image, got {image.shape[:2]}")
    if image.shape[0] == size_px:
        return image.astype(np.float32)
    shape = (size_px, size_px) + image.shape[2:]
    downscaling = image.shape[0] > size_px
    resized = resize(image, shape, order=1, mode="reflect", anti_aliasing=downscaling)
    return np.clip(resized, 0.0, 1.0).astype(np.float32)


def convert_channels(images: np.ndarray, channels: str) -> np.ndarray:
    """Convert images of shape (..., H, W, C) to the named channel layout.

    RGB to gray keeps the green channel (the STRAINER paper's gray variant); gray to
    RGB repeats the single channel three times.
    """
    expected = CHANNELS[channels]
    have = images.shape[-1]
    if have == expected:
        return images
    if have == 3 and expected == 1:
        return images[..., GRAY_FROM_RGB_CHANNEL : GRAY_FROM_RGB_CHANNEL + 1]
    if have == 1 and expected == 3:
        return np.repeat(images, 3, axis=-1)
    raise ValueError(f"cannot convert images with {have} channels to {channels!r}")


def channels_name(n_channels: int) -> str:
    for name, count in CHANNELS.items():
        if count == n_channels:
            return name
    raise ValueError(f"images must have 1 or 3 channels, got {n_channels}")
