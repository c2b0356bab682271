"""CNN and dense specs: validation messages, JSON round trip, sizes equal to Keras'."""

import json

import pytest

import spaces
from spaces.cnn import CNNSpec, map_sizes, max_depth


def test_defaults_build_and_round_trip_through_json():
    spec = spaces.from_dict({"family": "cnn", "width": 16, "depth": 3, "kernels": "7-5-3"})
    again = spaces.from_json(spec.to_json())
    assert again == spec
    assert json.loads(spec.to_json())["kernels"] == [7, 5, 3]
    model = spaces.build(spec)
    assert [layer.name for layer in model.layers if "conv" in layer.name] == [
        "block1_conv1", "block2_conv1", "block3_conv1"]


def test_width_means_filters_and_blocks_grow_by_the_factor():
    spec = CNNSpec(width=12, depth=3, growth=2)
    assert spec.block_filters() == (12, 24, 48)
    assert spec.block_kernels() == (7, 5, 3)
    model = spaces.build(spec)
    assert model.get_layer("block3_conv1").filters == 48
    assert model.get_layer("block1_conv1").kernel_size == (7, 7)


def test_a_short_kernel_schedule_repeats_its_last_entry():
    assert CNNSpec(depth=4, kernels=(5, 3)).block_kernels() == (5, 3, 3, 3)


def test_explicit_filters_override_growth():
    assert CNNSpec(width=8, depth=2, filters=(8, 40)).block_filters() == (8, 40)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"width": 0}, "width must be a positive integer"),
        ({"width": -3}, "width must be a positive integer"),
        ({"width": 2.5}, "width must be a positive integer"),
        ({"width": "wide"}, "width must be a positive integer"),
        ({"depth": 5}, "depth 5 pools a 28x28 input to 1x1, below 2x2; at most 4 blocks"),
        ({"depth": 3, "input_shape": [8, 8, 1]}, "pools a 8x8 input to 1x1, below 2x2"),
        ({"head": "attention"}, "head must be one of flatten, gap"),
        ({"kernels": [3, 5]}, "kernels must not grow"),
        ({"kernels": "7-x"}, "kernels must look like '7-5-3'"),
        ({"depth": 2, "filters": [8]}, "filters lists 1 blocks but depth is 2"),
        ({"activation": "swish"}, "activation must be one of"),
        ({"pooling": "min"}, "pooling must be one of max, avg"),
        ({"dropout": 1.0}, "dropout must be a number in [0, 1)"),
        ({"colour": "red"}, "unknown field(s) colour"),
    ],
)
def test_invalid_cnn_specs_are_rejected_with_a_clear_message(fields, message):
    with pytest.raises(spaces.SpecError, match=None) as err:
        spaces.from_dict({"family": "cnn", **fields})
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_family_is_named():
    with pytest.raises(spaces.SpecError, match="unknown family 'vgg'"):
        spaces.from_dict({"family": "vgg"})


def test_depth_limit_follows_the_input_size():
    assert max_depth((28, 28, 1)) == 4
    assert max_depth((32, 32, 3)) == 4  # 16, 8, 4, 2: a fifth pool would leave 1x1
    assert max_depth((8, 8, 1)) == 2


def test_pools_pad_odd_maps_instead_of_dropping_positions():
    assert map_sizes((28, 28, 1), 4) == ((14, 14), (7, 7), (4, 4), (2, 2))
    model = spaces.build(CNNSpec(width=8, depth=4))
    assert tuple(model.get_layer("block3_pool").output.shape[1:3]) == (4, 4)
    assert tuple(model.get_layer("block4_pool").output.shape[1:3]) == (2, 2)


def test_gap_head_grows_with_depth_while_flatten_shrinks():
    def params(head, depth):
        return spaces.build(CNNSpec(width=16, depth=depth, head=head)).count_params()

    flatten = [params("flatten", d) for d in (1, 2, 3)]
    gap = [params("gap", d) for d in (1, 2, 3)]
    assert flatten[0] > flatten[1] > flatten[2]  # the head loses 3/4 of its inputs per pool
    assert gap[0] < gap[1] < gap[2]  # the head sees only the channels
    model = spaces.build(CNNSpec(width=16, depth=2, head="gap", dense_units=0))
    assert model.get_layer("gap").output.shape[-1] == 32
    assert "flatten" not in [layer.name for layer in model.layers]


def test_lenet_rejects_kernels_that_leave_no_feature_map():
    with pytest.raises(spaces.SpecError, match="leaves no feature map"):
        spaces.from_dict({"family": "lenet", "kernel": 11})
