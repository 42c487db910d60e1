"""Device selection from the config and the job's `gpu` resource, and atomic writes."""

import logging
import os
from types import SimpleNamespace

import pytest
import torch

from strainer.runtime import (
    DeviceUnavailableError,
    atomic_path,
    job_gpus,
    save_torch,
    select_device,
)

no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour on a machine without a GPU")


@no_gpu
def test_gpu_request_without_gpu_fails():
    with pytest.raises(DeviceUnavailableError, match=r"requested 1 GPU\(s\) \(resource gpu\) but torch sees no GPU"):
        select_device("auto", gpus_requested=1)


@no_gpu
def test_cuda_without_gpu_fails():
    with pytest.raises(DeviceUnavailableError, match="device 'cuda' was requested but torch sees no GPU"):
        select_device("cuda")


def test_gpu_request_with_device_cpu_rejected():
    with pytest.raises(DeviceUnavailableError, match="sets device: cpu"):
        select_device("cpu", gpus_requested=2)


@no_gpu
def test_cpu_run_logs_cpu(caplog):
    with caplog.at_level(logging.INFO, logger="strainer.runtime"):
        device = select_device("auto")
    assert device == torch.device("cpu")
    assert "running on the CPU" in caplog.text


def test_invalid_device_name_rejected():
    with pytest.raises(ValueError, match="device must be 'auto', 'cpu' or 'cuda', got 'gpu'"):
        select_device("gpu")


def test_negative_gpu_request_rejected():
    with pytest.raises(ValueError, match="must be 0 or more"):
        select_device("auto", gpus_requested=-1)


def test_job_gpus_reads_resource():
    assert job_gpus(SimpleNamespace(gpu=2, _cores=1)) == 2
    assert job_gpus(SimpleNamespace(_cores=1)) == 0
    assert job_gpus(SimpleNamespace(gpu=None)) == 0


def test_job_gpus_rejects_non_number():
    with pytest.raises(ValueError, match="whole number of GPUs, got 'a100'"):
        job_gpus(SimpleNamespace(gpu="a100"))


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("killed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_renames_on_success(tmp_path):
    target = tmp_path / "sub" / "out.csv"
    with atomic_path(target) as temporary:
        assert temporary.parent == target.parent
        assert temporary.name.endswith(".tmp")
        temporary.write_text("done")
    assert target.read_text() == "done"
    assert [path.name for path in target.parent.iterdir()] == ["out.csv"]


def test_atomic_path_output_follows_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "table.csv") as temporary:
            temporary.write_text("shared")
    finally:
        os.umask(previous)
    assert (tmp_path / "table.csv").stat().st_mode & 0o777 == 0o644


def test_save_torch_bytes_independent_of_name(tmp_path):
    state = {"weight": torch.arange(6.0).reshape(2, 3), "step": 7}
    save_torch(state, tmp_path / "a.pt")
    save_torch(state, tmp_path / "b.pt")
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
    assert torch.equal(torch.load(tmp_path / "a.pt")["weight"], state["weight"])
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.pt", "b.pt"]
