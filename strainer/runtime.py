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


def select_device(requested: str = "auto", gpus_requested: int = 0) -> torch.device:
    """Return the torch device for `requested`: "auto", "cpu" or "cuda".

    "auto" takes CUDA when it is available and the CPU otherwise. "cuda" fails at once
    when no GPU is visible, so that a cluster job never falls back to the CPU silently.
    `gpus_requested` is the job's `gpu` resource. A job that requested a GPU is treated
    as "cuda" even when the config sets "auto", and one whose config sets "cpu" is rejected.
    """
    if requested not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {requested!r}")
    if gpus_requested < 0:
        raise ValueError(f"the job's gpu resource must be 0 or more, got {gpus_requested}")

    if gpus_requested and requested == "cpu":
        raise DeviceUnavailableError(
            f"the job requested {gpus_requested} GPU(s) (resource gpu) but the config sets "
            "device: cpu. Set device: auto or cuda, or drop the gpu resource from the profile."
        )
    if gpus_requested or requested == "cuda":
        if not torch.cuda.is_available():
            visible = os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>")
            reason = f"the job requested {gpus_requested} GPU(s) (resource gpu)" if gpus_requested \
                else "device 'cuda' was requested"
            raise DeviceUnavailableError(
                f"{reason} but torch sees no GPU "
                f"(CUDA_VISIBLE_DEVICES={visible}, torch {torch.__version__}, "
                f"built for CUDA {torch.version.cuda}). Check that the scheduler gave the job "
                "a GPU and that torch is a CUDA build, or run with device: cpu and no gpu resource."
            )
        device = _least_busy_gpu()
        log.info("device: %s (%s), %d GPU(s) requested", device, torch.cuda.get_device_name(device), gpus_requested)
        return device

    if requested == "cpu" or not torch.cuda.is_available():
        log.info("device: cpu, running on the CPU with %d torch thread(s)", torch.get_num_threads())
        return torch.device("cpu")
    device = _least_busy_gpu()
    log.info("device: %s (%s), chosen by device: auto", device, torch.cuda.get_device_name(device))
    return device


def _least_busy_gpu() -> torch.device:
    """Return the visible GPU with the most free memory.

    SLURM hands each job its own GPUs through CUDA_VISIBLE_DEVICES, so there this is
    cuda:0. On a workstation every local job can use all cards, and this spreads the jobs.
    NOTE: two jobs that start at the same moment can still pick the same card.
    """
    if torch.cuda.device_count() == 1:
        return torch.device("cuda", 0)
    free = [torch.cuda.mem_get_info(index)[0] for index in range(torch.cuda.device_count())]
    return torch.device("cuda", free.index(max(free)))


def job_gpus(resources) -> int:
    """Return the `gpu` resource of a Snakemake job, 0 when the job did not request one."""
    value = getattr(resources, "gpu", 0) or 0
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"the job's gpu resource must be a whole number of GPUs, got {value!r}") from None


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
    # mkstemp creates the file readable by its owner only. Give the output the mode
    # that a plain open() would, so that colleagues on a shared file system can read it.
    os.chmod(temporary, 0o666 & ~_current_umask())
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _current_umask() -> int:
    mask = os.umask(0)  # reading the umask requires setting it, so restore it at once
    os.umask(mask)
    return mask


def save_torch(state: dict, path: str | os.PathLike) -> None:
    """Write `state` with torch.save through a temporary file renamed to `path`.

    torch.save names the records inside its zip archive after the file it writes to, so
    saving to the temporary path would make two runs of one job differ in bytes. Saved
    through an open file, the archive is always called "archive".
    """
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        torch.save(state, handle)


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
