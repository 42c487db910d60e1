"""Batched fitting throughput: image-steps per second for several shard sizes.

At the paper's size (178x178 RGB images, width 256, 6 layers), a shard of K images is
fitted as one BatchedSiren and one full-batch Adam step is timed; throughput is
K / step time. The baseline is one image per process (shard size 1), which also pays a
process start (Python, torch and the strainer package imported) once per image; that
start is measured here and spread over a fit of --fit-steps steps.
Shard sizes whose activations would not fit in the free memory are skipped with the
estimate; the activation memory per image is measured with saved-tensor hooks.

    python benchmarks/shard_throughput.py [--device cpu|cuda] [--sizes 1 8 32 64]
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import describe_machine, median_seconds  # noqa: E402

from strainer.fitting import coordinate_grid
from strainer.models import BatchedSiren, SirenConfig

SIDE_PX = 178
PAPER = SirenConfig(hidden_features=256, n_layers=6, out_features=3)


def saved_bytes_per_image(device: torch.device) -> int:
    """Return the bytes that autograd keeps for the backward pass of one image's step."""
    model = BatchedSiren.from_seeds(PAPER, [0]).to(device)
    coords = coordinate_grid(SIDE_PX, SIDE_PX).to(device)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda tensor: saved.append(tensor) or tensor, lambda tensor: tensor):
        model(coords).sum()
    unique = {tensor.data_ptr(): tensor.numel() * tensor.element_size() for tensor in saved}
    return sum(unique.values())


def free_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("MemAvailable not found in /proc/meminfo")


def process_start_seconds() -> float:
    """Return the wall time of a fresh Python process that imports what a fit job imports."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, strainer.experiments"], check=True)
    return time.perf_counter() - start


def step_seconds(shard_size: int, device: torch.device, repeats: int) -> float:
    model = BatchedSiren.from_seeds(PAPER, list(range(shard_size))).to(device)
    coords = coordinate_grid(SIDE_PX, SIDE_PX).to(device)
    targets = torch.rand(shard_size, SIDE_PX * SIDE_PX, 3, device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        loss = ((model(coords) - targets) ** 2).mean(dim=(1, 2)).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return median_seconds(step, device, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 8, 32, 64], help="shard sizes to time")
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per shard size, at least 12 / shard size")
    parser.add_argument("--fit-steps", type=int, default=2000, help="steps of one fit, for the process-start share")
    args = parser.parse_args()
    device = torch.device(args.device)

    print(f"machine: {describe_machine(device)}")
    per_image = saved_bytes_per_image(device)
    start = process_start_seconds()
    print(f"activations kept for backward: {per_image / 2**20:.0f} MiB per image; "
          f"process start {start:.1f} s; free memory {free_bytes(device) / 2**30:.1f} GiB")

    baseline = None
    for shard_size in args.sizes:
        needed = 1.5 * shard_size * per_image  # activations plus the gradients in flight
        if needed > free_bytes(device):
            print(f"shard size {shard_size:3d}: skipped, needs about {needed / 2**30:.1f} GiB, "
                  f"{free_bytes(device) / 2**30:.1f} GiB free")
            continue
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        # Small shards get more timed steps, so that each size is timed for a similar while.
        seconds = step_seconds(shard_size, device, max(args.repeats, 12 // shard_size))
        throughput = shard_size / seconds
        line = f"shard size {shard_size:3d}: {1000 * seconds:8.1f} ms/step  {throughput:7.2f} image-steps/s"
        if device.type == "cuda":
            line += f"  peak {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB"
        if shard_size == 1:
            baseline = 1.0 / (seconds + start / args.fit_steps)
            line += f"  (one image per process: {baseline:.2f} image-steps/s)"
        elif baseline:
            line += f"  {throughput / baseline:.2f}x one image per process"
        print(line)


if __name__ == "__main__":
    main()
