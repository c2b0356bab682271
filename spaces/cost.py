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
    """``params`` counts every weight (trainable or not), as Keras' ``count_params``;
    ``activations`` the values every layer outputs for one example, which training keeps
    for the backward pass (an estimate of its memory: 4 bytes each in float32, times the
    batch size; TensorFlow may keep fewer by fusing layers, or more for its gradients)."""

    params: int
    flops: int
    activations: int = 0

    def activation_bytes(self, batch_size: int) -> int:
        """Estimated memory of one training batch's activations (float32)."""
        return 4 * self.activations * batch_size


def human(n: float) -> str:
    """Short human form of a count, e.g. 1.2M, 350k."""
    if n <= 0:
        return "0"
    exp = min(int(math.log10(n) // 3), 4)
    suffix = ["", "k", "M", "G", "T"][exp]
    value = n / 1000**exp
    return f"{value:.0f}{suffix}" if value >= 100 or exp == 0 else f"{value:.1f}{suffix}"
