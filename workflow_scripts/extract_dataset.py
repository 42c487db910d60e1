"""Unpack a dataset's downloaded or local archives into one folder (rule extract_dataset)."""

import logging
from pathlib import Path

from strainer.datasets import extract
from strainer.runtime import job_logging

with job_logging(snakemake.log[0]):
    archives = [Path(path) for path in snakemake.input]
    logging.info("extracting dataset %s from %s (%s)", snakemake.wildcards.dataset, archives, snakemake.params.archive)
    extract(archives, snakemake.params.archive, Path(snakemake.output[0]))
