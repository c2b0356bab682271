"""Size and compute of an architecture: parameters and forward FLOPs per example.

Keras reports parameters but not FLOPs, and TensorFlow's profiler counts graph ops
(including activations and pools) in ways that shift between versions; the scaling fits
need a stable, documented convention: FLOPs = 2 x multiply-adds of the convolution and
dense layers, per example, forward pass only. Each layer's share is computed with its plan
(:mod:`spaces.plan`), so no model has to be built to know it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Cost:
    """``params`` counts every weight (trainable or not), as Keras' ``count_params``."""

    params: int
    flops: int


def human(n: float) -> str:
    """Short human form of a count, e.g. 1.2M, 350k."""
    if n <= 0:
        return "0"
    exp = min(int(math.log10(n) // 3), 4)
    suffix = ["", "k", "M", "G", "T"][exp]
    value = n / 1000**exp
    return f"{value:.0f}{suffix}" if value >= 100 or exp == 0 else f"{value:.1f}{suffix}"
