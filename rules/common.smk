# Helpers shared by the workflow modules: config validation, the experiment plan, wildcard
# constraints and the input functions of the jobs.

import re
from pathlib import Path

from strainer import plan
from strainer.config import load_paper_results, validate_config
from strainer.datasets import DEFAULTS as DATASET_DEFAULTS
from strainer.datasets import download_settings, load_registry, local_source, remote_files
from strainer.methods import METHODS

# Stop before any job runs if a key or value is invalid; the message names the key.
validate_config(config, Path(workflow.basedir) / "config" / "schema.yaml")


def _alternatives(names):
    # Longest first, so that no name is tried before a longer name it is a prefix of.
    return "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))


DOMAINS = list(config["domains"])
DEMO_DOMAINS = [name for name, domain in config["domains"].items() if domain["source"] == "demo"]
DATASET_DOMAINS = [name for name, domain in config["domains"].items() if domain["source"] == "dataset"]
REGISTRY = load_registry(config.get("dataset_registry", DATASET_DEFAULTS["dataset_registry"]))
DATA_DIR = config.get("data_dir", DATASET_DEFAULTS["data_dir"])
for _name in DATASET_DOMAINS:
    if config["domains"][_name]["dataset"] not in REGISTRY:
        raise ValueError(
            f"config key 'domains.{_name}.dataset': {config['domains'][_name]['dataset']!r} is not in the "
            f"dataset registry (known: {', '.join(REGISTRY)})"
        )
for _dataset in config.get("local_datasets") or {}:
    if _dataset not in REGISTRY:
        raise ValueError(f"config key 'local_datasets.{_dataset}': not a dataset of the registry ({', '.join(REGISTRY)})")
FITS = plan.all_fits(config)


wildcard_constraints:
    method=_alternatives(METHODS),
    domain=_alternatives(DOMAINS),
    trained_on=_alternatives(DOMAINS + [plan.NO_TRAINING]),
    tested_on=_alternatives(DOMAINS),
    channels="rgb|gray",
    n_decoders=r"[1-9][0-9]*",
    shard=r"[0-9]+",


AGGREGATE_OUTPUTS = {
    "per_image_metrics": "results/per_image_metrics.csv",
    "curves": "results/curves.csv",
    "table1": "results/table1.csv",
    "table1_md": "results/table1.md",
    "table2": "results/table2.csv",
    "table2_md": "results/table2.md",
    "table3": "results/table3.csv",
    "table3_md": "results/table3.md",
    "figure2_png": "results/figure2.png",
    "figure2_pdf": "results/figure2.pdf",
}


def get_domain(wildcards):
    """Return the config of the domain named by the job's wildcards."""
    return config["domains"][wildcards.domain]


def get_split_counts(wildcards):
    """Return the train and test image counts of the job's domain."""
    domain = get_domain(wildcards)
    return {"n_train": domain["n_train"], "n_test": domain["n_test"]}


def get_shard_outputs(fit, name):
    """Return one output file (metrics.csv, curves.csv) of every shard of a fit."""
    shards = range(plan.n_shards(config, fit.tested_on))
    return [f"results/fits/{fit.path}/shard-{shard}/{name}" for shard in shards]


def get_all_shard_outputs(name):
    return [path for fit in FITS for path in get_shard_outputs(fit, name)]


def get_pretrained(wildcards):
    """Return the pretrained model a fit starts from, or nothing for a random init."""
    fit = plan.FitSpec(wildcards.method, wildcards.trained_on, wildcards.tested_on, wildcards.channels)
    pretrain = plan.pretrain_for(fit)
    if pretrain is None:
        return []
    return f"results/pretrained/{pretrain.path}.pt"


def get_paper_results_file():
    path = config.get("paper_results_file")
    return [path] if path else []


def get_remote_file(wildcards):
    """Return the registry entry of the file a download job fetches, as a dict."""
    for remote in remote_files(REGISTRY, wildcards.dataset):
        if remote.name == wildcards.filename:
            return vars(remote)
    raise ValueError(f"dataset {wildcards.dataset!r} has no file {wildcards.filename!r} in the registry")


def get_download_settings():
    return vars(download_settings(config))


def get_dataset_archives(wildcards):
    """Return the archives to extract: the local archive if configured, else the downloads."""
    local = local_source(config, wildcards.dataset)
    if local is not None:
        if local.is_folder:
            raise ValueError(f"dataset {wildcards.dataset!r} is the local folder {local.path}; nothing to extract")
        return [str(local.path)]
    return [f"{DATA_DIR}/{wildcards.dataset}/downloads/{remote.name}" for remote in remote_files(REGISTRY, wildcards.dataset)]


def get_dataset_archive_type(wildcards):
    return REGISTRY[wildcards.dataset]["archive"]


def get_dataset_folder(wildcards):
    """Return the folder of a dataset domain's images: a local folder or the extracted data."""
    dataset = get_domain(wildcards)["dataset"]
    local = local_source(config, dataset)
    if local is not None and local.is_folder:
        return str(local.path)
    return f"{DATA_DIR}/{dataset}/extracted"


def get_dataset_layouts(wildcards):
    return REGISTRY[get_domain(wildcards)["dataset"]]["layouts"]
