"""Load, crop and resize the images of one dataset domain (rule prepare_dataset_domain)."""

import logging
from pathlib import Path

from strainer.datasets import list_candidates, prepare_dataset_domain
from strainer.runtime import atomic_path, derive_seed, job_logging
from strainer.splits import save_prepared

with job_logging(snakemake.log[0]):
    domain_name = snakemake.wildcards.domain
    domain = snakemake.params.domain
    seed = derive_seed(snakemake.params.seed, "dataset", domain_name)
    logging.info("preparing dataset domain %s from %s with %s, seed %d", domain_name, snakemake.input.folder, domain, seed)

    candidates = list_candidates(Path(snakemake.input.folder), snakemake.params.layouts, domain["dataset"])
    images, manifest, skipped = prepare_dataset_domain(candidates, domain, domain_name, seed)

    with atomic_path(snakemake.output.skipped) as temporary:
        skipped.to_csv(temporary, index=False)
    save_prepared(images, manifest, snakemake.output.images, snakemake.output.manifest)
    logging.info("wrote %d images to %s; %d files left out, listed in %s",
                 len(images), snakemake.output.images, len(skipped), snakemake.output.skipped)
