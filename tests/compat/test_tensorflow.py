"""compat.tensorflow against the installed TensorFlow: the gradient registry still pins
what ``tf.custom_gradient`` registers, and dropping an entry still works."""

import pytest
import tensorflow as tf

from compat.tensorflow import gradient_registry

CHECKED = "2.21.0"  # the version compat/tensorflow.py was checked against


def changed(what: str) -> str:
    return (f"tensorflow {tf.__version__} (compat/tensorflow.py checked against {CHECKED}): "
            f"{what}; update compat/tensorflow.py and search/train.py")


def test_a_traced_custom_gradient_is_registered_and_can_be_dropped():
    try:
        registry = gradient_registry()
    except AttributeError as exc:
        pytest.fail(changed(f"the gradient registry moved ({exc})"))
    assert isinstance(registry, dict), changed("the registry is no longer a dict")
    before = set(registry)

    @tf.custom_gradient
    def double(x):
        return 2 * x, lambda dy: 2 * dy

    tf.function(double).get_concrete_function(tf.TensorSpec([], tf.float32))
    added = {name for name in set(registry) - before if name.startswith("CustomGradient-")}
    assert added, changed("tracing a tf.custom_gradient registers no CustomGradient- entry")
    for name in added:
        registry.pop(name)
    assert set(gradient_registry()) == before
