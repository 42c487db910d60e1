"""End-to-end runs of the real Snakefile on a tiny config in a temporary folder."""

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO_ROOT

pytestmark = pytest.mark.workflow

TINY_CONFIG = {
    "seed": 3,
    "device": "cpu",
    "model": {"hidden_features": 16, "n_layers": 4, "shared_layers": 3, "omega_0_first": 30.0, "omega_0_hidden": 30.0},
    "pretraining": {"steps": 20, "lr": 1.0e-4, "log_every": 10, "checkpoint_every": 10},
    "fitting": {"steps": 10, "lr": 1.0e-4, "log_every": 5, "shard_size": 2},
    "paper_results_file": "config/paper_results.yaml",
    "domains": {
        "photo_crops": {"source": "demo", "recipe": "photo_crops", "channels": "rgb", "image_size_px": 12,
                        "crops_per_source": 3, "n_train": 10, "n_test": 3, "paper_dataset": "celeba_hq"},
        "lfw_faces": {"source": "demo", "recipe": "lfw_faces", "channels": "gray", "image_size_px": 8,
                      "crops_per_source": 1, "n_train": 10, "n_test": 2, "paper_dataset": "oasis_mri"},
    },
    "tables": {
        "table1": {"pairs": "in_domain", "tested_on": ["photo_crops", "lfw_faces"],
                   "methods": ["siren", "siren_finetuned", "strainer_1", "strainer_10"], "channels": "native"},
        "table2": {"pairs": "all", "trained_on": ["photo_crops"], "tested_on": ["lfw_faces"],
                   "methods": ["strainer_10", "strainer_10_gray"], "channels": "native"},
        "table3": {"pairs": "all", "trained_on": ["photo_crops", "lfw_faces"],
                   "tested_on": ["photo_crops", "lfw_faces"], "methods": ["siren", "strainer_10"], "channels": "rgb"},
    },
}

TABLE_FILES = ["table1", "table2", "table3"]


def make_workdir(path: Path, config: dict) -> Path:
    """Copy the workflow into `path` and write `config` as its config.yaml."""
    for name in ("Snakefile", "rules", "workflow_scripts", "config"):
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, path / name)
        else:
            shutil.copy(source, path / name)
    (path / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake(workdir: Path, *arguments: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "snakemake", "--cores", "2", *arguments]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    workdir = make_workdir(tmp_path_factory.mktemp("workflow"), TINY_CONFIG)
    result = snakemake(workdir, "results/table3.csv")
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir


def test_outputs_exist(finished_run):
    results = finished_run / "results"
    for name in TABLE_FILES:
        assert (results / f"{name}.csv").stat().st_size > 0
        assert (results / f"{name}.md").read_text().startswith("# Table")
    assert (results / "figure2.png").read_bytes()[:4] == b"\x89PNG"
    assert (results / "figure2.pdf").read_bytes()[:4] == b"%PDF"
    assert not list(results.rglob("*.tmp"))
    assert not list(results.rglob("*.checkpoint.pt"))


def test_table1_rows(finished_run):
    table = pd.read_csv(finished_run / "results" / "table1.csv")
    assert len(table) == 8  # 4 methods x 2 domains
    assert set(table["method"]) == {"siren", "siren_finetuned", "strainer_1", "strainer_10"}
    counts = table.set_index(["method", "tested_on"])["n_images"]
    assert counts[("strainer_10", "photo_crops")] == 3
    assert counts[("strainer_10", "lfw_faces")] == 2
    assert (table["steps"] == 10).all()
    assert (table["data_range"] == 1.0).all()
    assert table["psnr_db_mean"].notna().all()
    assert table["ssim_mean"].between(-1, 1).all()
    assert set(table.loc[table["method"] == "siren", "trained_on"]) == {"none"}


def test_paper_columns_filled_from_config(finished_run):
    table = pd.read_csv(finished_run / "results" / "table1.csv").set_index(["method", "tested_on"])
    row = table.loc[("strainer_10", "photo_crops")]
    assert row["paper_psnr_db"] == 57.80
    assert row["paper_ssim"] == 0.999
    assert row["delta_psnr_db"] == pytest.approx(row["psnr_db_mean"] - 57.80)
    assert table.loc[("siren", "lfw_faces"), "paper_psnr_db"] == 53.03


def test_table2_gray_variant(finished_run):
    table = pd.read_csv(finished_run / "results" / "table2.csv").set_index("method")
    assert table.loc["strainer_10", "channels"] == "rgb"
    assert table.loc["strainer_10_gray", "channels"] == "gray"
    assert table.loc["strainer_10_gray", "paper_psnr_db"] == 74.61


def test_table3_every_pair(finished_run):
    table = pd.read_csv(finished_run / "results" / "table3.csv")
    strainer = table[table["method"] == "strainer_10"]
    assert len(strainer) == 4
    assert set(zip(strainer["trained_on"], strainer["tested_on"])) == {
        ("photo_crops", "photo_crops"), ("photo_crops", "lfw_faces"),
        ("lfw_faces", "photo_crops"), ("lfw_faces", "lfw_faces"),
    }
    assert (table["channels"] == "rgb").all()


def test_per_image_metrics_trace_to_seeds(finished_run):
    per_image = pd.read_csv(finished_run / "results" / "per_image_metrics.csv", dtype={"image_id": str})
    table1 = pd.read_csv(finished_run / "results" / "table1.csv")
    strainer = per_image[(per_image["method"] == "strainer_10") & (per_image["tested_on"] == "photo_crops")
                         & (per_image["trained_on"] == "photo_crops")]
    assert len(strainer) == 3
    assert strainer["seed"].nunique() == 3
    assert strainer["train_image_ids"].str.count(";").eq(9).all()  # ten training images
    expected = table1.set_index(["method", "tested_on"]).loc[("strainer_10", "photo_crops"), "psnr_db_mean"]
    assert strainer["psnr_db"].mean() == pytest.approx(expected)

    split = pd.read_csv(finished_run / "results" / "splits" / "photo_crops.csv")
    assert set(strainer["image_id"]) == set(split.loc[split["split"] == "test", "image_id"])


def test_curves_cover_every_logged_step(finished_run):
    curves = pd.read_csv(finished_run / "results" / "curves.csv")
    steps = curves.groupby(["method", "trained_on", "tested_on", "channels", "image_id"])["step"].apply(list)
    assert all(value == [0, 5, 10] for value in steps)


def test_second_run_has_nothing_to_do(finished_run):
    result = snakemake(finished_run, "-n", "results/table3.csv")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_invalid_config_stops_before_jobs(tmp_path):
    config = yaml.safe_load(yaml.safe_dump(TINY_CONFIG))
    config["fitting"]["shard_size"] = 0
    workdir = make_workdir(tmp_path, config)
    result = snakemake(workdir, "-n")
    assert result.returncode != 0
    assert "config key 'fitting.shard_size': 0 is less than the minimum of 1" in result.stdout + result.stderr
    assert not (workdir / "results").exists()


def test_lint_reports_only_software_deployment(tmp_path):
    # The one lint left requests a conda env or container per rule. The jobs import the
    # strainer package from the environment that runs snakemake instead (see README).
    workdir = make_workdir(tmp_path, TINY_CONFIG)
    result = snakemake(workdir, "--lint")
    output = result.stdout + result.stderr
    titles = {line.strip() for line in output.splitlines() if line.startswith("    * ")}
    assert titles <= {"* Specify a conda environment or container for each rule.:"}, output


def test_dry_run_job_counts_match_plan(tmp_path):
    workdir = make_workdir(tmp_path, TINY_CONFIG)
    result = snakemake(workdir, "-n", "results/table3.csv")
    assert result.returncode == 0, result.stdout + result.stderr
    counts = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    assert counts["prepare_demo_domain"] == 2
    assert counts["split_domain"] == 2
    # Encoders: photo_crops rgb with 1 and 10 decoders, lfw_faces gray with 1 and 10,
    # photo_crops gray with 10 (the gray variant), lfw_faces rgb with 10 (table 3).
    assert counts["pretrain_encoder"] == 6
    # photo_crops has 3 test images in 2 shards, lfw_faces 2 in 1 shard. Table 1 has
    # 4 methods x (2 + 1) shards, table 2 adds 2 lfw_faces fits, and table 3 adds SIREN
    # rgb on lfw_faces and STRAINER-10 from lfw_faces on both domains (1 + 2 + 1).
    assert counts["fit_shard"] == 18
    assert counts["aggregate_tables"] == 1


def test_prefix_method_names_resolve_to_own_jobs(tmp_path):
    workdir = make_workdir(tmp_path, TINY_CONFIG)
    for method, trained_on in (("siren", "none"), ("siren_finetuned", "photo_crops")):
        target = f"results/fits/{method}/{trained_on}/photo_crops/rgb/shard-1/metrics.csv"
        result = snakemake(workdir, "-n", target)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"method={method}," in result.stdout.replace(" ", "")
