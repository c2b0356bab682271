"""FLOP counts on cases small enough to compute by hand."""

import spaces
from spaces.cost import human


def test_dense_flops_are_two_multiply_adds_per_weight():
    spec = spaces.from_dict({"family": "dense", "layers": 1, "units": 10})
    # 784*10 + 10*10 multiply-adds, times 2; biases do not count.
    assert spaces.cost(spec).flops == 2 * (784 * 10 + 10 * 10)


def test_cnn_flops_by_hand():
    spec = spaces.from_dict({"family": "cnn", "width": 4, "depth": 2, "kernels": [3, 3],
                             "dense_units": 0, "input_shape": [8, 8, 1]})
    conv1 = 8 * 8 * 4 * (3 * 3 * 1)  # 'same' conv on 8x8, 4 filters
    conv2 = 4 * 4 * 8 * (3 * 3 * 4)  # after a 2x2 pool: 4x4, 8 filters
    head = (2 * 2 * 8) * 10  # flatten of 2x2x8 into 10 classes
    assert spaces.cost(spec).flops == 2 * (conv1 + conv2 + head)


def test_human_counts():
    assert human(950) == "950"
    assert human(46_500) == "46.5k"
    assert human(1_600_000) == "1.6M"
    assert human(115_000_000) == "115M"


def test_activations_count_every_layers_outputs_for_one_example():
    spec = spaces.from_dict({"family": "cnn", "width": 4, "depth": 1, "kernels": [3],
                             "dense_units": 0, "input_shape": [8, 8, 1]})
    conv, relu, pool, flat, out = 8 * 8 * 4, 8 * 8 * 4, 4 * 4 * 4, 4 * 4 * 4, 10
    cost = spaces.cost(spec)
    assert cost.activations == conv + relu + pool + flat + out
    assert cost.activation_bytes(batch_size=2) == 4 * 2 * cost.activations


def test_sizes_too_large_to_build_are_refused_without_overflowing():
    import pytest

    from spaces.errors import SizeError

    for fields, message in [({"width": 10**300}, "width must be at most 2,147,483,647"),
                            ({"width": 1e300}, "width must be at most"),
                            ({"dense_units": 2**40}, "dense_units must be at most"),
                            ({"width": 8, "depth": 3, "growth": 1e300}, "gives inf filters")]:
        with pytest.raises(SizeError, match=message):
            spaces.from_dict({"family": "cnn", **fields})
    for growth in (float("inf"), float("nan")):
        with pytest.raises(spaces.SpecError, match="growth must be a finite number >= 1"):
            spaces.from_dict({"family": "cnn", "growth": growth})
