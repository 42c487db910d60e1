"""Paper datasets: the registry, where each dataset's files come from, and preparation.

The registry (config/datasets.yaml) lists per dataset its files, URLs, checksums and
folder layouts. A config may point a dataset at a local folder or archive instead
(`local_datasets`), and then nothing is downloaded. Preparing a dataset domain draws
the images a split needs in a seeded order, loads each with the one image loader, and
leaves out (and lists) files that cannot be used.
"""

import logging
import shutil
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import yaml

from strainer.download import DownloadSettings, RemoteFile
from strainer.image_files import BadImageError, ImageTooSmallError, image_suffix, load_image, prepare_image
from strainer.images import convert_channels

log = logging.getLogger(__name__)

REGISTRY_SCHEMA = Path(__file__).resolve().parent.parent / "config" / "datasets.schema.yaml"
DEFAULTS = {
    "dataset_registry": "config/datasets.yaml",
    "data_dir": "data",
    "dataset_lock_file": "config/datasets.lock.yaml",
}
ARCHIVE_SUFFIXES = {"zip": (".zip",), "tgz": (".tgz", ".tar.gz"), "tar": (".tar",)}
PROGRESS_EVERY_SECONDS = 10.0


class DatasetError(ValueError):
    """Raised for a dataset that cannot be located or prepared; names the dataset."""


def load_registry(path: str | Path, schema_path: str | Path = REGISTRY_SCHEMA) -> dict:
    """Load and validate the dataset registry; raise DatasetError naming the bad key."""
    registry = yaml.safe_load(Path(path).read_text())
    schema = yaml.safe_load(Path(schema_path).read_text())
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(registry))
    if errors:
        lines = [f"'{'.'.join(map(str, error.absolute_path))}': {error.message}" for error in errors]
        raise DatasetError(f"invalid dataset registry {path}:\n  " + "\n  ".join(lines))
    return registry


def remote_files(registry: dict, dataset: str) -> list[RemoteFile]:
    entry = registry[dataset]
    help_text = f"To place the data by hand: {entry['manual']}"
    return [
        RemoteFile(dataset=dataset, name=item["name"], urls=tuple(item["urls"]), size_bytes=item.get("size_bytes"),
                   md5=item.get("md5"), sha256=item.get("sha256"), help=help_text)
        for item in entry["files"]
    ]


def download_settings(config: dict) -> DownloadSettings:
    section = config.get("download", {})
    defaults = DownloadSettings()
    return DownloadSettings(
        timeout_seconds=float(section.get("timeout_seconds", defaults.timeout_seconds)),
        retries=int(section.get("retries", defaults.retries)),
        backoff_seconds=float(section.get("backoff_seconds", defaults.backoff_seconds)),
        lock_file=config.get("dataset_lock_file", DEFAULTS["dataset_lock_file"]),
    )


@dataclass(frozen=True)
class LocalSource:
    """Location of a dataset given by `local_datasets`: a folder or an archive file."""

    path: Path
    is_folder: bool


def local_source(config: dict, dataset: str) -> LocalSource | None:
    """Return the local folder or archive of `dataset`, or None when it is downloaded.

    Raises DatasetError when the configured path does not exist, so that an air-gapped
    run stops at once instead of trying the network.
    """
    path = (config.get("local_datasets") or {}).get(dataset)
    if not path:
        return None
    path = Path(path)
    if not path.exists():
        raise DatasetError(
            f"config key 'local_datasets.{dataset}': {path} does not exist; "
            "point it at the dataset's folder or archive, or remove the key to download"
        )
    return LocalSource(path=path, is_folder=path.is_dir())


# ---- extraction -------------------------------------------------------------


def extract(archives: list[Path], archive_type: str, destination: Path) -> None:
    """Unpack archives (or copy loose files) into `destination`, rejecting members that would land outside it."""
    destination.mkdir(parents=True, exist_ok=True)
    for archive in archives:
        log.info("extracting %s (%s) into %s", archive, archive_type, destination)
        if archive_type == "none":
            shutil.copy2(archive, destination / archive.name)
        elif archive_type == "zip":
            with zipfile.ZipFile(archive) as handle:
                for member in handle.namelist():
                    _check_member(archive, member, destination)
                handle.extractall(destination)
        else:
            with tarfile.open(archive, "r:*") as handle:
                handle.extractall(destination, filter="data")  # rejects absolute paths and links out
    log.info("extracted %d file(s) into %s", sum(1 for path in destination.rglob("*") if path.is_file()), destination)


def _check_member(archive: Path, member: str, destination: Path) -> None:
    target = (destination / member).resolve()
    if not target.is_relative_to(destination.resolve()):
        raise DatasetError(f"{archive}: member {member!r} would be written outside {destination}; not extracting")


# ---- listing and preparation --------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    image_id: str
    pool: str  # "train", "test" or "any"
    path: Path


def list_candidates(root: Path, layouts: list[dict], dataset: str) -> list[Candidate]:
    """List the image files of a dataset folder by the first layout that matches.

    Files that are not images (by suffix) are ignored and logged. Ids are the path
    relative to the layout root, without the image suffix, with "/" replaced by "-".
    """
    for layout in layouts:
        candidates, ignored = [], []
        for pool, patterns in layout.items():
            for pattern in patterns:
                for path in sorted(root.glob(pattern)):
                    if not path.is_file():
                        continue
                    suffix = image_suffix(path)
                    if suffix is None:
                        ignored.append(path)
                        continue
                    relative = path.relative_to(root).as_posix()
                    image_id = relative[: -len(suffix)].replace("/", "-")
                    candidates.append(Candidate(image_id=image_id, pool=pool, path=path))
        if candidates:
            for path in ignored[:20]:
                log.info("%s: ignoring %s: not an image file", dataset, path)
            if len(ignored) > 20:
                log.info("%s: ignoring %d more files that are not images", dataset, len(ignored) - 20)
            log.info("%s: %d image files under %s match layout %s", dataset, len(candidates), root, layout)
            return candidates
    raise DatasetError(
        f"dataset {dataset!r}: no image files under {root} match any registry layout "
        f"({layouts}); check that local_datasets.{dataset} points at the folder that contains them"
    )


def prepare_dataset_domain(candidates: list[Candidate], domain: dict, domain_name: str, seed: int):
    """Load the images of a split from candidates in a seeded order.

    Fills n_train images from the "train" and "any" pools and n_test images from the
    "test" and "any" pools ("any" fills train first). A file that cannot be used is
    logged, listed in the returned skipped table (path, reason) and replaced by the
    next candidate. Returns images (N, S, S, C), the manifest (image_id, pool, source)
    and the skipped table.
    """
    include = domain.get("include_ids")
    if include:
        by_id = {candidate.image_id: candidate for candidate in candidates}
        missing = [image_id for image_id in include if image_id not in by_id]
        if missing:
            raise DatasetError(
                f"config key 'domains.{domain_name}.include_ids': {missing} not found among the "
                f"{len(candidates)} images of dataset {domain['dataset']!r}"
            )
        candidates = [by_id[image_id] for image_id in include]

    needed = {"train": domain["n_train"], "test": domain["n_test"]}
    order = np.random.default_rng(seed).permutation(len(candidates))
    images, rows, skipped = [], [], []
    last_report = time.monotonic()
    for position in order:
        if not any(needed.values()):
            break
        candidate = candidates[position]
        split = _split_to_fill(candidate.pool, needed)
        if split is None:
            continue
        try:
            image = prepare_image(load_image(candidate.path), domain["image_size_px"],
                                  domain.get("small_images", "error"), str(candidate.path))
        except BadImageError as error:
            if isinstance(error, ImageTooSmallError) and domain.get("small_images", "error") == "error":
                raise
            log.warning("%s: leaving out %s: %s", domain_name, candidate.image_id, error)
            skipped.append({"image_id": candidate.image_id, "path": str(candidate.path), "reason": str(error)})
            continue
        images.append(convert_channels(image, domain["channels"]))
        rows.append({"image_id": candidate.image_id, "pool": split, "source": str(candidate.path)})
        needed[split] -= 1
        if time.monotonic() - last_report >= PROGRESS_EVERY_SECONDS:
            last_report = time.monotonic()
            log.info("%s: %d images loaded, %d left out", domain_name, len(images), len(skipped))

    if any(needed.values()):
        raise DatasetError(
            f"domain {domain_name!r}: dataset {domain['dataset']!r} has too few usable images: "
            f"still missing {needed['train']} train and {needed['test']} test images after "
            f"{len(skipped)} files were left out; lower n_train or n_test in the config"
        )
    size = domain["image_size_px"]
    stacked = np.stack(images) if images else np.zeros((0, size, size, 1 if domain["channels"] == "gray" else 3),
                                                         dtype=np.float32)
    skipped_table = pd.DataFrame(skipped, columns=["image_id", "path", "reason"])
    return stacked, pd.DataFrame(rows, columns=["image_id", "pool", "source"]), skipped_table


def _split_to_fill(pool: str, needed: dict) -> str | None:
    for split in ("train", "test"):
        if needed[split] and pool in (split, "any"):
            return split
    return None
