"""The two heavy workflow steps: pretraining an encoder and fitting one shard of images.

Each function takes plain paths and settings, so that a workflow script only unpacks
the `snakemake` object and calls one of them.
"""

import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from strainer.fitting import FitResult, FitSettings, fit
from strainer.images import CHANNELS, convert_channels
from strainer.methods import get_method
from strainer.metrics import DATA_RANGE, psnr_db, ssim
from strainer.models import BatchedSiren, SirenConfig, Strainer, count_parameters
from strainer.plan import NO_TRAINING
from strainer.runtime import atomic_path, derive_seed, save_torch
from strainer.splits import load_prepared, select_images, shard_ids, split_ids

log = logging.getLogger(__name__)


def load_split_images(prepared_npz, split_csv, split: str, channels: str) -> tuple[np.ndarray, list[str]]:
    """Return the images of one split, converted to `channels`, and their ids."""
    images, all_ids = load_prepared(prepared_npz)
    ids = split_ids(split_csv, split)
    selected = select_images(images, all_ids, ids, prepared_npz)
    return convert_channels(selected, channels), ids


def pretrain_encoder(
    prepared_npz: str,
    split_csv: str,
    model_config: SirenConfig,
    settings: FitSettings,
    domain: str,
    channels: str,
    n_decoders: int,
    base_seed: int,
    device: torch.device,
    output_model: str,
    output_curve: str,
) -> None:
    """Pretrain a STRAINER model on the first n_decoders training images of a domain."""
    images, ids = load_split_images(prepared_npz, split_csv, "train", channels)
    if len(ids) < n_decoders:
        raise ValueError(
            f"pretraining with {n_decoders} decoders needs {n_decoders} training images of "
            f"domain {domain!r}, but its split has {len(ids)}; raise n_train for this domain"
        )
    images, ids = images[:n_decoders], ids[:n_decoders]
    config = model_config.with_channels(CHANNELS[channels])
    seed = derive_seed(base_seed, "pretrain", domain, channels, n_decoders)
    model = Strainer(config, n_decoders, seed)
    log.info(
        "pretraining STRAINER on %s (%s): %d decoders, %d parameters, images %s, seed %d, %s",
        domain, channels, n_decoders, count_parameters(model), ", ".join(ids), seed, settings,
    )

    checkpoint = Path(output_model).with_suffix(".checkpoint.pt")
    key = repr((asdict(config), asdict(settings), ids, seed))
    result = fit(model, torch.from_numpy(images), settings, ids, device, checkpoint, key)

    final_psnr = result.curve_psnr_db[:, -1]
    log.info("pretraining done in %.1f s; final psnr_db per image: %s", result.seconds,
             ", ".join(f"{image_id} {value:.2f}" for image_id, value in zip(ids, final_psnr)))

    state = {
        "config": asdict(config),
        "n_decoders": n_decoders,
        "model": {name: tensor.cpu() for name, tensor in model.state_dict().items()},
        "domain": domain,
        "channels": channels,
        "train_image_ids": ids,
        "seed": seed,
        "settings": asdict(settings),
    }
    save_torch(state, output_model)
    _write_curve(result, output_curve, dict(domain=domain, channels=channels, n_decoders=n_decoders))
    checkpoint.unlink(missing_ok=True)


def load_pretrained(path: str) -> tuple[Strainer, dict]:
    state = torch.load(path, map_location="cpu", weights_only=False)
    model = Strainer(SirenConfig(**state["config"]), state["n_decoders"], seed=0)
    model.load_state_dict(state["model"])
    return model, state


def fit_shard(
    prepared_npz: str,
    split_csv: str,
    pretrained: str | None,
    model_config: SirenConfig,
    settings: FitSettings,
    method_name: str,
    trained_on: str,
    tested_on: str,
    channels: str,
    shard: int,
    shard_size: int,
    base_seed: int,
    device: torch.device,
    output_metrics: str,
    output_curves: str,
    output_reconstructions: str,
) -> None:
    """Fit every test image of one shard as one batched model and write its metrics."""
    method = get_method(method_name)
    images, all_ids = load_split_images(prepared_npz, split_csv, "test", channels)
    ids = shard_ids(all_ids, shard, shard_size)
    images = select_images(images, all_ids, ids, split_csv)
    seeds = [derive_seed(base_seed, "fit", method_name, image_id) for image_id in ids]
    config = model_config.with_channels(CHANNELS[channels])

    # Initialisation by method
    train_ids: list[str] = []
    if method.init == "random":
        model = BatchedSiren.from_seeds(config, seeds)
    else:
        pretrained_model, state = load_pretrained(pretrained)
        train_ids = state["train_image_ids"]
        if SirenConfig(**state["config"]) != config:
            raise ValueError(f"{pretrained} was trained with {state['config']}, but this fit uses {asdict(config)}")
        if method.init == "strainer":
            model = BatchedSiren.from_encoder(config, pretrained_model.encoder_layers(), seeds)
        else:
            model = BatchedSiren.from_network(config, pretrained_model.network(0), len(ids))

    log.info(
        "fitting %s (trained on %s) on %s shard %d: %d images (%s), %s, seeds %s, %s",
        method.display_name, trained_on, tested_on, shard, len(ids), ", ".join(ids), channels,
        seeds, settings,
    )
    result = fit(model, torch.from_numpy(images), settings, ids, device)
    log.info("fitted %d images in %.1f s", len(ids), result.seconds)

    # Per-image outputs
    labels = dict(method=method_name, trained_on=trained_on, tested_on=tested_on, channels=channels)
    height, width, n_channels = images.shape[1:]
    reconstructions = result.predictions.reshape(len(ids), height, width, n_channels).numpy()
    reconstructions = np.clip(reconstructions, 0.0, 1.0)
    rows = []
    for index, image_id in enumerate(ids):
        rows.append({
            **labels,
            "image_id": image_id,
            "shard": shard,
            "seed": seeds[index],
            "steps": settings.steps,
            "lr": settings.lr,
            "psnr_db": psnr_db(images[index], reconstructions[index]),
            "ssim": ssim(images[index], reconstructions[index]),
            "data_range": DATA_RANGE,
            "height_px": height,
            "width_px": width,
            "train_image_ids": ";".join(train_ids) if trained_on != NO_TRAINING else "",
            "device": device.type,
            "torch_version": torch.__version__,
        })
        log.info("%s: psnr_db %.2f ssim %.4f", image_id, rows[-1]["psnr_db"], rows[-1]["ssim"])

    with atomic_path(output_reconstructions) as temporary, open(temporary, "wb") as handle:
        np.savez_compressed(handle, **{image_id: reconstructions[i] for i, image_id in enumerate(ids)})
    _write_curve(result, output_curves, labels)
    with atomic_path(output_metrics) as temporary:
        pd.DataFrame(rows).to_csv(temporary, index=False)


def _write_curve(result: FitResult, path: str, labels: dict) -> None:
    """Write the PSNR-against-step curve of every image as a long CSV."""
    frames = []
    for index, image_id in enumerate(result.image_ids):
        frames.append(pd.DataFrame({
            **labels,
            "image_id": image_id,
            "step": result.curve_steps,
            "psnr_db": result.curve_psnr_db[index],
        }))
    with atomic_path(path) as temporary:
        pd.concat(frames).to_csv(temporary, index=False)
