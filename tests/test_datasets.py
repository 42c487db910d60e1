"""Dataset folders with bad files: listing, preparation and the skipped-files list."""

import io

import numpy as np
import pytest
from PIL import Image

from strainer.datasets import DatasetError, list_candidates, prepare_dataset_domain
from strainer.image_files import ImageTooSmallError

LAYOUTS = [{"any": ["photos/*"]}]
SEED = 1  # its order draws every bad file before the last good one


def jpeg_bytes(side: int, seed: int) -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(seed).integers(0, 255, (side, side + 4, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def folder(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(3):
        (photos / f"good{index}.jpg").write_bytes(jpeg_bytes(32, index))
    (photos / "corrupt.jpg").write_bytes(b"<html>403 Forbidden</html>")
    (photos / "truncated.jpg").write_bytes(jpeg_bytes(32, 9)[:300])
    (photos / "small.jpg").write_bytes(jpeg_bytes(8, 10))
    Image.new("1", (10_000, 10_000)).save(photos / "bomb.png")  # 1e8 pixels, above Pillow's default limit
    (photos / "README.txt").write_text("not an image")
    return tmp_path


def domain(**changes):
    settings = {"dataset": "toy", "channels": "rgb", "image_size_px": 16, "small_images": "skip",
                "n_train": 1, "n_test": 2}
    settings.update(changes)
    return settings


def test_listing_ignores_non_images(folder, caplog):
    caplog.set_level("INFO")
    candidates = list_candidates(folder, LAYOUTS, "toy")
    assert len(candidates) == 7
    assert "photos-README" not in {candidate.image_id for candidate in candidates}
    assert "README.txt: not an image file" in caplog.text


def test_bad_files_skipped_and_listed(folder):
    candidates = list_candidates(folder, LAYOUTS, "toy")
    images, manifest, skipped = prepare_dataset_domain(candidates, domain(), "toy_domain", seed=SEED)
    assert images.shape == (3, 16, 16, 3)
    assert set(manifest["image_id"]) == {"photos-good0", "photos-good1", "photos-good2"}
    assert manifest["pool"].tolist().count("train") == 1
    reasons = dict(zip(skipped["image_id"], skipped["reason"]))
    assert set(reasons) == {"photos-corrupt", "photos-truncated", "photos-small", "photos-bomb"}
    assert "cannot read image" in reasons["photos-corrupt"]
    assert "cannot read image" in reasons["photos-truncated"]
    assert "shorter side is 8 px" in reasons["photos-small"]
    assert "decompression bomb" in reasons["photos-bomb"]
    assert not np.isclose(images, 0.5).all(axis=(1, 2, 3)).any()  # no grey-filled stand-ins


def test_small_image_error_rule_stops(folder):
    candidates = [c for c in list_candidates(folder, LAYOUTS, "toy") if c.image_id == "photos-small"]
    with pytest.raises(ImageTooSmallError, match="small.jpg: shorter side is 8 px"):
        prepare_dataset_domain(candidates, domain(small_images="error", n_train=0, n_test=1), "toy_domain", seed=0)


def test_too_few_usable_images_named(folder):
    candidates = list_candidates(folder, LAYOUTS, "toy")
    with pytest.raises(DatasetError, match="domain 'toy_domain': dataset 'toy' has too few usable images"):
        prepare_dataset_domain(candidates, domain(n_train=2, n_test=2), "toy_domain", seed=0)


def test_include_ids_must_exist(folder):
    candidates = list_candidates(folder, LAYOUTS, "toy")
    with pytest.raises(DatasetError, match=r"'domains.toy_domain.include_ids': \['kodim99'\] not found"):
        prepare_dataset_domain(candidates, domain(include_ids=["kodim99"]), "toy_domain", seed=0)


def test_no_matching_layout_names_key(tmp_path):
    with pytest.raises(DatasetError, match="check that local_datasets.toy points at the folder"):
        list_candidates(tmp_path, LAYOUTS, "toy")
