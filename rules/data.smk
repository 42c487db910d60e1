# Domain images and their train/test splits: demo domains built from bundled images,
# dataset domains downloaded (or taken from local_datasets), extracted and prepared.


# Downloads need the network, which compute nodes of many clusters lack, and extraction
# writes into the shared data folder; both run on the host that submits the jobs.
localrules:
    download_dataset_file,
    extract_dataset,


rule download_dataset_file:
    output:
        f"{DATA_DIR}/{{dataset}}/downloads/{{filename}}",
    log:
        "logs/download/{dataset}/{filename}.log",
    params:
        remote=get_remote_file,
        settings=get_download_settings(),
    wildcard_constraints:
        dataset=_alternatives(REGISTRY),
        filename=r"[A-Za-z0-9._-]+",
    script:
        "../workflow_scripts/download_dataset_file.py"


rule extract_dataset:
    input:
        get_dataset_archives,
    output:
        directory(f"{DATA_DIR}/{{dataset}}/extracted"),
    log:
        "logs/extract/{dataset}.log",
    params:
        archive=get_dataset_archive_type,
    wildcard_constraints:
        dataset=_alternatives(REGISTRY),
    script:
        "../workflow_scripts/extract_dataset.py"


rule prepare_dataset_domain:
    input:
        folder=get_dataset_folder,
    output:
        images="results/prepared/{domain}.npz",
        manifest="results/prepared/{domain}.csv",
        skipped="results/prepared/{domain}.skipped.csv",
    log:
        "logs/prepare/{domain}.log",
    params:
        domain=get_domain,
        layouts=get_dataset_layouts,
        seed=config["seed"],
    wildcard_constraints:
        domain=_alternatives(DATASET_DOMAINS) if DATASET_DOMAINS else "$^",
    script:
        "../workflow_scripts/prepare_dataset_domain.py"


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
