# Aggregation: per-image metrics into the paper's tables, curves into figure 2.


rule aggregate_tables:
    input:
        metrics=get_all_shard_outputs("metrics.csv"),
        curves=get_all_shard_outputs("curves.csv"),
        paper_results=get_paper_results_file(),
    output:
        **AGGREGATE_OUTPUTS,
    log:
        "logs/aggregate_tables.log",
    script:
        "../workflow_scripts/aggregate_tables.py"
