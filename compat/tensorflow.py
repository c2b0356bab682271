"""TensorFlow internals this project relies on (checked against TensorFlow 2.21.0)."""

from __future__ import annotations

from typing import Any

from tensorflow.python.framework import ops


def gradient_registry() -> dict[str, Any]:
    """TensorFlow's process-wide registry of gradient functions: name -> {"type": fn, ...}.

    Every trace of Keras' train step registers a ``CustomGradient-N`` entry there whose
    closure pins the traced graph (about 6 MB a trial) and never removes it
    (tensorflow#97697, fixed upstream after 2.21). TensorFlow 2.21.0 offers no public way
    to remove an entry, so ``search/train.py`` edits this dict, read from
    ``tensorflow.python.framework.ops._gradient_registry._registry``.
    """
    return ops._gradient_registry._registry
