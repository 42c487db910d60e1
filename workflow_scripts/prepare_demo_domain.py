"""Build one demo domain from bundled images (rule prepare_demo_domain)."""

import logging

from strainer.demo_data import build_demo_domain
from strainer.images import channels_name
from strainer.runtime import derive_seed, job_logging
from strainer.splits import save_prepared

with job_logging(snakemake.log[0]):
    domain_name = snakemake.wildcards.domain
    domain = snakemake.params.domain
    logging.info("preparing demo domain %s with %s", domain_name, domain)

    seed = derive_seed(snakemake.params.seed, "demo", domain_name)
    images, manifest = build_demo_domain(domain["recipe"], domain["image_size_px"], domain["crops_per_source"], seed)
    found = channels_name(images.shape[-1])
    if found != domain["channels"]:
        raise ValueError(
            f"config key 'domains.{domain_name}.channels' is {domain['channels']!r} but recipe "
            f"{domain['recipe']!r} makes {found} images; set channels: {found}"
        )

    save_prepared(images, manifest, snakemake.output.images, snakemake.output.manifest)
    logging.info("wrote %d images to %s", len(images), snakemake.output.images)
