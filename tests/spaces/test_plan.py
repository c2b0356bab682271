"""spaces.plan: the shapes, sizes, connections and table a plan states are the model Keras
builds from it, for chains and for residual graphs."""

import math
import subprocess
import sys

import pytest

import spaces
from spaces.plan import INPUT_NAME, Planner, is_chain, table

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
RESIDUAL = [
    {"family": "resnet", "width": 8, "depth": 2},
    {"family": "resnet", "width": 4, "depth": 3, "growth": 1, "batch_norm": False},  # identity
    {"family": "resnet", "width": 6, "depth": 1, "kernel": 5, "activation": "gelu",
     "input_shape": [32, 32, 3]},
    {"family": "resnet", "width": 5, "depth": 4, "growth": 1.5, "input_shape": [27, 27, 1]},
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


def _read(node: object) -> list[str]:
    """The layer names a Keras layer config's ``inbound_nodes`` entry reads, in order."""
    if isinstance(node, dict):
        if "keras_history" in node.get("config", {}):
            return [node["config"]["keras_history"][0]]
        return [name for value in node.values() for name in _read(value)]
    if isinstance(node, list | tuple):
        return [name for value in node for name in _read(value)]
    return []


@pytest.mark.parametrize("data", SPECS + RESIDUAL)
def test_every_planned_layer_reads_what_keras_connects_it_to(data):
    """Per layer name (Keras orders a graph's parallel branches its own way): kind, shape,
    parameters and the outputs it reads; each layer comes after what it reads."""
    spec = spaces.from_dict(data)
    model = spaces.build(spec)
    config = {c["name"]: c for c in model.get_config()["layers"]}
    built = {layer.name: (type(layer).__name__, tuple(layer.output.shape[1:]),
                          layer.count_params(),
                          sum(math.prod(w.shape) for w in layer.non_trainable_weights),
                          tuple(_read(config[layer.name]["inbound_nodes"])))
             for layer in model.layers[1:]}
    plan = spec.layer_plan()
    assert {layer.name: (layer.kind, layer.output_shape, layer.params, layer.frozen_params,
                         layer.inputs) for layer in plan} == built
    seen = {INPUT_NAME}
    for layer in plan:
        assert set(layer.inputs) <= seen, layer.name
        seen.add(layer.name)
    assert spaces.cost(spec).params == model.count_params()
    assert is_chain(plan) == (data["family"] != "resnet")


def test_a_residual_block_adds_a_projection_only_where_the_channels_change():
    spec = spaces.from_dict({"family": "resnet", "width": 8, "depth": 3, "growth": 1})
    plan = {layer.name: layer for layer in spec.layer_plan()}
    assert plan["block1_proj"].inputs == (INPUT_NAME,)  # 1 channel in, 8 out
    assert plan["block1_add"].inputs == ("block1_bn2", "block1_proj_bn")
    assert "block2_proj" not in plan  # 8 in, 8 out: the shortcut is the block's input
    assert plan["block2_add"].inputs == ("block2_bn2", "block1_pool")
    grown = spaces.from_dict({"family": "resnet", "width": 8, "depth": 3})
    assert [layer.config["filters"] for layer in grown.layer_plan()
            if layer.name.endswith("_proj")] == [8, 16, 32]  # the cnn's growth convention


def test_adding_outputs_of_different_shapes_is_refused():
    net = Planner((8, 8, 1))
    start = net.here
    net.conv("conv", 4, 3)
    with pytest.raises(ValueError, match="cannot add outputs of shapes"):
        net.add("add", start, net.here)


def test_the_table_of_a_graph_says_what_each_layer_is_connected_to():
    spec = spaces.from_dict({"family": "resnet", "width": 8, "depth": 1})
    text = table(spec.input_shape, spec.layer_plan())
    assert text.startswith("| Layer (type) | Output shape | Param # | Connected to |")
    assert "| block1_proj (Conv2D) | (None, 28, 28, 8) | 8 | image |" in text  # 1x1, no bias
    assert "| block1_add (Add) | (None, 28, 28, 8) | 0 | block1_bn2, block1_proj_bn |" in text
    assert text.endswith(f"Total params: {spaces.cost(spec).params:,} (trainable "
                         f"{spaces.cost(spec).params - 2 * 3 * 8:,}, non-trainable {2 * 3 * 8:,})")


def test_the_table_names_every_layer_with_its_shape_and_the_totals():
    spec = spaces.from_dict({"family": "cnn", "width": 8, "depth": 2, "head": "gap",
                             "batch_norm": True, "dense_units": 0})
    text = table(spec.input_shape, spec.layer_plan())
    assert "| image (InputLayer) | (None, 28, 28, 1) | 0 |" in text
    assert "Connected to" not in text  # a chain: each layer reads the one above it
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
