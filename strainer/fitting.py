"""The fitting engine: full-batch Adam on a batch of independent images.

One loop serves test-time fitting (a BatchedSiren, one network per image) and STRAINER
pretraining (a Strainer, one decoder per image). The loss is the sum over images of
each image's mean squared error, so the gradient of one network depends on its own
image only and a batched fit equals B separate fits up to float rounding.
"""

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from strainer.metrics import batch_psnr_db
from strainer.runtime import save_torch

log = logging.getLogger(__name__)


class FitDivergedError(RuntimeError):
    """Raised when the loss or PSNR of some image stops being finite."""


@dataclass(frozen=True)
class FitSettings:
    steps: int  # optimiser steps
    lr: float  # Adam learning rate
    log_every: int  # steps between two points of the PSNR curve
    checkpoint_every: int = 0  # steps between checkpoints; 0 disables them


@dataclass
class FitResult:
    image_ids: list[str]
    curve_steps: list[int]  # steps at which curve_psnr_db was measured
    curve_psnr_db: np.ndarray  # (B, len(curve_steps))
    predictions: torch.Tensor  # (B, P, C) after the last step, unclipped, on the CPU
    seconds: float  # wall time of the optimisation loop
    resumed_from_step: int = 0


@dataclass
class _Progress:
    curve_steps: list[int] = field(default_factory=list)
    curve_psnr_db: list[torch.Tensor] = field(default_factory=list)
    seconds: float = 0.0


def coordinate_grid(height: int, width: int) -> torch.Tensor:
    """Return pixel coordinates of shape (height * width, 2), evenly spaced in [-1, 1].

    Both ends are included, as in the SIREN reference code. Row r, column c becomes the row-major entry r * width + c with value (y, x), so a
    prediction reshaped to (height, width, C) is the image in its own orientation.
    """
    rows = torch.linspace(-1.0, 1.0, height)
    columns = torch.linspace(-1.0, 1.0, width)
    grid_y, grid_x = torch.meshgrid(rows, columns, indexing="ij")  # (H, W) each
    return torch.stack([grid_y, grid_x], dim=-1).reshape(-1, 2)


def fit(
    model: nn.Module,
    images: torch.Tensor,
    settings: FitSettings,
    image_ids: list[str],
    device: torch.device,
    checkpoint_path: str | Path | None = None,
    checkpoint_key: str = "",
) -> FitResult:
    """Fit `model` to images of shape (B, H, W, C) with full-batch Adam.

    The model maps the coordinate grid to predictions (B, H * W, C). The PSNR of the
    clipped prediction of every image is recorded every `settings.log_every` steps and
    after the last step. With `checkpoint_path`, the model, the optimiser, the step,
    the RNG state and the curve so far are saved every `settings.checkpoint_every`
    steps, and a later call with the same `checkpoint_key` resumes from them.
    """
    batch, height, width, channels = images.shape
    if batch != model.batch_size:
        raise ValueError(f"model fits {model.batch_size} images but {batch} were given")
    if len(image_ids) != batch:
        raise ValueError(f"{len(image_ids)} image ids given for {batch} images")

    # Data and model on the device
    coords = coordinate_grid(height, width).to(device)  # (P, 2)
    targets = images.reshape(batch, height * width, channels).to(device)  # (B, P, C)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)

    # Resume from a checkpoint of the same fit, if one exists
    progress = _Progress()
    start_step = 0
    if checkpoint_path is not None:
        start_step = _load_checkpoint(checkpoint_path, checkpoint_key, model, optimizer, progress)

    # Training loop
    report_every = _report_interval(settings)
    loop_start = time.perf_counter()
    last_report = (start_step, loop_start)
    for step in range(start_step, settings.steps + 1):
        predictions = model(coords)  # (B, P, C)

        if step % settings.log_every == 0 or step == settings.steps:
            psnr = batch_psnr_db(targets, predictions.detach())
            _check_finite(psnr, image_ids, step)
            progress.curve_steps.append(step)
            progress.curve_psnr_db.append(psnr)
            if step % report_every == 0 or step == settings.steps:
                last_report = _report(step, settings.steps, psnr, last_report)

        if step == settings.steps:
            break

        loss = ((predictions - targets) ** 2).mean(dim=(1, 2)).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

        done = step + 1
        if checkpoint_path is not None and settings.checkpoint_every and done % settings.checkpoint_every == 0:
            progress.seconds += time.perf_counter() - loop_start
            loop_start = time.perf_counter()
            _save_checkpoint(checkpoint_path, checkpoint_key, done, model, optimizer, progress)

    progress.seconds += time.perf_counter() - loop_start
    curve = torch.stack(progress.curve_psnr_db, dim=1).cpu().numpy()  # (B, n_points)
    return FitResult(
        image_ids=list(image_ids),
        curve_steps=progress.curve_steps,
        curve_psnr_db=curve,
        predictions=predictions.detach().cpu(),
        seconds=progress.seconds,
        resumed_from_step=start_step,
    )


def _report_interval(settings: FitSettings) -> int:
    """Return a multiple of log_every that gives about 20 progress lines per fit."""
    intervals = max(1, settings.steps // (20 * settings.log_every))
    return intervals * settings.log_every


def _report(step: int, total: int, psnr: torch.Tensor, last: tuple[int, float]) -> tuple[int, float]:
    now = time.perf_counter()
    last_step, last_time = last
    ms_per_step = 1000.0 * (now - last_time) / max(1, step - last_step)
    values = psnr.cpu()
    log.info(
        "step %d/%d  psnr_db mean %.2f min %.2f max %.2f  %.1f ms/step",
        step, total, values.mean().item(), values.min().item(), values.max().item(), ms_per_step,
    )
    return step, now


def _check_finite(psnr: torch.Tensor, image_ids: list[str], step: int) -> None:
    finite = torch.isfinite(psnr) | (psnr == math.inf)  # +inf is a perfect fit
    if bool(finite.all()):
        return
    bad = [image_ids[index] for index in torch.nonzero(~finite).flatten().tolist()]
    raise FitDivergedError(
        f"fit diverged at step {step}: the PSNR of {len(bad)} image(s) is not finite "
        f"({', '.join(bad[:10])}). Lower the learning rate (lr) or check these images."
    )


def _save_checkpoint(path, key, step, model, optimizer, progress) -> None:
    state = {
        "key": key,
        "step": step,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "rng_cpu": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "curve_steps": progress.curve_steps,
        "curve_psnr_db": [psnr.cpu() for psnr in progress.curve_psnr_db],
        "seconds": progress.seconds,
    }
    save_torch(state, path)
    log.info("checkpoint saved at step %d: %s", step, path)


def _load_checkpoint(path, key, model, optimizer, progress) -> int:
    path = Path(path)
    if not path.exists():
        return 0

    state = torch.load(path, map_location="cpu", weights_only=False)
    if state.get("key") != key:
        log.warning("ignoring checkpoint %s: it belongs to other settings (%s)", path, state.get("key"))
        return 0

    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["rng_cpu"])
    if state["rng_cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng_cuda"])
    device = next(model.parameters()).device
    progress.curve_steps = list(state["curve_steps"])
    progress.curve_psnr_db = [psnr.to(device) for psnr in state["curve_psnr_db"]]
    progress.seconds = state["seconds"]
    log.info("resuming from checkpoint %s at step %d", path, state["step"])
    return state["step"]
