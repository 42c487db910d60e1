"""Aggregate per-image metrics into tables 1-3 and draw figure 2 (rule aggregate_tables)."""

from strainer.aggregate import write_tables
from strainer.config import load_paper_results
from strainer.runtime import job_logging

with job_logging(snakemake.log[0]):
    paper_results_file = snakemake.input.paper_results[0] if snakemake.input.paper_results else None
    write_tables(
        config=snakemake.config,
        paper_results=load_paper_results(paper_results_file),
        metrics_csvs=list(snakemake.input.metrics),
        curve_csvs=list(snakemake.input.curves),
        outputs=dict(snakemake.output.items()),
    )
