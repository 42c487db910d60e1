"""Dataset acquisition through the real rules: archives in each dataset's real layout,
served by a local HTTP server on 127.0.0.1, downloaded, extracted, prepared and split."""

import copy
import gzip
import hashlib
import io
import re
import tarfile
import zipfile

import nibabel
import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from conftest import REPO_ROOT
from local_server import start_server
from strainer.splits import load_prepared
from test_workflow import TINY_CONFIG, make_workdir, snakemake

pytestmark = pytest.mark.workflow

REGISTRY = yaml.safe_load((REPO_ROOT / "config" / "datasets.yaml").read_text())
KODAK_SUBSET = ["kodim01.png", "kodim17.png", "kodim20.png", "kodim23.png"]


def jpeg(seed: int, size=(40, 32)) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG")
    return buffer.getvalue()


def png(seed: int, size=(48, 32)) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def nifti(seed: int) -> bytes:
    values = np.random.default_rng(seed).random((16, 20, 1)).astype(np.float32)
    return gzip.compress(nibabel.Nifti1Image(values, np.eye(4)).to_bytes())


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_bytes(members: dict[str, bytes], mode: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def dataset_archives() -> dict[str, dict[str, bytes]]:
    """Small archives in the real layouts: dataset -> file name -> bytes."""
    celeba = {f"celeba_hq/{split}/{sex}/{index:06d}.jpg": jpeg(index)
              for index, (split, sex) in enumerate([("train", "female"), ("train", "male"), ("val", "female"),
                                                     ("val", "male"), ("train", "female"), ("val", "male")])}
    celeba["celeba_hq/train/female/999999.jpg"] = b"<html>not a jpeg</html>"  # corrupt: left out and listed
    celeba["celeba_hq/train/female/Thumbs.db"] = b"\x00" * 10  # not an image: ignored
    afhq = {f"afhq/{split}/{animal}/{animal}_{index}.jpg": jpeg(100 + index)
            for index, (split, animal) in enumerate([("train", "cat"), ("train", "dog"), ("val", "cat"),
                                                      ("train", "cat"), ("val", "wild"), ("val", "cat")])}
    oasis = {}
    for subject in range(1, 5):
        oasis[f"OASIS_OAS1_{subject:04d}_MR1/slice_norm.nii.gz"] = nifti(subject)
        oasis[f"OASIS_OAS1_{subject:04d}_MR1/slice_seg4.nii.gz"] = nifti(50 + subject)  # not a norm slice
    flowers = {f"jpg/image_{index:05d}.jpg": jpeg(200 + index) for index in range(1, 5)}
    return {
        "celeba_hq": {"celeba_hq.zip": zip_bytes(celeba)},
        "afhq_cats": {"afhq.zip": zip_bytes(afhq)},
        "oasis_mri": {"neurite-oasis.2d.v1.0.tar": tar_bytes(oasis, "w")},
        "flowers102": {"102flowers.tgz": tar_bytes(flowers, "w:gz")},
        "kodak": {name: png(300 + index) for index, name in enumerate(KODAK_SUBSET)},
    }


def local_registry(server, archives) -> dict:
    """The real registry with its URLs pointed at the local server (and Kodak cut to a few files)."""
    registry = copy.deepcopy(REGISTRY)
    for dataset, files in archives.items():
        entries = [entry for entry in registry[dataset]["files"] if entry["name"] in files]
        for entry in entries:
            entry["urls"] = [server.serve(f"{dataset}/{entry['name']}", files[entry["name"]])]
        registry[dataset]["files"] = entries
    # Flowers keeps a published checksum: the md5 of the archive served here.
    registry["flowers102"]["files"][0]["md5"] = hashlib.md5(archives["flowers102"]["102flowers.tgz"]).hexdigest()
    return registry


def dataset_domain(dataset, channels, n_train, n_test, **extra):
    return {"source": "dataset", "dataset": dataset, "channels": channels, "image_size_px": 8,
            "n_train": n_train, "n_test": n_test, "paper_dataset": None, **extra}


def dataset_config(registry_path: str, **overrides) -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    config.update(dataset_registry=registry_path, data_dir="data", dataset_lock_file="config/datasets.lock.yaml",
                  download={"timeout_seconds": 5, "retries": 0, "backoff_seconds": 0})
    config["domains"].update(
        celeba_hq=dataset_domain("celeba_hq", "rgb", 2, 3),
        afhq_cats=dataset_domain("afhq_cats", "rgb", 2, 1),
        oasis_mri=dataset_domain("oasis_mri", "gray", 2, 2),
        flowers102=dataset_domain("flowers102", "rgb", 2, 0),
        kodak=dataset_domain("kodak", "rgb", 0, 3, include_ids=["kodim23", "kodim20", "kodim17"]),
    )
    config.update(overrides)
    return config


@pytest.fixture(scope="module")
def server():
    state, http_server = start_server()
    yield state
    http_server.shutdown()
    http_server.server_close()


def write_workdir(path, server, config_overrides=None, registry=None):
    path.mkdir(parents=True, exist_ok=True)
    registry = registry or local_registry(server, dataset_archives())
    config = dataset_config("config/test_datasets.yaml", **(config_overrides or {}))
    workdir = make_workdir(path, config)
    (workdir / "config" / "test_datasets.yaml").write_text(yaml.safe_dump(registry, sort_keys=False))
    return workdir


SPLITS = ["celeba_hq", "afhq_cats", "oasis_mri", "flowers102", "kodak"]


@pytest.fixture(scope="module")
def prepared_run(tmp_path_factory, server):
    workdir = write_workdir(tmp_path_factory.mktemp("datasets"), server)
    result = snakemake(workdir, "--cores", "4", *[f"results/splits/{name}.csv" for name in SPLITS])
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir, result


def split_of(workdir, domain):
    return pd.read_csv(workdir / "results" / "splits" / f"{domain}.csv", dtype={"image_id": str})


def test_splits_have_configured_counts(prepared_run):
    workdir, _ = prepared_run
    expected = {"celeba_hq": (2, 3), "afhq_cats": (2, 1), "oasis_mri": (2, 2), "flowers102": (2, 0), "kodak": (0, 3)}
    for domain, (n_train, n_test) in expected.items():
        counts = split_of(workdir, domain)["split"].value_counts()
        assert counts.get("train", 0) == n_train, domain
        assert counts.get("test", 0) == n_test, domain


def test_kodak_split_is_the_three_paper_images(prepared_run):
    workdir, _ = prepared_run
    assert set(split_of(workdir, "kodak")["image_id"]) == {"kodim23", "kodim20", "kodim17"}


def test_afhq_uses_cats_only(prepared_run):
    workdir, _ = prepared_run
    ids = split_of(workdir, "afhq_cats")["image_id"]
    assert ids.str.contains("-cat-").all()


def test_oasis_slices_are_single_channel(prepared_run):
    workdir, _ = prepared_run
    images, ids = load_prepared(workdir / "results" / "prepared" / "oasis_mri.npz")
    assert images.shape == (4, 8, 8, 1)
    assert images.dtype == np.float32
    assert all(image_id.endswith("slice_norm") for image_id in ids)


def test_corrupt_file_listed_and_skipped(prepared_run):
    workdir, _ = prepared_run
    images, ids = load_prepared(workdir / "results" / "prepared" / "celeba_hq.npz")
    assert images.shape == (5, 8, 8, 3)
    skipped = pd.read_csv(workdir / "results" / "prepared" / "celeba_hq.skipped.csv")
    assert set(skipped["image_id"]) <= {"celeba_hq-train-female-999999"}  # only the corrupt file, if drawn
    assert "celeba_hq-train-female-999999" not in ids
    log = (workdir / "logs" / "prepare" / "celeba_hq.log").read_text()
    assert "Thumbs.db: not an image file" in log


def test_downloads_verified_and_locked(prepared_run):
    workdir, _ = prepared_run
    lock = yaml.safe_load((workdir / "config" / "datasets.lock.yaml").read_text())
    zip_path = workdir / "data" / "celeba_hq" / "downloads" / "celeba_hq.zip"
    assert lock["celeba_hq"]["celeba_hq.zip"] == hashlib.sha256(zip_path.read_bytes()).hexdigest()
    assert "flowers102" not in lock  # verified by its published md5 instead
    assert not list((workdir / "data").rglob("*.part"))


def test_second_run_reuses_manifests(prepared_run):
    workdir, _ = prepared_run
    result = snakemake(workdir, "-n", *[f"results/splits/{name}.csv" for name in SPLITS])
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_changed_count_rewrites_split(prepared_run, tmp_path):
    workdir, _ = prepared_run
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    config["domains"]["afhq_cats"]["n_test"] = 2
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(config))
    result = snakemake(workdir, "results/splits/afhq_cats.csv", "--configfile", str(changed))
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Params have changed since last execution" in result.stdout + result.stderr
    assert split_of(workdir, "afhq_cats")["split"].value_counts()["test"] == 2
    log = (workdir / "logs" / "split" / "afhq_cats.log").read_text()
    assert "n_test 2" in log
    assert "replaces any earlier manifest" in log


# ---- failure injection through the download rule ------------------------------


def kodak_workdir(path, server, served_name, data, **file_checks):
    registry = copy.deepcopy(REGISTRY)
    registry["kodak"]["files"] = [{"name": "kodim17.png", "urls": [server.url(served_name)], **file_checks}]
    if data is not None:
        server.serve(served_name, data)
    return write_workdir(path, server, registry=registry)


TARGET = "data/kodak/downloads/kodim17.png"
TARGET_LOG = "logs/download/kodak/kodim17.png.log"


def test_rule_reports_missing_url(tmp_path, server):
    workdir = kodak_workdir(tmp_path, server, "missing/kodim17.png", None)
    result = snakemake(workdir, TARGET)
    assert result.returncode != 0
    log = (workdir / TARGET_LOG).read_text()
    assert "dataset 'kodak'" in log
    assert "HTTP 404" in log
    assert server.url("missing/kodim17.png") in log
    assert "local_datasets.kodak" in log  # the message names the key for placing the file by hand
    assert not (workdir / TARGET).exists()


def test_rule_resumes_cut_download(tmp_path, server):
    data = png(7, size=(400, 300))
    workdir = kodak_workdir(tmp_path, server, "cut/kodim17.png", None)
    server.serve("cut/kodim17.png", data, cut_after=len(data) // 2, cuts_left=1)

    first = snakemake(workdir, TARGET)
    assert first.returncode != 0
    part = workdir / (TARGET + ".part")
    assert part.stat().st_size == len(data) // 2
    assert not (workdir / TARGET).exists()

    second = snakemake(workdir, TARGET)
    assert second.returncode == 0, second.stderr[-4000:]
    assert (workdir / TARGET).read_bytes() == data
    assert server.bytes_sent("cut/kodim17.png") == len(data)  # the first half was not fetched again
    assert server.requests[-1].range == f"bytes={len(data) // 2}-"
    assert "recorded sha256" in (workdir / TARGET_LOG).read_text()


def test_rule_rejects_wrong_checksum(tmp_path, server):
    workdir = kodak_workdir(tmp_path, server, "bad/kodim17.png", png(8), md5="f" * 32)
    result = snakemake(workdir, TARGET)
    assert result.returncode != 0
    log = (workdir / TARGET_LOG).read_text()
    assert "failed verification" in log
    assert "The file was deleted" in log
    assert server.url("bad/kodim17.png") in log
    assert not list((workdir / "data").rglob("kodim17.png*"))


def test_rule_times_out_on_slow_server(tmp_path, server):
    workdir = kodak_workdir(tmp_path, server, "slow/kodim17.png", None)
    server.serve("slow/kodim17.png", png(9), delay_seconds=3.0)
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    config["download"]["timeout_seconds"] = 0.5
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(workdir, TARGET)
    assert result.returncode != 0
    assert "timed out" in (workdir / TARGET_LOG).read_text()


# ---- air-gapped use and the paper config -----------------------------------------


def test_local_folder_needs_no_download(tmp_path, server):
    folder = tmp_path / "kodak_copy"
    folder.mkdir()
    for index, name in enumerate(KODAK_SUBSET):
        (folder / name).write_bytes(png(400 + index))
    (folder / "README.txt").write_text("not an image")
    workdir = write_workdir(tmp_path / "work", server,
                            config_overrides={"local_datasets": {"kodak": str(folder)}})
    requests_before = len(server.requests)
    result = snakemake(workdir, "results/splits/kodak.csv")
    assert result.returncode == 0, result.stderr[-4000:]
    output = result.stdout + result.stderr
    assert "download_dataset_file" not in output
    assert "extract_dataset" not in output
    assert len(server.requests) == requests_before
    assert set(split_of(workdir, "kodak")["image_id"]) == {"kodim23", "kodim20", "kodim17"}


def test_local_archive_is_extracted_not_downloaded(tmp_path, server):
    archive = tmp_path / "102flowers.tgz"
    archive.write_bytes(dataset_archives()["flowers102"]["102flowers.tgz"])
    workdir = write_workdir(tmp_path / "work", server,
                            config_overrides={"local_datasets": {"flowers102": str(archive)}})
    result = snakemake(workdir, "-n", "results/splits/flowers102.csv")
    assert result.returncode == 0, result.stderr[-4000:]
    counts = job_counts(result.stdout)
    assert "download_dataset_file" not in counts
    assert counts["extract_dataset"] == 1


def test_missing_local_path_is_reported(tmp_path, server):
    workdir = write_workdir(tmp_path, server, config_overrides={"local_datasets": {"kodak": "/nonexistent/kodak"}})
    result = snakemake(workdir, "-n", "results/splits/kodak.csv")
    assert result.returncode != 0
    assert "config key 'local_datasets.kodak': /nonexistent/kodak does not exist" in result.stdout + result.stderr


def job_counts(output: str) -> dict[str, int]:
    table = output.split("Job stats:")[1].split("total")[0]
    return {match[1]: int(match[2]) for match in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def test_paper_config_dry_run_job_counts(tmp_path):
    workdir = make_workdir(tmp_path, yaml.safe_load((REPO_ROOT / "config" / "config.yaml").read_text()))
    result = snakemake(workdir, "-n", "results/table3.csv", "--configfile", "config/paper.yaml")
    assert result.returncode == 0, result.stderr[-4000:]
    counts = job_counts(result.stdout)
    # 5 datasets behind tables 1-3; shards of 32: CelebA-HQ 550 -> 18, AFHQ 368 -> 12, OASIS 144 -> 5.
    # Table 1: 4 methods x (18 + 12 + 5) = 140. Table 2: 12 + 5 (RGB) + 5 (gray) = 22. Table 3
    # adds SIREN on OASIS as RGB (5) and Flowers and Cars encoders on all three (2 x 35).
    assert counts == {
        "download_dataset_file": 5, "extract_dataset": 5, "prepare_dataset_domain": 5, "split_domain": 5,
        "pretrain_encoder": 9, "fit_shard": 237, "aggregate_tables": 1,
    }
    assert "photo_crops" not in result.stdout  # no demo domain leaks in from config/config.yaml
    assert "cars_train.tgz" in result.stdout


def test_demo_default_dry_run_unchanged(tmp_path):
    workdir = make_workdir(tmp_path, yaml.safe_load((REPO_ROOT / "config" / "config.yaml").read_text()))
    result = snakemake(workdir, "-n")
    assert result.returncode == 0, result.stderr[-4000:]
    counts = job_counts(result.stdout)
    assert counts["prepare_demo_domain"] == 3
    assert "download_dataset_file" not in counts
