"""Ctrl-C and SIGTERM that cannot be lost while a study runs.

Python's own handler raises KeyboardInterrupt in whatever the main thread runs next, and an
exception raised inside a weakref callback or a ``__del__`` (TensorFlow runs many) is
printed and dropped, so the worker would carry on. Here the first signal only sets a flag,
which the training loop checks after every batch (``search.train.StopOnSignal``) and the
worker loop between trials,
raising KeyboardInterrupt from a place that propagates; a second signal raises at once,
except inside :func:`shielded` (a storage write: a trial's result, a claim), where it is
raised when the write has finished, so no write is cut in half.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

_STOP = threading.Event()
# Signal handlers run in the main thread, between its bytecodes: plain module state is enough.
_shield = {"depth": 0, "pending": False}


def _handle(signum: int, frame: Any) -> None:
    if _STOP.is_set():
        if _shield["depth"]:
            _shield["pending"] = True  # raised when the write in progress has finished
            return
        raise KeyboardInterrupt  # asked twice: stop now
    _STOP.set()


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """A block that a second Ctrl-C or SIGTERM does not cut: it is raised at its end."""
    _shield["depth"] += 1
    try:
        yield
    finally:
        _shield["depth"] -= 1
        if not _shield["depth"] and _shield["pending"]:
            _shield["pending"] = False
            raise KeyboardInterrupt


def install() -> None:
    """Route SIGINT and SIGTERM (docker stop, kubectl delete) through the flag."""
    signal.signal(signal.SIGINT, _handle)
    signal.signal(signal.SIGTERM, _handle)


def check() -> None:
    """Raise KeyboardInterrupt if a stop was requested, even if its first raise was lost."""
    if _STOP.is_set():
        raise KeyboardInterrupt


def sleep(seconds: float) -> None:
    """Wait up to ``seconds``, ending at once (with KeyboardInterrupt) on a stop request.

    Only the main thread stops: in another (a heartbeat retrying a database call) this is
    a plain sleep, as an exception there would end the thread, not the worker."""
    if threading.current_thread() is not threading.main_thread():
        time.sleep(seconds)
        return
    _STOP.wait(seconds)
    check()
