# STRAINER reproduction: regenerates the tables and figures of "STRAINER: Learning
# Transferable Features for Implicit Neural Representations" (NeurIPS 2024).
# The chain: prepare domain images -> split manifests -> pretrain encoders ->
# fit test images in shards -> aggregate tables and figures. See README.md.

from snakemake.utils import min_version

min_version("9.0")


# A --configfile on the command line replaces the demo config instead of being merged
# into it (Snakemake 9 merges nested keys, so demo domains would leak into a paper run).
# --config KEY=VALUE still overrides single keys of whichever file is used.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/pretrain.smk"
include: "rules/fit.smk"
include: "rules/aggregate.smk"


rule all:
    input:
        AGGREGATE_OUTPUTS.values(),
    default_target: True
