"""Demo domains built offline from images that installed packages ship.

These stand in for the STRAINER paper's datasets (CelebA-HQ, AFHQ, OASIS-MRI) so that
the whole workflow runs without a network. They are small and few, so their numbers
show the workflow working, not the paper's results. Every domain draws its train pool and its test pool from different
source images, so that no test image shares pixels with a training image.

Recipes:
- photo_crops (RGB): seeded random square crops of colour photographs.
  Train sources: skimage astronaut, coffee, chelsea, rocket. Test sources: skimage
  stereo_motorcycle (both views) and matplotlib's grace_hopper.jpg.
- texture_crops (single channel): seeded random square crops of texture photographs.
  Train sources: skimage brick and grass. Test source: skimage gravel.
- lfw_faces (single channel): the 100 face images of skimage's lfw_subset (25 x 25
  pixels); the first 50 form the train pool and the last 50 the test pool.
"""

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import skimage.data
from matplotlib import cbook

from strainer.image_files import load_image
from strainer.images import center_square, resize_square, to_float, with_channel_axis

log = logging.getLogger(__name__)

CROP_SIDE_FRACTION = (0.3, 0.6)  # crop side as a fraction of the source's shorter side


@dataclass(frozen=True)
class Recipe:
    kind: str  # "crops" or "lfw_faces"
    train_sources: tuple[str, ...] = ()
    test_sources: tuple[str, ...] = ()


RECIPES = {
    "photo_crops": Recipe(
        kind="crops",
        train_sources=("astronaut", "coffee", "chelsea", "rocket"),
        test_sources=("stereo_motorcycle_left", "stereo_motorcycle_right", "grace_hopper"),
    ),
    "texture_crops": Recipe(
        kind="crops",
        train_sources=("brick", "grass"),
        test_sources=("gravel",),
    ),
    "lfw_faces": Recipe(kind="lfw_faces"),
}


def load_source(name: str) -> np.ndarray:
    """Load a bundled source image as float32 (H, W, C) in [0, 1]."""
    if name == "grace_hopper":
        image = load_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    elif name.startswith("stereo_motorcycle_"):
        left, right, _ = skimage.data.stereo_motorcycle()
        image = left if name.endswith("left") else right
    else:
        image = getattr(skimage.data, name)()
    return with_channel_axis(to_float(image))


def build_demo_domain(recipe_name: str, size_px: int, crops_per_source: int, seed: int):
    """Build a demo domain; return images (N, size_px, size_px, C) and a manifest.

    The manifest has one row per image: image_id, pool ("train" or "test"), source and
    the crop box (top, left, side in source pixels).
    """
    if recipe_name not in RECIPES:
        raise ValueError(f"unknown demo recipe {recipe_name!r}; known: {sorted(RECIPES)}")
    recipe = RECIPES[recipe_name]
    if recipe.kind == "lfw_faces":
        return _build_lfw_faces(size_px)

    rng = np.random.default_rng(seed)
    images, rows = [], []
    for pool, sources in (("train", recipe.train_sources), ("test", recipe.test_sources)):
        for source in sources:
            image = load_source(source)
            for index in range(crops_per_source):
                top, left, side = _random_square(image.shape[:2], rng)
                crop = image[top : top + side, left : left + side]
                images.append(resize_square(crop, size_px))
                rows.append(dict(image_id=f"{source}-{index:02d}", pool=pool, source=source,
                                 crop_top=top, crop_left=left, crop_side=side))
    log.info("built demo domain %s: %d images of %d px", recipe_name, len(images), size_px)
    return np.stack(images), pd.DataFrame(rows)


def _random_square(shape: tuple[int, int], rng: np.random.Generator) -> tuple[int, int, int]:
    height, width = shape
    low, high = CROP_SIDE_FRACTION
    side = int(rng.uniform(low, high) * min(height, width))
    top = int(rng.integers(0, height - side + 1))
    left = int(rng.integers(0, width - side + 1))
    return top, left, side


def _build_lfw_faces(size_px: int):
    faces = skimage.data.lfw_subset()[:100]  # the first 100 entries are faces
    images, rows = [], []
    for index, face in enumerate(faces):
        square = center_square(with_channel_axis(to_float(face)))
        images.append(resize_square(square, size_px))
        side = square.shape[0]
        rows.append(dict(image_id=f"lfw-{index:03d}", pool="train" if index < 50 else "test",
                         source=f"lfw_subset[{index}]", crop_top=0, crop_left=0, crop_side=side))
    log.info("built demo domain lfw_faces: %d images of %d px", len(images), size_px)
    return np.stack(images), pd.DataFrame(rows)
