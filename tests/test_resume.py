"""Kill a running workflow with SIGKILL, rerun it, and compare with an uninterrupted run.

Also checks that a fit job which requested a GPU stops at once on a machine without one.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from test_workflow import TINY_CONFIG, make_workdir, snakemake

pytestmark = pytest.mark.workflow

# One gray domain and STRAINER-10 only, with a pretraining long enough (about 8 s at
# 3-4 ms a step on one core) to be killed between two of its checkpoints.
RESUME_CONFIG = {
    **TINY_CONFIG,
    "model": {"hidden_features": 64, "n_layers": 4, "shared_layers": 3, "omega_0_first": 30.0, "omega_0_hidden": 30.0},
    "pretraining": {"steps": 2400, "lr": 1.0e-4, "log_every": 100, "checkpoint_every": 400},
    "fitting": {"steps": 20, "lr": 1.0e-4, "log_every": 5, "shard_size": 2},
    "domains": {"lfw_faces": {**TINY_CONFIG["domains"]["lfw_faces"], "image_size_px": 25, "n_test": 3}},
    "tables": {
        "table1": {"pairs": "in_domain", "tested_on": ["lfw_faces"], "methods": ["strainer_10"], "channels": "native"},
        "table2": {"pairs": "all", "trained_on": ["lfw_faces"], "tested_on": ["lfw_faces"],
                   "methods": ["strainer_10"], "channels": "native"},
        "table3": {"pairs": "all", "trained_on": ["lfw_faces"], "tested_on": ["lfw_faces"],
                   "methods": ["strainer_10"], "channels": "native"},
    },
}
PRETRAINED = Path("results/pretrained/lfw_faces/gray/decoders-10.pt")
CHECKPOINT = PRETRAINED.with_suffix(".checkpoint.pt")
# Figures are rendered by matplotlib, whose PDF and PNG metadata are not part of the results.
COMPARED_SUFFIXES = {".csv", ".md", ".pt", ".npz"}


def result_files(workdir: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted((workdir / "results").rglob("*")):
        if path.is_file() and path.suffix in COMPARED_SUFFIXES:
            files[str(path.relative_to(workdir))] = path.read_bytes()
    return files


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, f"snakemake ended (exit {process.returncode}) before {path} appeared"
        assert time.monotonic() < deadline, f"{path} did not appear within {timeout} s"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    workdir = make_workdir(tmp_path_factory.mktemp("uninterrupted"), RESUME_CONFIG)
    result = snakemake(workdir)
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir


@pytest.fixture(scope="module")
def killed_and_rerun(tmp_path_factory):
    workdir = make_workdir(tmp_path_factory.mktemp("killed"), RESUME_CONFIG)
    command = [sys.executable, "-m", "snakemake", "--cores", "2"]
    # A session of its own makes snakemake and its job processes one process group, so
    # SIGKILL reaches all of them at once, as when a node goes down.
    process = subprocess.Popen(command, cwd=workdir, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(workdir / CHECKPOINT, process)
        time.sleep(0.5)  # land between two checkpoints
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    state_after_kill = {
        "checkpoint_step": torch.load(workdir / CHECKPOINT, weights_only=False)["step"],
        "pretrained_exists": (workdir / PRETRAINED).exists(),
        "leftovers": sorted(str(path.relative_to(workdir)) for path in (workdir / "results").rglob("*")
                            if path.name.endswith(".csv") and "pretrained" in path.parts),
    }
    # SIGKILL leaves Snakemake's lock behind: a user removes it, then reruns.
    unlock = snakemake(workdir, "--unlock")
    assert unlock.returncode == 0, unlock.stderr[-4000:]
    rerun = snakemake(workdir, "--rerun-incomplete")
    return workdir, state_after_kill, rerun


def test_kill_leaves_checkpoint_only(killed_and_rerun):
    _, state, _ = killed_and_rerun
    assert 400 <= state["checkpoint_step"] < 2400
    assert not state["pretrained_exists"]
    assert state["leftovers"] == []


def test_rerun_resumes_from_checkpoint(killed_and_rerun):
    workdir, state, rerun = killed_and_rerun
    assert rerun.returncode == 0, rerun.stderr[-4000:]
    log = (workdir / "logs" / "pretrain" / "lfw_faces" / "gray" / "decoders-10.log").read_text()
    assert f"resuming from checkpoint {CHECKPOINT} at step {state['checkpoint_step']}" in log
    assert not (workdir / CHECKPOINT).exists()


def test_rerun_outputs_byte_identical(killed_and_rerun, uninterrupted):
    workdir, _, rerun = killed_and_rerun
    assert rerun.returncode == 0, rerun.stderr[-4000:]
    expected = result_files(uninterrupted)
    actual = result_files(workdir)
    assert str(PRETRAINED) in expected
    assert "results/table1.csv" in expected
    assert sorted(actual) == sorted(expected)
    for name in expected:
        assert actual[name] == expected[name], f"{name} differs from the uninterrupted run"


def test_no_temporary_files_left(killed_and_rerun):
    workdir, _, _ = killed_and_rerun
    assert not list((workdir / "results").rglob("*.tmp"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a GPU job on a machine without a GPU")
def test_gpu_job_without_gpu_stops(tmp_path):
    config = yaml.safe_load(yaml.safe_dump(TINY_CONFIG))
    config["device"] = "auto"
    workdir = make_workdir(tmp_path, config)
    target = "results/fits/siren/none/lfw_faces/gray/shard-0/metrics.csv"
    result = snakemake(workdir, target, "--resources", "gpu=1", "--set-resources", "fit_shard:gpu=1")
    assert result.returncode != 0
    log = (workdir / "logs" / "fit" / "siren" / "none" / "lfw_faces" / "gray" / "shard-0.log").read_text()
    assert "requested 1 GPU(s) (resource gpu) but torch sees no GPU" in log
    assert "fitting" not in log  # stopped before any fitting started
    assert not (workdir / target).exists()
