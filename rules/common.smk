# Helpers shared by the workflow modules: config validation, the experiment plan, wildcard
# constraints and the input functions of the jobs.

import re
from pathlib import Path

from strainer import plan
from strainer.config import load_paper_results, validate_config
from strainer.methods import METHODS

# Stop before any job runs if a key or value is invalid; the message names the key.
validate_config(config, Path(workflow.basedir) / "config" / "schema.yaml")


def _alternatives(names):
    # Longest first, so that no name is tried before a longer name it is a prefix of.
    return "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))


DOMAINS = list(config["domains"])
DEMO_DOMAINS = [name for name, domain in config["domains"].items() if domain["source"] == "demo"]
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
