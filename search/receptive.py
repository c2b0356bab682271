"""Receptive fields: how many input pixels one feature of a network's last map sees.

Read from the family's own layer plan (:meth:`ArchSpec.layer_plan`, no TensorFlow), so the
kernel schedule, ``convs_per_block`` and every pool count exactly as the network is built.

Convention: the receptive field of one position of the *last spatial map* (after the last
block's 2x2 pool with stride 2), the map the head reads, along one side, in input pixels.
With ``r`` the field so far and ``j`` the input-pixel distance between neighbouring
positions (the jump), a layer with kernel ``k`` and stride ``s`` makes ``r += (k - 1) * j``
and ``j *= s``; a k x k convolution is stride 1, a pool k = s = 2. Padding does not change
it, and it is not clipped to the input: 54 px on a 28 px image means the outer positions
also see padding. For kernels (7, 5, 3, 3) and one conv per block this gives 8, 18, 30
and 54 px at depths 1 to 4 (a one-block net: 7x7 conv then 2x2 pool, 7 + 1 = 8).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spaces import SpecError, from_dict

CONV_KINDS = frozenset({"Conv2D"})
POOL_KINDS = frozenset({"MaxPooling2D", "AveragePooling2D"})


def receptive_field(arch: Mapping[str, Any] | None) -> int | None:
    """Receptive field in pixels of one position of the last spatial map of ``arch`` (a
    stored ArchSpec as plain data); None for a family without convolutions or an arch
    that does not rebuild into a spec."""
    if not arch:
        return None
    try:
        plan = from_dict(arch).layer_plan()
    except (SpecError, TypeError, ValueError):
        return None
    field, jump, seen = 1, 1, False
    for layer in plan:
        if layer.kind in CONV_KINDS:
            kernel, stride = layer.config["kernel_size"], layer.config.get("strides", 1)
        elif layer.kind in POOL_KINDS:
            kernel = layer.config["pool_size"]
            stride = layer.config.get("strides") or kernel
        else:
            continue
        seen = True
        field += (kernel - 1) * jump
        jump *= stride
    return field if seen else None
