"""Image quality metrics on float images in [0, 1].

PSNR and SSIM come from scikit-image. Both are computed on the reconstruction clipped
to [0, 1] with an explicit data range of 1. Without it, scikit-image derives the range
from the dtype (255 for uint8), which silently shifts every value.
"""

import logging
import math

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

log = logging.getLogger(__name__)

DATA_RANGE = 1.0  # images are floats in [0, 1]; written to every metrics CSV
SSIM_WINDOW = 7  # scikit-image's default win_size


def _check_float_pair(target: np.ndarray, reconstruction: np.ndarray) -> None:
    if target.shape != reconstruction.shape:
        raise ValueError(f"shape mismatch: target {target.shape} vs reconstruction {reconstruction.shape}")
    for name, array in (("target", target), ("reconstruction", reconstruction)):
        if not np.issubdtype(array.dtype, np.floating):
            raise TypeError(
                f"{name} has dtype {array.dtype}; convert images to float in [0, 1] before "
                "computing metrics (integer arrays give a wrong data range)"
            )


def psnr_db(target: np.ndarray, reconstruction: np.ndarray) -> float:
    """Return the PSNR in dB of the clipped reconstruction against the target.

    A perfect reconstruction gives +inf.
    """
    _check_float_pair(target, reconstruction)
    clipped = np.clip(reconstruction, 0.0, 1.0).astype(np.float64)
    if np.array_equal(clipped, target.astype(np.float64)):
        return math.inf
    return float(peak_signal_noise_ratio(target.astype(np.float64), clipped, data_range=DATA_RANGE))


def ssim(target: np.ndarray, reconstruction: np.ndarray) -> float:
    """Return the SSIM of the clipped reconstruction; images are (H, W) or (H, W, C).

    Images with a side shorter than the default 7-pixel window use the largest odd
    window that fits. A side shorter than 3 pixels gives NaN with a warning, so that
    one tiny image does not abort a whole table.
    """
    _check_float_pair(target, reconstruction)
    window = min(SSIM_WINDOW, *target.shape[:2])
    if window % 2 == 0:
        window -= 1
    if window < 3:
        log.warning("SSIM undefined for an image of shape %s (side < 3 pixels): NaN", target.shape)
        return math.nan

    clipped = np.clip(reconstruction, 0.0, 1.0).astype(np.float64)
    channel_axis = -1 if target.ndim == 3 else None
    return float(
        structural_similarity(
            target.astype(np.float64),
            clipped,
            data_range=DATA_RANGE,
            channel_axis=channel_axis,
            win_size=window,
        )
    )


def batch_psnr_db(targets: torch.Tensor, predictions: torch.Tensor) -> torch.Tensor:
    """Return the PSNR in dB of each image in a batch, on the device.

    targets and predictions have shape (B, ...); predictions are clipped to [0, 1].
    Used for the PSNR-against-step curves, where moving images to the CPU every log
    step would cost more than the step.
    """
    squared_error = (predictions.clamp(0.0, 1.0) - targets) ** 2
    mse = squared_error.flatten(start_dim=1).mean(dim=1)
    return 10.0 * torch.log10(DATA_RANGE**2 / mse)
