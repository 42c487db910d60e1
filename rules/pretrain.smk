# Encoder pretraining: one STRAINER model per (domain, channels, number of decoders).


rule pretrain_encoder:
    input:
        images="results/prepared/{domain}.npz",
        split="results/splits/{domain}.csv",
    output:
        model="results/pretrained/{domain}/{channels}/decoders-{n_decoders}.pt",
        curve="results/pretrained/{domain}/{channels}/decoders-{n_decoders}-curve.csv",
    log:
        "logs/pretrain/{domain}/{channels}/decoders-{n_decoders}.log",
    benchmark:
        "benchmarks/runs/pretrain/{domain}/{channels}/decoders-{n_decoders}.tsv"
    params:
        model=config["model"],
        pretraining=config["pretraining"],
        seed=config["seed"],
        device=config["device"],
    threads: 1
    script:
        "../workflow_scripts/pretrain_encoder.py"
