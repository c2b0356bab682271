"""TensorFlow internals and quirks this project relies on (checked against TensorFlow 2.21.0).

Importing this module imports no TensorFlow: each function imports what it needs.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from types import ModuleType
from typing import IO, Any


def gradient_registry() -> dict[str, Any]:
    """TensorFlow's process-wide registry of gradient functions: name -> {"type": fn, ...}.

    Every trace of Keras' train step registers a ``CustomGradient-N`` entry there whose
    closure pins the traced graph (about 6 MB a trial) and never removes it
    (tensorflow#97697, fixed upstream after 2.21). TensorFlow 2.21.0 offers no public way
    to remove an entry, so ``search/train.py`` edits this dict, read from
    ``tensorflow.python.framework.ops._gradient_registry._registry``.
    """
    from tensorflow.python.framework import ops

    return ops._gradient_registry._registry


def import_quietly() -> ModuleType:
    """``tensorflow``, imported without the lines its C++ libraries write to stderr.

    Importing TensorFlow 2.21.0 on a CPU writes absl's "All log messages before
    absl::InitializeLog() is called are written to STDERR" and oneDNN's notice, twice,
    whatever ``TF_CPP_MIN_LOG_LEVEL`` says (tensorflow#100442). A command refusing bad input
    must print one line, so what the import writes is kept aside, and shown only when the
    import fails, where it may say why.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with tempfile.TemporaryFile() as captured:
        try:
            with _stderr_into(captured):
                import tensorflow
        except BaseException:
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
    return tensorflow


@contextlib.contextmanager
def _stderr_into(file: IO[bytes]) -> Iterator[None]:
    """File descriptor 2, where C and C++ libraries log, written into ``file`` meanwhile."""
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(file.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
