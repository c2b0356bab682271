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
