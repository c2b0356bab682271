"""spaces.plan: the shapes, sizes and table a plan states are the model Keras builds from it."""

import math
import subprocess
import sys

import pytest

import spaces
from spaces.plan import table

SPECS = [
    {"family": "cnn", "width": 8, "depth": 1},
    {"family": "cnn", "width": 24, "depth": 4, "convs_per_block": 2, "batch_norm": True,
     "dropout": 0.3, "pooling": "avg", "dense_units": 0},
    {"family": "cnn", "width": 16, "depth": 3, "growth": 1.5, "input_shape": [32, 32, 3]},
    {"family": "cnn", "width": 8, "depth": 4, "head": "gap"},
    {"family": "cnn", "width": 12, "depth": 3, "head": "gap", "dense_units": 0,
     "convs_per_block": 2, "batch_norm": True},
    {"family": "cnn", "width": 5, "depth": 2, "input_shape": [27, 27, 1]},  # odd maps
    {"family": "dense", "layers": 3, "units": 100, "batch_norm": True, "dropout": 0.1},
    {"family": "lenet"},
    {"family": "lenet", "kernel": 8},
    {"family": "lenet", "extra_convs": 3},
]


@pytest.mark.parametrize("data", SPECS)
def test_every_planned_layer_is_the_layer_keras_builds(data):
    spec = spaces.from_dict(data)
    model = spaces.build(spec)
    built = [(layer.name, type(layer).__name__, tuple(layer.output.shape[1:]),
              layer.count_params(), sum(math.prod(w.shape) for w in layer.non_trainable_weights))
             for layer in model.layers[1:]]  # [0] is the input
    planned = [(layer.name, layer.kind, layer.output_shape, layer.params, layer.frozen_params)
               for layer in spec.layer_plan()]
    assert planned == built
    assert spaces.cost(spec).params == model.count_params()


def test_the_table_names_every_layer_with_its_shape_and_the_totals():
    spec = spaces.from_dict({"family": "cnn", "width": 8, "depth": 2, "head": "gap",
                             "batch_norm": True, "dense_units": 0})
    text = table(spec.input_shape, spec.layer_plan())
    assert "| image (InputLayer) | (None, 28, 28, 1) | 0 |" in text
    assert "| block2_conv1 (Conv2D) | (None, 14, 14, 16) | 3,200 |" in text  # 5*5*8*16, no bias
    assert "| gap (GlobalAveragePooling2D) | (None, 16) | 0 |" in text
    total = spaces.cost(spec).params
    frozen = 2 * (8 + 16)  # the two batch norms' moving mean and variance
    assert text.endswith(f"Total params: {total:,} (trainable {total - frozen:,}, "
                         f"non-trainable {frozen:,})")


def test_sizes_and_tables_need_no_tensorflow():
    code = ("import sys, spaces; from spaces.plan import table; "
            "s = spaces.from_dict({'family': 'cnn', 'width': 32, 'depth': 3}); "
            "spaces.cost(s); table(s.input_shape, s.layer_plan()); "
            "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
