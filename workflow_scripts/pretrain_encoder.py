"""Pretrain one STRAINER encoder (rule pretrain_encoder)."""

from strainer.config import fit_settings, model_config
from strainer.experiments import pretrain_encoder
from strainer.runtime import job_gpus, job_logging, select_device

with job_logging(snakemake.log[0], snakemake.threads):
    pretrain_encoder(
        prepared_npz=snakemake.input.images,
        split_csv=snakemake.input.split,
        model_config=model_config({"model": snakemake.params.model}),
        settings=fit_settings(snakemake.params.pretraining),
        domain=snakemake.wildcards.domain,
        channels=snakemake.wildcards.channels,
        n_decoders=int(snakemake.wildcards.n_decoders),
        base_seed=snakemake.params.seed,
        device=select_device(snakemake.params.device, job_gpus(snakemake.resources)),
        output_model=snakemake.output.model,
        output_curve=snakemake.output.curve,
    )
