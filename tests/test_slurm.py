"""The workflow through profiles/slurm on a real SLURM cluster, compared with a local run.

Needs a cluster that responds to `scontrol ping` and lets this user submit jobs. .ci/run
starts a one-node cluster with .ci/slurm.sh. Elsewhere the tests are skipped.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import REPO_ROOT
from test_workflow import TINY_CONFIG, make_workdir, snakemake

pytestmark = pytest.mark.workflow


def slurm_responds() -> bool:
    if shutil.which("scontrol") is None:
        return False
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=60)
    return "is UP" in ping.stdout


if not slurm_responds():
    pytest.skip("no SLURM cluster responds to `scontrol ping` (CI starts one with .ci/slurm.sh start)",
                allow_module_level=True)

# One gray domain, SIREN and STRAINER (1 decoder): six SLURM jobs in four waves.
SLURM_CONFIG = {
    **TINY_CONFIG,
    "domains": {"lfw_faces": TINY_CONFIG["domains"]["lfw_faces"]},
    "tables": {
        "table1": {"pairs": "in_domain", "tested_on": ["lfw_faces"], "methods": ["siren", "strainer_1"],
                   "channels": "native"},
        "table2": {"pairs": "all", "trained_on": ["lfw_faces"], "tested_on": ["lfw_faces"],
                   "methods": ["strainer_1"], "channels": "native"},
        "table3": {"pairs": "all", "trained_on": ["lfw_faces"], "tested_on": ["lfw_faces"],
                   "methods": ["siren"], "channels": "native"},
    },
}
# Without slurmdbd, sacct fails and the plugin's default status check would never end,
# so the jobs are followed with squeue. No account exists on the CI cluster.
CI_OPTIONS = [
    "--profile", "profiles/slurm",
    "--slurm-no-account",
    "--slurm-status-command", "squeue",
    "--slurm-init-seconds-before-status-checks", "2",
    "--slurm-keep-successful-logs",
]
COMPARED = ["results/per_image_metrics.csv", "results/curves.csv",
            "results/table1.csv", "results/table2.csv", "results/table3.csv"]


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory):
    workdir = make_workdir(tmp_path_factory.mktemp("slurm"), SLURM_CONFIG)
    shutil.copytree(REPO_ROOT / "profiles", workdir / "profiles", symlinks=True)
    # The CI node has no GPU: the fit and pretraining jobs request none.
    environment = {**os.environ, "STRAINER_GPUS_PER_JOB": "0"}
    command = [sys.executable, "-m", "snakemake", *CI_OPTIONS]
    result = subprocess.run(command, cwd=workdir, env=environment, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return workdir, result.stdout + result.stderr


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    workdir = make_workdir(tmp_path_factory.mktemp("local"), SLURM_CONFIG)
    result = snakemake(workdir)
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir


def submitted_job_ids(output: str) -> list[str]:
    return re.findall(r"submitted with SLURM jobid (\d+)", output)


def test_every_job_went_through_sbatch(slurm_run):
    workdir, output = slurm_run
    job_ids = submitted_job_ids(output)
    assert len(job_ids) == 6, output[-3000:]  # prepare, split, pretrain, two fits, aggregate
    logs = list((workdir / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert sorted(path.stem for path in logs) == sorted(job_ids)


def test_slurm_knows_the_jobs(slurm_run):
    _, output = slurm_run
    for job_id in submitted_job_ids(output):
        # MinJobAge=300 on the CI cluster keeps finished jobs visible to scontrol.
        shown = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True, timeout=60)
        assert f"JobId={job_id}" in shown.stdout, shown.stderr
        assert "JobState=COMPLETED" in shown.stdout, shown.stdout


def test_fit_jobs_ran_on_cpu_in_slurm(slurm_run):
    workdir, _ = slurm_run
    fit_logs = list((workdir / "logs" / "fit").rglob("*.log"))
    assert len(fit_logs) == 2
    for path in fit_logs:
        assert "running on the CPU" in path.read_text()


def test_slurm_outputs_equal_local(slurm_run, local_run):
    workdir, _ = slurm_run
    for name in COMPARED:
        assert (workdir / name).read_bytes() == (local_run / name).read_bytes(), f"{name} differs"
