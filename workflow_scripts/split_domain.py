"""Write the seeded train/test split manifest of one domain (rule split_domain)."""

import logging

import pandas as pd

from strainer.runtime import atomic_path, derive_seed, job_logging
from strainer.splits import make_split

with job_logging(snakemake.log[0]):
    domain = snakemake.wildcards.domain
    counts = snakemake.params.counts
    seed = derive_seed(snakemake.params.seed, "split", domain)
    manifest = pd.read_csv(snakemake.input.manifest, dtype={"image_id": str})

    split = make_split(manifest, counts["n_train"], counts["n_test"], seed, domain)
    with atomic_path(snakemake.output[0]) as temporary:
        split.to_csv(temporary, index=False)
    # Snakemake reruns this job only when the prepared manifest, the seed or a count
    # changed (its job reason names which), so a rerun always replaces an older manifest.
    logging.info(
        "wrote split manifest %s for domain %s: n_train %d, n_test %d, seed %d (base seed %d); "
        "it replaces any earlier manifest of this domain",
        snakemake.output[0], domain, counts["n_train"], counts["n_test"], seed, snakemake.params.seed,
    )
    logging.info("split %s with seed %d: %s", domain, seed, split["split"].value_counts().to_dict())
