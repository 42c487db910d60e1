# Test-time fitting: one job per (method, trained_on, tested_on, channels, shard).


rule fit_shard:
    input:
        images="results/prepared/{tested_on}.npz",
        split="results/splits/{tested_on}.csv",
        pretrained=get_pretrained,
    output:
        metrics="results/fits/{method}/{trained_on}/{tested_on}/{channels}/shard-{shard}/metrics.csv",
        curves="results/fits/{method}/{trained_on}/{tested_on}/{channels}/shard-{shard}/curves.csv",
        reconstructions="results/fits/{method}/{trained_on}/{tested_on}/{channels}/shard-{shard}/reconstructions.npz",
    log:
        "logs/fit/{method}/{trained_on}/{tested_on}/{channels}/shard-{shard}.log",
    benchmark:
        "benchmarks/runs/fit/{method}/{trained_on}/{tested_on}/{channels}/shard-{shard}.tsv"
    params:
        model=config["model"],
        fitting=config["fitting"],
        seed=config["seed"],
        device=config["device"],
    threads: 1
    script:
        "../workflow_scripts/fit_shard.py"
