import numpy as np
import pandas as pd
import pytest

from strainer.demo_data import RECIPES, build_demo_domain
from strainer.images import convert_channels, resize_square
from strainer.splits import load_prepared, make_split, save_prepared, shard_ids


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_demo_domain_pools_use_disjoint_sources(recipe):
    images, manifest = build_demo_domain(recipe, size_px=16, crops_per_source=2, seed=0)
    assert images.dtype == np.float32
    assert images.shape[1:3] == (16, 16)
    assert images.min() >= 0.0
    assert images.max() <= 1.0
    train_sources = set(manifest.loc[manifest["pool"] == "train", "source"])
    test_sources = set(manifest.loc[manifest["pool"] == "test", "source"])
    assert train_sources and test_sources
    assert not train_sources & test_sources


def test_demo_domain_is_reproducible():
    first, _ = build_demo_domain("photo_crops", 16, 2, seed=3)
    second, _ = build_demo_domain("photo_crops", 16, 2, seed=3)
    other, _ = build_demo_domain("photo_crops", 16, 2, seed=4)
    assert np.array_equal(first, second)
    assert not np.array_equal(first, other)


def test_resize_keeps_constant_image_constant():
    constant = np.full((100, 100, 3), 0.3, dtype=np.float32)
    resized = resize_square(constant, 17)
    assert resized.shape == (17, 17, 3)
    np.testing.assert_allclose(resized, 0.3, atol=1e-6)


def test_convert_channels_green_and_repeat():
    rgb = np.stack([np.full((2, 2), value) for value in (0.1, 0.5, 0.9)], axis=-1)
    assert np.all(convert_channels(rgb, "gray") == 0.5)
    gray = np.full((2, 2, 1), 0.4)
    assert convert_channels(gray, "rgb").shape == (2, 2, 3)


def _manifest(pools):
    return pd.DataFrame({"image_id": [f"img.{i}_x" for i in range(len(pools))], "pool": pools})


def test_split_is_seeded_and_disjoint():
    manifest = _manifest(["any"] * 20)
    first = make_split(manifest, 5, 8, seed=1, domain="d")
    again = make_split(manifest, 5, 8, seed=1, domain="d")
    other = make_split(manifest, 5, 8, seed=2, domain="d")
    assert first.equals(again)
    assert not first.equals(other)
    train = set(first.loc[first["split"] == "train", "image_id"])
    test = set(first.loc[first["split"] == "test", "image_id"])
    assert len(train) == 5
    assert len(test) == 8
    assert not train & test


def test_split_respects_pools():
    manifest = _manifest(["train"] * 4 + ["test"] * 4)
    split = make_split(manifest, 3, 4, seed=0, domain="d")
    test_ids = set(split.loc[split["split"] == "test", "image_id"])
    assert test_ids == set(manifest.loc[manifest["pool"] == "test", "image_id"])


def test_split_too_few_images_names_domain():
    with pytest.raises(ValueError, match="domain 'faces' has 4 images available for the train split"):
        make_split(_manifest(["train"] * 4 + ["test"] * 4), 5, 1, seed=0, domain="faces")


def test_shards_cover_ids_once():
    ids = [f"i{n}" for n in range(10)]
    shards = [shard_ids(ids, shard, 4) for shard in range(3)]
    assert [len(shard) for shard in shards] == [4, 4, 2]
    assert sum(shards, []) == ids
    with pytest.raises(ValueError, match="empty"):
        shard_ids(ids, 3, 4)


def test_prepared_round_trip(tmp_path):
    images = np.random.default_rng(0).random((3, 4, 4, 1)).astype(np.float32)
    manifest = _manifest(["any"] * 3)
    save_prepared(images, manifest, tmp_path / "d.npz", tmp_path / "d.csv")
    loaded, ids = load_prepared(tmp_path / "d.npz")
    assert np.array_equal(loaded, images)
    assert ids == list(manifest["image_id"])
    assert not list(tmp_path.glob("*.tmp"))
