"""Image files to float arrays: the one loader for every dataset and the demo.

`load_image` returns float32 in [0, 1] of shape (H, W) for single-channel files and
(H, W, 3) for colour files. It handles what real dataset folders contain:

- palette, LA, RGBA and PA images: alpha is composited onto BACKGROUND in float;
- 16-bit grayscale PNG and TIFF: scaled by 65535 (the bit depth), never cut to 8 bits;
- CMYK JPEGs: converted to RGB by Pillow;
- EXIF orientation: applied once, here, before any crop;
- truncated or corrupt files: BadImageError naming the file, never a grey-filled image;
- decompression bombs: BadImageError above `max_pixels`;
- NIfTI slices (.nii, .nii.gz): read with nibabel, float data kept in [0, 1].

`prepare_image` then cuts the centred square and resizes it in float.
"""

import logging
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from strainer.images import center_square, resize_square, with_channel_axis

log = logging.getLogger(__name__)

BACKGROUND = 1.0  # transparent pixels are composited onto white
MAX_PIXELS = 89_478_485  # Pillow's default MAX_IMAGE_PIXELS; larger images are rejected
PIL_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp", ".ppm", ".pgm"}
NIFTI_SUFFIXES = {".nii", ".nii.gz"}
SMALL_IMAGE_RULES = ("error", "skip", "upscale")


class BadImageError(ValueError):
    """Raised for a file that cannot be read as an image; the message names the file."""


class ImageTooSmallError(BadImageError):
    """Raised for an image whose shorter side is below the target size."""


def image_suffix(path: str | Path) -> str | None:
    """Return the image suffix of `path` (".png", ".nii.gz", ...), or None for other files."""
    name = Path(path).name.lower()
    if name.endswith(".nii.gz"):
        return ".nii.gz"
    suffix = Path(name).suffix
    return suffix if suffix in PIL_SUFFIXES | NIFTI_SUFFIXES else None


def load_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Load an image file as float32 in [0, 1], shape (H, W) or (H, W, 3).

    Raises BadImageError for a file that is not an image, is truncated or corrupt, is
    larger than `max_pixels` or has a pixel format this loader does not support.
    """
    path = Path(path)
    if image_suffix(path) in NIFTI_SUFFIXES:
        return _load_nifti(path)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; treat it as an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise BadImageError(
                        f"{path}: {width} x {height} pixels exceeds the limit of {max_pixels} "
                        "(possible decompression bomb); remove the file or raise max_pixels"
                    )
                image.load()  # raises OSError on truncated data
                image = ImageOps.exif_transpose(image)
                return _to_array(image, path)
    except BadImageError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise BadImageError(f"{path}: cannot read image ({type(error).__name__}: {error})") from error


def _to_array(image: Image.Image, path: Path) -> np.ndarray:
    mode = image.mode
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode == "PA":
        image = image.convert("RGBA")
        mode = "RGBA"

    if mode in ("1", "L"):
        return np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    if mode.startswith("I;16"):
        return np.asarray(image, dtype=np.float32) / 65535.0
    if mode == "I":
        # Pillow opens some 16-bit files as 32-bit "I"; scale by 16 bits if they fit.
        values = np.asarray(image)
        if values.min() < 0 or values.max() > 65535:
            raise BadImageError(f"{path}: 32-bit integer pixels outside the 16-bit range are not supported")
        return values.astype(np.float32) / 65535.0
    if mode == "F":
        values = np.asarray(image, dtype=np.float32)
        if values.min() < 0.0 or values.max() > 1.0:
            raise BadImageError(f"{path}: float pixels in [{values.min()}, {values.max()}], outside [0, 1]")
        return values
    if mode in ("LA", "RGBA"):
        values = np.asarray(image, dtype=np.float32) / 255.0
        colour, alpha = values[..., :-1], values[..., -1:]
        composited = colour * alpha + BACKGROUND * (1.0 - alpha)
        return composited[..., 0] if mode == "LA" else composited
    if mode in ("RGB", "CMYK", "YCbCr", "LAB", "HSV"):
        return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    raise BadImageError(f"{path}: unsupported pixel mode {mode!r}")


def _load_nifti(path: Path) -> np.ndarray:
    import nibabel

    try:
        data = np.asarray(nibabel.load(path).get_fdata(dtype=np.float32))
    except Exception as error:  # nibabel raises many types for damaged files
        raise BadImageError(f"{path}: cannot read NIfTI image ({type(error).__name__}: {error})") from error
    data = np.squeeze(data)
    if data.ndim != 2:
        raise BadImageError(f"{path}: expected a 2D slice, got an array of shape {data.shape}")
    if not np.isfinite(data).all():
        raise BadImageError(f"{path}: the slice contains NaN or infinite values")
    low, high = float(data.min()), float(data.max())
    if low < 0.0 or high > 1.0:
        # Raw intensities: scale this slice to [0, 1] by its own range.
        if high == low:
            raise BadImageError(f"{path}: constant slice with value {low} outside [0, 1]")
        data = (data - low) / (high - low)
    return data.astype(np.float32)


def prepare_image(image: np.ndarray, size_px: int, small_images: str = "error", source: str = "") -> np.ndarray:
    """Cut the centred square of an image and resize it to (size_px, size_px, C).

    An image whose shorter side is below size_px raises ImageTooSmallError when
    small_images is "error" or "skip" (the caller then leaves the file out), and is
    upscaled when it is "upscale".
    """
    if small_images not in SMALL_IMAGE_RULES:
        raise ValueError(f"small_images must be one of {SMALL_IMAGE_RULES}, got {small_images!r}")
    square = center_square(with_channel_axis(image))
    if square.shape[0] < size_px and small_images != "upscale":
        raise ImageTooSmallError(
            f"{source}: shorter side is {square.shape[0]} px, below the target size of {size_px} px; "
            "set the domain's small_images to skip or upscale, or lower image_size_px"
        )
    return resize_square(square, size_px)
