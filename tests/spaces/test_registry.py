"""spaces.registry: families are their registrations; one more is one register() call."""

from __future__ import annotations

import dataclasses

import pytest

import spaces
from spaces import BASELINE, FAMILIES, REFERENCE, STUDIED, Axis, Family, register
from spaces.space import Space
from tests.spaces.tiny import TINY, TinySpec, registered  # noqa: F401  (a fixture)


def test_the_shipped_families_are_their_registrations():
    assert list(FAMILIES) == ["cnn", "dense", "lenet", "resnet"]
    roles = {name: family.role for name, family in FAMILIES.items()}
    assert roles == {"cnn": STUDIED, "dense": BASELINE, "lenet": REFERENCE, "resnet": STUDIED}
    for name, family in FAMILIES.items():
        assert family.name == name == family.spec.family
        spec = family.spec()  # every field has a default: the family's smallest sketch
        assert isinstance(spec, spaces.ArchSpec)
        assert spaces.from_dict(spec.to_dict()) == spec
    cnn, resnet = FAMILIES["cnn"], FAMILIES["resnet"]
    assert (cnn.width, cnn.depth) == (Axis("width"), Axis("depth", "block", "conv-pool blocks"))
    assert (resnet.width.knob, resnet.depth.knob) == ("width", "depth")
    assert cnn.never_pooled == {"head"} and cnn.derived == {"filters"}


@pytest.mark.usefixtures("registered")
def test_a_registered_family_is_created_built_and_measured_like_the_others():
    data = {"family": "tiny", "breadth": 8, "stack": 2}
    spec = spaces.from_dict(data)
    assert isinstance(spec, TinySpec) and spec.to_dict()["breadth"] == 8
    # 3*3*1*8 + 8, 3*3*8*8 + 8, then the head: 8*10 + 10
    assert spaces.cost(spec).params == 80 + 584 + 90
    assert spaces.build(spec).count_params() == 80 + 584 + 90
    space = Space.parse({"family": "tiny", "params": {"breadth": [4, 8], "stack": [1, 2]}})
    assert len(space.grid()) == 4


def test_an_unregistered_family_is_unknown_everywhere():
    with pytest.raises(spaces.SpecError, match="unknown family 'tiny': choose one of cnn, "
                                               "dense, lenet, resnet"):
        spaces.from_dict({"family": "tiny"})
    with pytest.raises(spaces.SpecError, match="unknown family 'tiny'"):
        Space.parse({"family": "tiny"})
    assert spaces.declared("tiny") is None


@pytest.mark.usefixtures("registered")
def test_a_name_is_registered_once():
    with pytest.raises(ValueError, match="family 'tiny' is registered twice"):
        register(TINY)


@pytest.mark.parametrize(("changes", "message"), [
    ({"width": Axis("filters")}, "unknown spec field(s) filters"),
    ({"depth": None}, "a studied family needs a width and a depth axis"),
    ({"role": BASELINE, "width": None, "depth": None},
     "a baseline family needs a width axis"),
    ({"role": "compared"}, "role 'compared' is not one of studied, baseline, reference"),
    ({"depth": Axis("breadth", "block")}, "width and depth must be different fields"),
    ({"columns": ("breadth", "head")}, "unknown spec field(s) head"),
])
def test_a_declaration_the_readers_could_not_use_is_refused(changes, message):
    bad: Family = dataclasses.replace(TINY, **changes)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        register(bad)
    assert "tiny" not in FAMILIES


def test_an_axis_says_what_one_step_is():
    width, blocks = Axis("width"), Axis("depth", "block", "conv-pool blocks")
    assert (width.words, blocks.words) == ("doubling of width", "added block")
    assert (width.axis_title, blocks.axis_title) == ("width (log scale)",
                                                     "depth (conv-pool blocks)")
    assert (width.scale(16), blocks.scale(3)) == (4.0, 3.0)
