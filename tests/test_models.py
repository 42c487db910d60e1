import math

import pytest
import torch

from strainer.models import (
    BatchedSiren,
    Sine,
    SirenConfig,
    Strainer,
    count_parameters,
    init_siren_layers,
    use_compiled_sine,
)

PAPER = SirenConfig()  # width 256, 6 layers, 5 shared, omega_0 30


def test_parameter_counts_match_paper_table5():
    assert count_parameters(BatchedSiren.from_seeds(PAPER, [0])) == 264_707
    assert count_parameters(Strainer(PAPER, n_decoders=1, seed=0)) == 264_707
    assert count_parameters(Strainer(PAPER, n_decoders=10, seed=0)) == 271_646


def test_first_layer_init_bounds():
    weight, bias = init_siren_layers(PAPER, seed=1)[0]
    bound = 1.0 / PAPER.in_features
    assert weight.abs().max() <= bound
    assert weight.abs().max() > 0.95 * bound  # the whole interval is used
    # U(-a, a) has standard deviation a / sqrt(3)
    assert weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.1)
    assert bias.abs().max() <= 1.0 / math.sqrt(PAPER.in_features)


@pytest.mark.parametrize("index", [1, 3, 5])
def test_later_layer_init_bounds(index):
    weight, _ = init_siren_layers(PAPER, seed=2)[index]
    bound = math.sqrt(6.0 / PAPER.hidden_features) / PAPER.omega_0_hidden
    assert weight.abs().max() <= bound
    assert weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.02)


def test_hidden_preactivations_are_near_unit_variance():
    # The SIREN init keeps omega_0 * (W x + b) close to unit variance at every depth.
    config = SirenConfig(hidden_features=256, n_layers=5, shared_layers=4, out_features=1)
    model = BatchedSiren.from_seeds(config, [3])
    hidden = torch.rand(4096, 2) * 2 - 1
    layers = model.layers()
    with torch.no_grad():
        for (weight, bias), omega in zip(layers[:-1], config.omegas()[:-1]):
            preactivation = omega * (hidden @ weight[0] + bias[0])
            hidden = torch.sin(preactivation)
    assert 0.5 < preactivation.std().item() < 2.0


def test_same_seed_same_network():
    first = init_siren_layers(PAPER, seed=7)
    second = init_siren_layers(PAPER, seed=7)
    other = init_siren_layers(PAPER, seed=8)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first, second))
    assert not torch.equal(first[0][0], other[0][0])


def test_strainer_encoder_is_one_shared_set():
    config = SirenConfig(hidden_features=16, out_features=3)
    model = Strainer(config, n_decoders=4, seed=0)
    assert len(model.encoder_weights) == config.shared_layers
    for weight in model.encoder_weights:
        assert weight.shape[0] == 1  # stored once, broadcast to every decoder
    for weight in model.decoder_weights:
        assert weight.shape[0] == 4

    # Every decoder's loss reaches the same encoder tensors.
    coords = torch.rand(10, 2)
    output = model(coords)
    assert output.shape == (4, 10, 3)
    output[2].sum().backward()
    assert model.encoder_weights[0].grad.abs().sum() > 0
    assert model.decoder_weights[-1].grad[2].abs().sum() > 0
    assert model.decoder_weights[-1].grad[0].abs().sum() == 0


def test_from_encoder_copies_encoder_and_reinitialises_decoder():
    config = SirenConfig(hidden_features=16, out_features=3)
    strainer = Strainer(config, n_decoders=2, seed=0)
    encoder = strainer.encoder_layers()
    fitted = BatchedSiren.from_encoder(config, encoder, seeds=[11, 12])
    for index in range(2):
        network = fitted.network(index)
        for (weight, bias), (encoder_weight, encoder_bias) in zip(network, encoder):
            assert torch.equal(weight, encoder_weight)
            assert torch.equal(bias, encoder_bias)
        fresh_decoder = init_siren_layers(config, [11, 12][index])[-1][0]
        assert torch.equal(network[-1][0], fresh_decoder)


def test_batched_forward_equals_single_networks():
    config = SirenConfig(hidden_features=32, out_features=3)
    seeds = [5, 6, 7]
    batched = BatchedSiren.from_seeds(config, seeds)
    coords = torch.rand(50, 2) * 2 - 1
    output = batched(coords)
    for index, seed in enumerate(seeds):
        single = BatchedSiren.from_seeds(config, [seed])(coords)[0]
        torch.testing.assert_close(output[index], single, rtol=1e-5, atol=1e-6)


def test_forward_matches_reference_formula():
    # sin(omega * (x W + b)) per layer, written out without stacked weights.
    config = SirenConfig(hidden_features=16, n_layers=4, shared_layers=3, out_features=3)
    model = BatchedSiren.from_seeds(config, [4, 5])
    coords = torch.rand(30, 2) * 2 - 1
    with torch.no_grad():
        output = model(coords)
        for index in range(2):
            hidden = coords
            for (weight, bias), omega in zip(model.network(index), config.omegas()):
                hidden = hidden @ weight + bias
                if omega is not None:
                    hidden = torch.sin(omega * hidden)
            torch.testing.assert_close(output[index], hidden, rtol=1e-4, atol=1e-5)


def test_config_rejects_shared_layers_out_of_range():
    with pytest.raises(ValueError, match="shared_layers"):
        SirenConfig(n_layers=4, shared_layers=4)


def _sine_gradients(omega, values, use_function):
    pre_activation = values.clone().requires_grad_(True)
    if use_function:
        output = Sine.apply(pre_activation, omega)
    else:
        output = torch.sin(omega * pre_activation)
    (output * torch.linspace(-1, 1, values.numel()).reshape(values.shape)).sum().backward()
    return output.detach(), pre_activation.grad


def test_sine_function_matches_autograd():
    values = torch.randn(3, 50, 7, generator=torch.Generator().manual_seed(0))
    expected_output, expected_grad = _sine_gradients(30.0, values, use_function=False)
    output, grad = _sine_gradients(30.0, values, use_function=True)
    torch.testing.assert_close(output, expected_output)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-5, atol=1e-4)


def test_compiled_sine_fit_matches_plain():
    config = SirenConfig(hidden_features=16, n_layers=4, shared_layers=3, out_features=1)
    coords = torch.rand(40, 2) * 2 - 1
    plain = BatchedSiren.from_seeds(config, [1, 2])(coords)
    try:
        if not use_compiled_sine(True):
            pytest.skip("torch.compile is unavailable here")
        compiled = BatchedSiren.from_seeds(config, [1, 2])(coords)
    finally:
        use_compiled_sine(False)
    torch.testing.assert_close(compiled, plain, rtol=1e-5, atol=1e-5)
    assert torch.equal(BatchedSiren.from_seeds(config, [1, 2])(coords), plain)  # plain path is back
