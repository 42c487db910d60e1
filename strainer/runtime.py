"""Job plumbing shared by every workflow step: device, seeds, logging and safe writes."""

import contextlib
import hashlib
import logging
import os
import sys
import tempfile
from pathlib import Path

import torch

log = logging.getLogger(__name__)


class DeviceUnavailableError(RuntimeError):
    """Raised when a job requests a GPU that it cannot see."""


def select_device(requested: str = "auto") -> torch.device:
    """Return the torch device for `requested`: "auto", "cpu" or "cuda".

    "auto" takes CUDA when it is available and the CPU otherwise. "cuda" fails at once
    when no GPU is visible, so that a cluster job never falls back to the CPU silently.
    """
    if requested not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {requested!r}")

    if requested == "cuda" and not torch.cuda.is_available():
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>")
        raise DeviceUnavailableError(
            "device 'cuda' was requested but torch sees no GPU "
            f"(CUDA_VISIBLE_DEVICES={visible}, torch {torch.__version__}, "
            f"built for CUDA {torch.version.cuda}). Request a GPU for the job "
            "(the `gpu` resource on SLURM) or set device: cpu in the config."
        )

    if requested == "cpu" or not torch.cuda.is_available():
        device = torch.device("cpu")
        log.info("device: cpu (%d torch threads)", torch.get_num_threads())
    else:
        device = torch.device("cuda")
        log.info("device: cuda (%s)", torch.cuda.get_device_name(device))
    return device


def derive_seed(base_seed: int, *parts: object) -> int:
    """Derive a stable 31-bit seed from a base seed and identifying parts.

    Python's hash() of strings changes between processes, so the parts go through
    SHA-256 instead; the same (base_seed, parts) give the same seed on every machine.
    """
    text = "/".join(str(part) for part in (base_seed, *parts))
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def setup_logging(log_path: str | os.PathLike | None = None, level: int = logging.INFO) -> None:
    """Send log records to `log_path` (a rule's log file) and to stderr."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside `path` and rename it to `path` on success.

    A job killed midway leaves only a `.tmp` file behind, never a file under the final
    name that looks complete. The rename is atomic on POSIX file systems.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def job_logging(log_path: str | os.PathLike | None, threads: int | None = None):
    """Set up logging for one workflow job and log any exception before it propagates.

    With `threads`, torch is limited to that many CPU threads, the count the scheduler
    gave the job.
    """
    setup_logging(log_path)
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    except Exception:
        log.exception("job failed")
        raise
