"""Resumable, verified downloads of dataset files.

A download goes to `<name>.part` beside the destination. A cut connection leaves the
part file in place, and the next attempt (or the next run) requests only the missing
bytes from the server with an HTTP range request. The finished file is checked against
the published size and checksum, or, where none is published, against the SHA-256
that a lock file recorded for the first verified download. Only a verified file is
renamed to its final name, so a file under that name is always complete.
"""

import fcntl
import hashlib
import http.client
import logging
import os
import re
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from strainer.runtime import atomic_path

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
PROGRESS_EVERY_SECONDS = 10.0
USER_AGENT = "strainer-workflow-downloader"


class DownloadError(RuntimeError):
    """Raised when no URL of a file gives a complete, verified download."""


class ChecksumError(DownloadError):
    """Raised when a downloaded file does not match its expected size or checksum."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: where to get it and how to check it."""

    dataset: str
    name: str
    urls: tuple[str, ...]
    size_bytes: int | None = None
    md5: str | None = None
    sha256: str | None = None
    help: str = ""  # what to do when the download fails, from the dataset registry


@dataclass(frozen=True)
class DownloadSettings:
    timeout_seconds: float = 60.0  # per connect and per read, not for the whole file
    retries: int = 4  # further attempts per URL after the first
    backoff_seconds: float = 2.0  # wait before retry k is backoff_seconds * 2**k
    lock_file: str | None = None  # YAML of SHA-256 per dataset file, for files without a published checksum


def file_digest(path: str | Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(remote: RemoteFile, destination: str | Path, settings: DownloadSettings) -> Path:
    """Download `remote` to `destination`, resuming a part file, and verify it.

    Tries each URL in turn (mirrors), each with retries and exponential backoff. Raises
    DownloadError naming the dataset, the URLs and what to do when all fail, and
    ChecksumError (after deleting the bad file) when the data does not verify.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = destination.with_name(destination.name + ".part")
    failures = []
    for url in remote.urls:
        for attempt in range(settings.retries + 1):
            if attempt:
                wait = settings.backoff_seconds * 2 ** (attempt - 1)
                log.info("%s: retry %d of %d for %s in %.1f s", remote.dataset, attempt, settings.retries, url, wait)
                time.sleep(wait)
            try:
                _fetch(url, part, remote, settings)
            except _PermanentHTTPError as error:
                failures.append(f"{url}: {error}")
                log.error("%s: %s: %s; trying the next URL", remote.dataset, url, error)
                break
            except (OSError, http.client.HTTPException, _IncompleteError) as error:
                reason = _describe(error)
                failures.append(f"{url}: {reason}")
                log.warning("%s: download of %s interrupted after %d bytes: %s",
                            remote.dataset, url, _size(part), reason)
                continue
            verify(part, remote, settings, url)
            os.replace(part, destination)
            log.info("%s: verified and saved %s (%d bytes)", remote.dataset, destination, destination.stat().st_size)
            return destination

    raise DownloadError(
        f"dataset {remote.dataset!r}: could not download {remote.name} from any of its URLs:\n  "
        + "\n  ".join(failures)
        + f"\nThe partial file {part} is kept, so running again resumes it. "
        + (remote.help or "Check the network, or place the file by hand at " + str(destination))
    )


class _PermanentHTTPError(Exception):
    """An HTTP status that retrying the same URL will not fix (404, 403, ...)."""


class _IncompleteError(Exception):
    """The server closed the connection before sending every byte."""


def _describe(error: BaseException) -> str:
    if isinstance(error, (socket.timeout, TimeoutError)) or "timed out" in str(error):
        return f"timed out ({error})"
    return f"{type(error).__name__}: {error}"


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _fetch(url: str, part: Path, remote: RemoteFile, settings: DownloadSettings) -> None:
    """Append the missing bytes of `url` to `part`; return once the server sent them all."""
    offset = _size(part)
    if remote.size_bytes is not None and offset >= remote.size_bytes:
        return  # complete part file left by a run that stopped before verifying
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=settings.timeout_seconds)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:
            return  # the part file already contains every byte; verification decides
        if error.code in (400, 401, 403, 404, 410):
            raise _PermanentHTTPError(f"HTTP {error.code} {error.reason}") from error
        raise
    with response:
        expected_total = _expected_total(response, offset, part, remote)
        mode = "ab" if response.status == 206 else "wb"
        received = offset if mode == "ab" else 0
        if offset and mode == "wb":
            log.info("%s: %s ignored the range request; downloading from the start", remote.dataset, url)
        else:
            log.info("%s: downloading %s from byte %d", remote.dataset, url, offset)
        last_report = time.monotonic()
        with open(part, mode) as handle:
            while True:
                chunk = response.read(CHUNK_BYTES)
                if not chunk:
                    break
                handle.write(chunk)
                received += len(chunk)
                if time.monotonic() - last_report >= PROGRESS_EVERY_SECONDS:
                    last_report = time.monotonic()
                    log.info("%s: %s: %d of %s bytes", remote.dataset, remote.name, received, expected_total or "?")
    if expected_total is not None and received < expected_total:
        raise _IncompleteError(f"received {received} of {expected_total} bytes")


def _expected_total(response, offset: int, part: Path, remote: RemoteFile) -> int | None:
    if response.status == 206:
        match = re.match(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", ""))
        if not match or int(match.group(1)) != offset:
            raise _IncompleteError(f"unexpected Content-Range {response.headers.get('Content-Range')!r}")
        return None if match.group(2) == "*" else int(match.group(2))
    length = response.headers.get("Content-Length")
    return int(length) if length is not None else None


def verify(path: Path, remote: RemoteFile, settings: DownloadSettings, url: str = "") -> None:
    """Check size and checksum of a downloaded file; delete it and raise on mismatch."""
    source = url or "the local copy"
    problems = []
    size = path.stat().st_size
    if remote.size_bytes is not None and size != remote.size_bytes:
        problems.append(f"size is {size} bytes, expected {remote.size_bytes}")
    elif remote.md5 or remote.sha256:
        for algorithm in ("md5", "sha256"):
            expected = getattr(remote, algorithm)
            if expected:
                actual = file_digest(path, algorithm)
                if actual != expected.lower():
                    problems.append(f"{algorithm} is {actual}, expected {expected} (published)")
    elif settings.lock_file:
        actual = file_digest(path, "sha256")
        recorded = record_or_read_lock(settings.lock_file, remote, actual)
        if recorded != actual:
            problems.append(f"sha256 is {actual}, expected {recorded} (recorded in {settings.lock_file})")
    else:
        log.warning("%s: %s has no published checksum and no lock file is set; size not checked either",
                    remote.dataset, remote.name)

    if problems:
        path.unlink(missing_ok=True)
        raise ChecksumError(
            f"dataset {remote.dataset!r}: {remote.name} from {source} failed verification: "
            + "; ".join(problems)
            + ". The file was deleted. Run again to download it anew; if it fails again the "
            "source has changed: check the dataset registry entry (URL, size, checksum) "
            + (f"or remove the entry from {settings.lock_file} if the new file is trusted" if settings.lock_file else "")
        )


def record_or_read_lock(lock_file: str | Path, remote: RemoteFile, sha256: str) -> str:
    """Return the SHA-256 recorded for the file, recording `sha256` if there is none yet.

    The lock file is YAML: {dataset: {file name: sha256}}. An exclusive flock on a
    sidecar file serialises download jobs that run at the same time.
    """
    lock_file = Path(lock_file)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file.with_name(lock_file.name + ".flock"), "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        entries = yaml.safe_load(lock_file.read_text()) if lock_file.exists() else None
        entries = entries or {}
        recorded = entries.get(remote.dataset, {}).get(remote.name)
        if recorded:
            return recorded
        entries.setdefault(remote.dataset, {})[remote.name] = sha256
        with atomic_path(lock_file) as temporary:
            temporary.write_text(
                "# SHA-256 of the first verified download of each dataset file without a published\n"
                "# checksum; later downloads must match. Written by the download rules.\n"
                + yaml.safe_dump(entries, sort_keys=True)
            )
        log.info("%s: recorded sha256 %s of %s in %s", remote.dataset, sha256, remote.name, lock_file)
        return sha256

