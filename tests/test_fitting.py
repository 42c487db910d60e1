import numpy as np
import pytest
import torch
from torch import nn

from strainer.fitting import FitDivergedError, FitSettings, coordinate_grid, fit
from strainer.models import BatchedSiren, SirenConfig, Strainer

CPU = torch.device("cpu")
SMALL = SirenConfig(hidden_features=32, n_layers=4, shared_layers=3, out_features=1)


class RowCoordinate(nn.Module):
    """Predicts the y coordinate mapped to [0, 1]: a vertical ramp if layout is right."""

    batch_size = 1

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, coords):
        return ((coords[:, :1] + 1.0) / 2.0).unsqueeze(0) + 0.0 * self.unused


def test_coordinate_grid_layout_non_square():
    grid = coordinate_grid(3, 5).reshape(3, 5, 2)
    assert torch.allclose(grid[:, 0, 0], torch.tensor([-1.0, 0.0, 1.0]))  # y down the rows
    assert torch.allclose(grid[0, :, 1], torch.linspace(-1, 1, 5))  # x along the columns
    assert torch.all(grid[:, :, 0] == grid[:, :1, 0])  # y constant within a row


def test_fit_keeps_orientation_of_non_square_ramp():
    height, width = 4, 7
    ramp = np.repeat(np.linspace(0, 1, height, dtype=np.float32)[:, None], width, axis=1)
    images = torch.from_numpy(ramp)[None, :, :, None]  # (1, H, W, 1)
    result = fit(RowCoordinate(), images, FitSettings(steps=0, lr=1e-4, log_every=1), ["ramp"], CPU)
    reconstruction = result.predictions.reshape(height, width)
    torch.testing.assert_close(reconstruction, torch.from_numpy(ramp))
    assert result.curve_psnr_db[0, 0] > 100.0  # float rounding only


def _images(count, size=12, channels=1, seed=0):
    generator = torch.Generator().manual_seed(seed)
    smooth = torch.rand(count, channels, size // 3, size // 3, generator=generator)
    upsampled = nn.functional.interpolate(smooth, size=(size, size), mode="bilinear")
    return upsampled.permute(0, 2, 3, 1).contiguous()  # (B, H, W, C)


def test_pretraining_loss_falls():
    images = _images(3)
    model = Strainer(SMALL, n_decoders=3, seed=0)
    result = fit(model, images, FitSettings(steps=60, lr=1e-3, log_every=20), ["a", "b", "c"], CPU)
    assert result.curve_steps == [0, 20, 40, 60]
    first, last = result.curve_psnr_db[:, 0], result.curve_psnr_db[:, -1]
    assert np.all(last > first + 3.0)


def test_batched_and_sequential_fits_agree():
    images = _images(3, seed=1)
    seeds = [21, 22, 23]
    settings = FitSettings(steps=25, lr=1e-3, log_every=5)
    batched = fit(BatchedSiren.from_seeds(SMALL, seeds), images, settings, ["a", "b", "c"], CPU)
    for index, seed in enumerate(seeds):
        single = fit(BatchedSiren.from_seeds(SMALL, [seed]), images[index : index + 1], settings, ["x"], CPU)
        torch.testing.assert_close(batched.predictions[index], single.predictions[0], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(batched.curve_psnr_db[index], single.curve_psnr_db[0], rtol=1e-4)


def test_diverging_fit_names_images():
    images = _images(2)
    model = BatchedSiren.from_seeds(SMALL, [1, 2])
    with pytest.raises(FitDivergedError, match="img-b"):
        images = images.clone()
        images[1, 0, 0, 0] = float("nan")
        fit(model, images, FitSettings(steps=3, lr=1e-3, log_every=1), ["img-a", "img-b"], CPU)


def test_checkpoint_resume_matches_uninterrupted(tmp_path):
    images = _images(2, seed=3)
    settings = FitSettings(steps=30, lr=1e-3, log_every=5, checkpoint_every=10)
    uninterrupted = fit(Strainer(SMALL, 2, seed=4), images, settings, ["a", "b"], CPU)

    checkpoint = tmp_path / "model.checkpoint.pt"
    partial = FitSettings(steps=20, lr=1e-3, log_every=5, checkpoint_every=10)
    fit(Strainer(SMALL, 2, seed=4), images, partial, ["a", "b"], CPU, checkpoint, "key")
    assert checkpoint.exists()

    resumed = fit(Strainer(SMALL, 2, seed=4), images, settings, ["a", "b"], CPU, checkpoint, "key")
    assert resumed.resumed_from_step == 20
    assert resumed.curve_steps == uninterrupted.curve_steps
    assert torch.equal(resumed.predictions, uninterrupted.predictions)
    np.testing.assert_array_equal(resumed.curve_psnr_db, uninterrupted.curve_psnr_db)


def test_checkpoint_of_other_settings_is_ignored(tmp_path):
    images = _images(1, seed=5)
    checkpoint = tmp_path / "model.checkpoint.pt"
    settings = FitSettings(steps=10, lr=1e-3, log_every=5, checkpoint_every=5)
    fit(Strainer(SMALL, 1, seed=0), images, settings, ["a"], CPU, checkpoint, "old")
    result = fit(Strainer(SMALL, 1, seed=0), images, settings, ["a"], CPU, checkpoint, "new")
    assert result.resumed_from_step == 0
