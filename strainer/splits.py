"""Prepared domains on disk and their seeded train/test splits.

A prepared domain is an .npz file with `images` (N, H, W, C) float32 in [0, 1] and
`image_ids` (N,). Beside it, a manifest CSV has one row per image: image_id, pool,
source and how the image was cut from its source. A split manifest is a CSV of image_id and
split ("train" or "test") in the order in which jobs use the images.
"""

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from strainer.runtime import atomic_path

log = logging.getLogger(__name__)

POOLS_FOR_SPLIT = {"train": ("train", "any"), "test": ("test", "any")}


def save_prepared(images: np.ndarray, manifest: pd.DataFrame, npz_path, csv_path) -> None:
    if len(images) != len(manifest):
        raise ValueError(f"{len(images)} images but {len(manifest)} manifest rows")
    ids = np.asarray(manifest["image_id"].astype(str).tolist(), dtype=np.str_)
    if len(set(ids)) != len(ids):
        raise ValueError("image ids in a prepared domain must be unique")

    with atomic_path(npz_path) as temporary, open(temporary, "wb") as handle:
        np.savez(handle, images=images.astype(np.float32), image_ids=ids)
    with atomic_path(csv_path) as temporary:
        manifest.to_csv(temporary, index=False)


def load_prepared(npz_path) -> tuple[np.ndarray, list[str]]:
    """Return images (N, H, W, C) and their ids from a prepared domain."""
    with np.load(npz_path, allow_pickle=False) as archive:
        return archive["images"], [str(image_id) for image_id in archive["image_ids"]]


def make_split(manifest: pd.DataFrame, n_train: int, n_test: int, seed: int, domain: str) -> pd.DataFrame:
    """Draw n_train training and n_test test images with a seeded permutation.

    Training images come from the "train" and "any" pools, test images from the "test"
    and "any" pools, and no image is in both. The same manifest, counts and seed give
    the same split.
    """
    rng = np.random.default_rng(seed)
    taken: set[str] = set()
    rows = []
    for split, count in (("train", n_train), ("test", n_test)):
        pool = manifest[manifest["pool"].isin(POOLS_FOR_SPLIT[split])]
        candidates = [image_id for image_id in pool["image_id"].astype(str) if image_id not in taken]
        if len(candidates) < count:
            raise ValueError(
                f"domain {domain!r} has {len(candidates)} images available for the {split} split "
                f"but n_{split} is {count}; lower n_{split} in the config or add images"
            )
        chosen = [candidates[index] for index in rng.permutation(len(candidates))[:count]]
        taken.update(chosen)
        rows.extend({"image_id": image_id, "split": split} for image_id in chosen)
    return pd.DataFrame(rows)


def split_ids(split_csv, split: str) -> list[str]:
    frame = pd.read_csv(split_csv, dtype={"image_id": str})
    return frame.loc[frame["split"] == split, "image_id"].tolist()


def shard_ids(ids: list[str], shard: int, shard_size: int) -> list[str]:
    """Return the ids of shard `shard`: positions shard * shard_size onwards."""
    selected = ids[shard * shard_size : (shard + 1) * shard_size]
    if not selected:
        raise ValueError(f"shard {shard} is empty: {len(ids)} images with shard_size {shard_size}")
    return selected


def select_images(images: np.ndarray, all_ids: list[str], requested: list[str], source: str | Path) -> np.ndarray:
    """Return the images of the `requested` ids, in that order, from a prepared domain."""
    index = {image_id: position for position, image_id in enumerate(all_ids)}
    missing = [image_id for image_id in requested if image_id not in index]
    if missing:
        raise KeyError(f"image ids {missing[:5]} are missing from {source}; rebuild the prepared domain")
    return images[[index[image_id] for image_id in requested]]
