"""Timing helpers shared by the benchmark scripts."""

import os
import statistics
import time
from collections.abc import Callable

import torch


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(function: Callable[[], object], device: torch.device, repeats: int, warmup: int = 1) -> float:
    """Return the median wall time of `repeats` calls of `function` after `warmup` calls."""
    for _ in range(warmup):
        function()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_flops_per_second(device: torch.device, size: int = 2048, repeats: int = 10) -> float:
    """Return the fp32 FLOP/s of a size x size x size torch.matmul on `device`."""
    left = torch.randn(size, size, device=device)
    right = torch.randn(size, size, device=device)
    seconds = median_seconds(lambda: torch.matmul(left, right), device, repeats, warmup=2)
    return 2.0 * size**3 / seconds


def describe_machine(device: torch.device) -> str:
    import platform

    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads"
    load = os.getloadavg()[0]
    return f"{name}; torch {torch.__version__}; {time.strftime('%Y-%m-%d %H:%M')}; 1-minute load average {load:.1f}"
