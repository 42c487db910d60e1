"""Fit one shard of test images as one batched model (rule fit_shard)."""

from strainer.config import fit_settings, model_config
from strainer.experiments import fit_shard
from strainer.runtime import job_gpus, job_logging, select_device

with job_logging(snakemake.log[0], snakemake.threads):
    fit_shard(
        prepared_npz=snakemake.input.images,
        split_csv=snakemake.input.split,
        pretrained=snakemake.input.pretrained or None,
        model_config=model_config({"model": snakemake.params.model}),
        settings=fit_settings(snakemake.params.fitting),
        method_name=snakemake.wildcards.method,
        trained_on=snakemake.wildcards.trained_on,
        tested_on=snakemake.wildcards.tested_on,
        channels=snakemake.wildcards.channels,
        shard=int(snakemake.wildcards.shard),
        shard_size=snakemake.params.fitting["shard_size"],
        base_seed=snakemake.params.seed,
        device=select_device(snakemake.params.device, job_gpus(snakemake.resources)),
        output_metrics=snakemake.output.metrics,
        output_curves=snakemake.output.curves,
        output_reconstructions=snakemake.output.reconstructions,
    )
