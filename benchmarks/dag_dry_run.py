"""Dry-run time of the paper's DAG, and of the same DAG with 2x and 4x the test images.

Copies the workflow into a temporary folder, writes copies of config/paper.yaml with
every test split (n_test) multiplied by 1, 2 and 4, and times `snakemake -n` of the default target (every table
and figure) for each. Planning should grow linearly with the number of jobs; the paper
DAG should plan in at most 10 s.

    python benchmarks/dag_dry_run.py [--config config/paper.yaml] [--scales 1 2 4]
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKFLOW_PATHS = ("Snakefile", "rules", "workflow_scripts", "config")


def scaled_config(config: dict, scale: int) -> dict:
    scaled = yaml.safe_load(yaml.safe_dump(config))
    for domain in scaled["domains"].values():
        domain["n_test"] *= scale
    return scaled


def dry_run(workdir: Path, config_path: Path) -> tuple[float, int]:
    """Return the wall time of `snakemake -n` and the number of jobs it planned."""
    command = [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", str(config_path)]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise RuntimeError(f"snakemake -n failed with {config_path}:\n{output[-3000:]}")
    total = re.search(r"^total\s+(\d+)\s*$", output, re.MULTILINE)
    if total is None:
        raise RuntimeError(f"no job count in the output of snakemake -n:\n{output[-3000:]}")
    return seconds, int(total.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "config" / "paper.yaml")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 2, 4], help="factors for every n_test")
    args = parser.parse_args()
    config = yaml.safe_load(args.config.read_text())
    test_images = {name: domain["n_test"] for name, domain in config["domains"].items()}
    print(f"config: {args.config} (shard_size {config['fitting']['shard_size']}); test images {test_images}")

    with tempfile.TemporaryDirectory(prefix="dag-dry-run-") as folder:
        workdir = Path(folder)
        for name in WORKFLOW_PATHS:
            source = REPO_ROOT / name
            if source.is_dir():
                shutil.copytree(source, workdir / name)
            else:
                shutil.copy(source, workdir / name)

        rows = []
        for scale in args.scales:
            config_path = workdir / "config" / f"scaled-{scale}.yaml"
            config_path.write_text(yaml.safe_dump(scaled_config(config, scale), sort_keys=False))
            seconds, jobs = dry_run(workdir, config_path)
            rows.append((scale, jobs, seconds))
            print(f"{scale}x test images: {jobs:6d} jobs  snakemake -n {seconds:6.2f} s")

    (_, first_jobs, first_seconds), (_, last_jobs, last_seconds) = rows[0], rows[-1]
    if len(rows) > 1 and last_jobs > first_jobs:
        per_job_ms = 1000 * (last_seconds - first_seconds) / (last_jobs - first_jobs)
        fixed = first_seconds - per_job_ms / 1000 * first_jobs
        print(f"linear fit: {fixed:.2f} s fixed + {per_job_ms:.2f} ms per job")
        for scale, jobs, seconds in rows:
            predicted = fixed + per_job_ms / 1000 * jobs
            print(f"  {scale}x: measured / linear fit = {seconds / predicted:.2f}")


if __name__ == "__main__":
    main()
