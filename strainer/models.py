"""SIREN and STRAINER networks with stacked weights.

Every network here stores its linear layers as stacked tensors: a weight of shape
(B, in_features, out_features) and a bias of shape (B, 1, out_features), so that B
independent SIRENs run as one batched model. A STRAINER model keeps its encoder with
B = 1, so one set of tensors is shared by all of its N decoders through broadcasting.
"""

import logging
import math
from dataclasses import dataclass

import torch
from torch import nn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SirenConfig:
    """Shape and frequencies of a SIREN; the defaults are the STRAINER paper's."""

    in_features: int = 2  # (y, x) coordinates
    hidden_features: int = 256  # width of every hidden layer
    n_layers: int = 6  # linear layers; all but the last are followed by a sine
    out_features: int = 3  # image channels
    omega_0_first: float = 30.0  # frequency scale of the first sine layer
    omega_0_hidden: float = 30.0  # frequency scale of the later sine layers
    shared_layers: int = 5  # STRAINER: the first layers that form the shared encoder

    def __post_init__(self):
        if self.n_layers < 2:
            raise ValueError(f"n_layers must be at least 2, got {self.n_layers}")
        if not 1 <= self.shared_layers < self.n_layers:
            raise ValueError(
                f"shared_layers must be between 1 and n_layers - 1 = {self.n_layers - 1}, "
                f"got {self.shared_layers}"
            )

    def layer_shapes(self) -> list[tuple[int, int]]:
        """Return (fan_in, fan_out) of every linear layer, first to last."""
        widths = [self.in_features] + [self.hidden_features] * (self.n_layers - 1)
        widths.append(self.out_features)
        return list(zip(widths[:-1], widths[1:]))

    def omegas(self) -> list[float | None]:
        """Return the sine frequency of every layer, None for the final linear layer."""
        hidden = [self.omega_0_hidden] * (self.n_layers - 2)
        return [self.omega_0_first, *hidden, None]

    def with_channels(self, out_features: int) -> "SirenConfig":
        return SirenConfig(**{**self.__dict__, "out_features": out_features})


Layer = tuple[torch.Tensor, torch.Tensor]  # (weight (fan_in, fan_out), bias (fan_out,))


def init_siren_layers(config: SirenConfig, seed: int) -> list[Layer]:
    """Draw the weights of one SIREN from a generator seeded with `seed`.

    The first layer multiplies its input by omega_0 before the sine, so its weights are
    drawn from U(-1/fan_in, 1/fan_in): with coordinates in [-1, 1] the first sine then
    spans a few periods. Later layers draw from U(-sqrt(6/fan_in)/omega_0, +...), which
    keeps the input of every sine standard-normal-like at any depth (Sitzmann et al.,
    2020, section 3.2). Biases follow torch.nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """
    generator = torch.Generator().manual_seed(seed)
    layers = []
    for index, (fan_in, fan_out) in enumerate(config.layer_shapes()):
        if index == 0:
            weight_bound = 1.0 / fan_in
        else:
            weight_bound = math.sqrt(6.0 / fan_in) / config.omega_0_hidden
        bias_bound = 1.0 / math.sqrt(fan_in)

        weight = _uniform((fan_in, fan_out), weight_bound, generator)
        bias = _uniform((fan_out,), bias_bound, generator)
        layers.append((weight, bias))
    return layers


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(shape, generator=generator, dtype=torch.float32) * 2.0 - 1.0) * bound


def stack_layers(networks: list[list[Layer]]) -> list[Layer]:
    """Stack the layers of B networks into (B, fan_in, fan_out) weights and (B, 1, fan_out) biases."""
    stacked = []
    for layer_group in zip(*networks):
        weights = torch.stack([weight for weight, _ in layer_group])
        biases = torch.stack([bias for _, bias in layer_group]).unsqueeze(1)
        stacked.append((weights, biases))
    return stacked


def sine_mlp_forward(
    layers: list[tuple[torch.Tensor, torch.Tensor]],
    omegas: list[float | None],
    inputs: torch.Tensor,
) -> torch.Tensor:
    """Run stacked layers on inputs of shape (P, in) or (B, P, in).

    Returns (B, P, out). A layer whose omega is None is linear.
    """
    hidden = inputs
    for (weight, bias), omega in zip(layers, omegas):
        hidden = _affine(hidden, weight, bias)  # (B, P, fan_out)
        if omega is None:
            continue
        if _compiled_sine is None:
            hidden = torch.sin(omega * hidden)
        else:
            hidden = Sine.apply(hidden, omega)
    return hidden


def _affine(inputs: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Return inputs @ weight + bias, with the bias added inside the matmul where shapes allow."""
    if inputs.dim() == 3 and inputs.shape[0] == weight.shape[0]:
        return torch.baddbmm(bias, inputs, weight)
    return torch.matmul(inputs, weight) + bias


def _sine_and_derivative(pre_activation: torch.Tensor, omega: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Return sin(omega * z) and its derivative omega * cos(omega * z) for z = pre_activation."""
    scaled = pre_activation * omega
    return torch.sin(scaled), torch.cos(scaled) * omega


_compiled_sine = None  # the compiled _sine_and_derivative while use_compiled_sine(True) is in effect


def use_compiled_sine(enabled: bool) -> bool:
    """Switch the sine layers between plain autograd ops and the compiled Sine function.

    Returns whether the compiled path is in use: False when disabled, and False with a
    warning when torch.compile fails (no C++ compiler, an unsupported platform), so the
    plain path always runs. The first call of each tensor shape compiles for several
    seconds on a CPU, which a short fit job does not win back.
    """
    global _compiled_sine
    _compiled_sine = None
    if not enabled:
        return False
    try:
        compiled = torch.compile(_sine_and_derivative, dynamic=False)
        compiled(torch.zeros(2, 3), 1.0)  # compile now, so that a failure shows here
    except Exception as error:  # noqa: BLE001 - any compiler failure means: keep the plain path
        log.warning("torch.compile of the sine failed, using plain ops: %s", error)
        return False
    _compiled_sine = compiled
    return True


class Sine(torch.autograd.Function):
    """sin(omega * z) that computes its derivative in the forward pass.

    The forward pass evaluates sin and cos of the same values in one compiled kernel
    (use_compiled_sine) and keeps only the derivative for the backward pass, which is
    then a single multiplication. Without the compiled kernel it runs the same ops eagerly.
    """

    @staticmethod
    def forward(ctx, pre_activation: torch.Tensor, omega: float) -> torch.Tensor:
        kernel = _compiled_sine or _sine_and_derivative
        sine, derivative = kernel(pre_activation, omega)
        ctx.save_for_backward(derivative)
        return sine

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (derivative,) = ctx.saved_tensors
        return grad_output * derivative, None


class BatchedSiren(nn.Module):
    """B independent SIRENs evaluated as one batched model."""

    def __init__(self, config: SirenConfig, layers: list[Layer]):
        super().__init__()
        self.config = config
        self.weights = nn.ParameterList([nn.Parameter(weight) for weight, _ in layers])
        self.biases = nn.ParameterList([nn.Parameter(bias) for _, bias in layers])

    @classmethod
    def from_seeds(cls, config: SirenConfig, seeds: list[int]) -> "BatchedSiren":
        """Build one randomly initialised SIREN per seed."""
        return cls(config, stack_layers([init_siren_layers(config, seed) for seed in seeds]))

    @classmethod
    def from_encoder(
        cls, config: SirenConfig, encoder: list[Layer], seeds: list[int]
    ) -> "BatchedSiren":
        """Build one SIREN per seed whose first layers are copies of `encoder`.

        The layers after the encoder (the decoder) are initialised afresh from each seed.
        `encoder` contains unbatched (fan_in, fan_out) weights.
        """
        networks = []
        for seed in seeds:
            layers = init_siren_layers(config, seed)
            for index, (weight, bias) in enumerate(encoder):
                layers[index] = (weight.clone(), bias.clone())
            networks.append(layers)
        return cls(config, stack_layers(networks))

    @classmethod
    def from_network(cls, config: SirenConfig, network: list[Layer], copies: int) -> "BatchedSiren":
        """Build `copies` SIRENs that all start from the weights of `network`."""
        return cls(config, stack_layers([network] * copies))

    @property
    def batch_size(self) -> int:
        return self.weights[0].shape[0]

    def layers(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return list(zip(self.weights, self.biases))

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        """Map coordinates (P, in_features) to predictions (B, P, out_features)."""
        return sine_mlp_forward(self.layers(), self.config.omegas(), coords)

    def network(self, index: int) -> list[Layer]:
        """Return a detached copy of network `index` as unbatched layers."""
        return [
            (weight[index].detach().clone(), bias[index, 0].detach().clone())
            for weight, bias in self.layers()
        ]


class Strainer(nn.Module):
    """A STRAINER model: one shared encoder and one decoder per training image.

    The encoder is the first `config.shared_layers` layers of a SIREN and is stored once,
    with batch dimension 1. The remaining layers are stacked N times, one decoder per image.
    Because every training image has the same coordinate grid, the encoder runs once
    per step and only the decoders see N copies of its features.
    """

    def __init__(self, config: SirenConfig, n_decoders: int, seed: int):
        super().__init__()
        if n_decoders < 1:
            raise ValueError(f"n_decoders must be at least 1, got {n_decoders}")
        self.config = config
        self.n_decoders = n_decoders
        shared = config.shared_layers

        # The encoder and decoder 0 are one ordinary SIREN drawn from `seed`; decoder i
        # draws its layers from the SIREN with seed + i, so N = 1 is a plain SIREN fit.
        first_network = init_siren_layers(config, seed)
        decoders = [first_network[shared:]]
        for index in range(1, n_decoders):
            decoders.append(init_siren_layers(config, seed + index)[shared:])

        encoder = stack_layers([first_network[:shared]])
        decoder = stack_layers(decoders)
        self.encoder_weights = nn.ParameterList([nn.Parameter(w) for w, _ in encoder])
        self.encoder_biases = nn.ParameterList([nn.Parameter(b) for _, b in encoder])
        self.decoder_weights = nn.ParameterList([nn.Parameter(w) for w, _ in decoder])
        self.decoder_biases = nn.ParameterList([nn.Parameter(b) for _, b in decoder])

    @property
    def batch_size(self) -> int:
        return self.n_decoders

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        """Map coordinates (P, in_features) to predictions (N, P, out_features)."""
        omegas = self.config.omegas()
        shared = self.config.shared_layers
        encoder = list(zip(self.encoder_weights, self.encoder_biases))
        decoder = list(zip(self.decoder_weights, self.decoder_biases))
        features = sine_mlp_forward(encoder, omegas[:shared], coords)  # (1, P, hidden)
        return sine_mlp_forward(decoder, omegas[shared:], features)  # (N, P, out)

    def encoder_layers(self) -> list[Layer]:
        """Return a detached copy of the shared encoder as unbatched layers."""
        return [
            (weight[0].detach().clone(), bias[0, 0].detach().clone())
            for weight, bias in zip(self.encoder_weights, self.encoder_biases)
        ]

    def network(self, index: int) -> list[Layer]:
        """Return the full SIREN made of the encoder and decoder `index`."""
        decoder = [
            (weight[index].detach().clone(), bias[index, 0].detach().clone())
            for weight, bias in zip(self.decoder_weights, self.decoder_biases)
        ]
        return self.encoder_layers() + decoder


def count_parameters(module: nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())
