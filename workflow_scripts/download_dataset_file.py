"""Download one dataset file, resumable and verified (rule download_dataset_file)."""

import logging

from strainer.download import DownloadSettings, RemoteFile, download
from strainer.runtime import job_logging

with job_logging(snakemake.log[0]):
    remote = RemoteFile(**snakemake.params.remote)
    settings = DownloadSettings(**snakemake.params.settings)
    logging.info("downloading %s of dataset %s from %s with %s", remote.name, remote.dataset, remote.urls, settings)
    if not remote.urls:
        raise RuntimeError(f"dataset {remote.dataset!r}: {remote.name} has no download URL. {remote.help}")
    download(remote, snakemake.output[0], settings)
