# Domain images and their train/test splits.


rule prepare_demo_domain:
    output:
        images="results/prepared/{domain}.npz",
        manifest="results/prepared/{domain}.csv",
    log:
        "logs/prepare/{domain}.log",
    params:
        domain=get_domain,
        seed=config["seed"],
    wildcard_constraints:
        domain=_alternatives(DEMO_DOMAINS) if DEMO_DOMAINS else "$^",
    script:
        "../workflow_scripts/prepare_demo_domain.py"


rule split_domain:
    input:
        manifest="results/prepared/{domain}.csv",
    output:
        "results/splits/{domain}.csv",
    log:
        "logs/split/{domain}.log",
    params:
        counts=get_split_counts,
        seed=config["seed"],
    script:
        "../workflow_scripts/split_domain.py"
