"""Fit-step efficiency: a training step's matmul FLOP/s as a fraction of a large matmul's.

At the paper's size (178x178 image, width 256, 6 layers, one image), one full-batch Adam
step is timed several ways. The matmuls of a step alone give the ceiling. A plain
PyTorch loop runs matmul, bias add and autograd through torch.sin. The project's default
forward adds the bias inside baddbmm. Last, the Sine autograd function runs its
elementwise work compiled by torch.compile. Each is reported as
(matmul FLOPs of the step / step time) / (FLOP/s of a 2048^3 fp32 torch.matmul).
The matmul rate is the highest of three measurements in the same run (before, between
and after the steps), so that one matmul measurement slowed by other processes does not
inflate the ratio.

    python benchmarks/fit_step_efficiency.py [--device cpu|cuda] [--steps 10]
"""

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import describe_machine, matmul_flops_per_second, median_seconds  # noqa: E402

from strainer.fitting import coordinate_grid
from strainer.models import BatchedSiren, SirenConfig, use_compiled_sine

SIDE_PX = 178
PAPER = SirenConfig(hidden_features=256, n_layers=6, out_features=3)


def step_matmul_flops(config: SirenConfig, pixels: int, batch: int = 1) -> float:
    """Return the matmul FLOPs of one forward and backward pass.

    Forward: 2 * P * fan_in * fan_out per layer. Backward: the same again for the weight
    gradient and for the input gradient, except at the first layer, whose input (the
    coordinates) needs no gradient.
    """
    forward = [2.0 * pixels * fan_in * fan_out for fan_in, fan_out in config.layer_shapes()]
    return batch * (3.0 * sum(forward) - forward[0])


def plain_forward(model: BatchedSiren, coords: torch.Tensor) -> torch.Tensor:
    """Run the network as a plain PyTorch loop: matmul, bias add, omega scale, torch.sin."""
    hidden = coords
    for (weight, bias), omega in zip(model.layers(), model.config.omegas()):
        hidden = torch.matmul(hidden, weight) + bias
        if omega is not None:
            hidden = torch.sin(omega * hidden)
    return hidden


def make_step(forward, device: torch.device):
    model = BatchedSiren.from_seeds(PAPER, [0]).to(device)
    coords = coordinate_grid(SIDE_PX, SIDE_PX).to(device)
    target = torch.rand(1, SIDE_PX * SIDE_PX, 3, device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        predictions = forward(model, coords)
        loss = ((predictions - target) ** 2).mean(dim=(1, 2)).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def make_matmuls_only(device: torch.device):
    """Return a function that runs only the matmuls of one step, on fixed tensors.

    Its efficiency is the ceiling of a step at these shapes: everything else in a step
    (sine, bias, loss, Adam) only adds time.
    """
    pixels = SIDE_PX * SIDE_PX
    shapes = PAPER.layer_shapes()
    inputs = [torch.randn(1, pixels, fan_in, device=device) for fan_in, _ in shapes]
    grads = [torch.randn(1, pixels, fan_out, device=device) for _, fan_out in shapes]
    weights = [torch.randn(1, fan_in, fan_out, device=device) for fan_in, fan_out in shapes]

    def matmuls():
        for index, (layer_input, grad, weight) in enumerate(zip(inputs, grads, weights)):
            torch.matmul(layer_input, weight)  # forward
            torch.matmul(layer_input.transpose(1, 2), grad)  # weight gradient
            if index > 0:
                torch.matmul(grad, weight.transpose(1, 2))  # input gradient

    return matmuls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per variant")
    args = parser.parse_args()
    device = torch.device(args.device)

    flops = step_matmul_flops(PAPER, SIDE_PX * SIDE_PX)
    print(f"machine: {describe_machine(device)}")
    print(f"step: {SIDE_PX}x{SIDE_PX}, width 256, 6 layers, {flops / 1e9:.1f} GFLOP of matmul work")

    matmul_rates = [matmul_flops_per_second(device)]
    use_compiled_sine(False)
    step_seconds = {
        "matmuls of a step only": median_seconds(make_matmuls_only(device), device, args.steps),
        "plain PyTorch loop": median_seconds(make_step(plain_forward, device), device, args.steps),
        "default (baddbmm, sin)": median_seconds(make_step(BatchedSiren.forward, device), device, args.steps),
    }
    matmul_rates.append(matmul_flops_per_second(device))
    if use_compiled_sine(True):
        step_seconds["Sine function, compiled"] = median_seconds(
            make_step(BatchedSiren.forward, device), device, args.steps, warmup=2)
    else:
        print("torch.compile is unavailable here: the compiled variant is skipped")
    use_compiled_sine(False)
    matmul_rates.append(matmul_flops_per_second(device))

    matmul_rate = max(matmul_rates)
    print(f"fp32 matmul 2048^3: {matmul_rate / 1e9:.0f} GFLOP/s, the highest of "
          + ", ".join(f"{rate / 1e9:.0f}" for rate in matmul_rates))
    for name, seconds in step_seconds.items():
        rate = flops / seconds
        print(f"{name:30s} {1000 * seconds:7.1f} ms/step  {rate / 1e9:6.0f} GFLOP/s  "
              f"efficiency {rate / matmul_rate:.2f}")


if __name__ == "__main__":
    main()
