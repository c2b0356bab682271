"""Ctrl-C and SIGTERM that cannot be lost while a study runs.

Python's own handler raises KeyboardInterrupt in whatever the main thread runs next, and an
exception raised inside a weakref callback or a ``__del__`` (TensorFlow runs many) is
printed and dropped, so the worker would carry on. Here the first signal only sets a flag,
which the training loop checks after every batch (``search.train.StopOnSignal``) and the
worker loop between trials,
raising KeyboardInterrupt from a place that propagates; a second signal raises at once,
except inside :func:`shielded` (a storage write: a trial's result, a claim), where it is
raised when the write has finished, so no write is cut in half. Every write method of
a storage the CLI opens runs shielded (:func:`shield_writes`).

Commands that do not train (``export``, ``report``, ``dashboard``, ...) stop at the first
signal (``install(immediate=True)``), but never inside a shielded block either: an export
writes both of its files or neither.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

# Signal handlers run in the main thread, between its bytecodes: plain module state is
# enough, and it must stay lock-free. A handler can run inside code that holds a lock (a
# threading.Event's set or wait, or a first handler's): taking that lock again from the
# handler would deadlock the worker on a quick second Ctrl-C (found by
# tests/search/test_interrupt.py), so "stop" is a plain flag and sleep() polls it.
_shield = {"depth": 0, "pending": False, "immediate": False, "stop": False}
_POLL_SECONDS = 0.05  # how soon sleep() notices a stop request
# The storage methods that write (BaseStorage's, and the RDB heartbeat's).
WRITES = ("create_new_study", "delete_study", "set_study_user_attr", "set_study_system_attr",
          "create_new_trial", "set_trial_param", "set_trial_state_values",
          "set_trial_intermediate_value", "set_trial_user_attr", "set_trial_system_attr",
          "record_heartbeat")


def _handle(signum: int, frame: Any) -> None:
    asked_before, _shield["stop"] = _shield["stop"], True
    if asked_before or _shield["immediate"]:
        if _shield["depth"]:
            _shield["pending"] = True  # raised when the write in progress has finished
            return
        raise KeyboardInterrupt  # asked twice (or a command that stops at once): stop now


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


def install(immediate: bool = False) -> None:
    """Route SIGINT and SIGTERM (docker stop, kubectl delete) through the flag; with
    ``immediate``, the first signal already raises (outside a shielded block).

    SIGTERM needs a handler also where stopping at once is wanted: as a container's
    process 1 the default action of SIGTERM is to ignore it."""
    _shield["immediate"] = immediate
    signal.signal(signal.SIGINT, _handle)
    signal.signal(signal.SIGTERM, _handle)


def stopped() -> bool:
    """Whether a stop was requested."""
    return _shield["stop"]


def _shielding(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return method(*args, **kwargs)  # signals reach the main thread only
        with shielded():
            return method(*args, **kwargs)

    wrapper.shielding = True  # type: ignore[attr-defined]
    return wrapper


def shield_writes(storage: Any) -> Any:
    """Make every write method of this storage object run shielded; returns it.

    A signal during a write is raised when the write has returned, so a commit (a journal
    line, a database transaction) is never cut. Only the instance is changed: Optuna calls
    the methods through it."""
    for name in WRITES:
        method = getattr(storage, name, None)
        if method is not None and not getattr(method, "shielding", False):
            setattr(storage, name, _shielding(method))
    return storage


def check() -> None:
    """Raise KeyboardInterrupt if a stop was requested, even if its first raise was lost."""
    if _shield["stop"]:
        raise KeyboardInterrupt


def sleep(seconds: float) -> None:
    """Wait up to ``seconds``, ending at once (with KeyboardInterrupt) on a stop request.

    Only the main thread stops: in another (a heartbeat retrying a database call) this is
    a plain sleep, as an exception there would end the thread, not the worker."""
    if threading.current_thread() is not threading.main_thread():
        time.sleep(seconds)
        return
    end = time.monotonic() + seconds
    while not _shield["stop"] and (left := end - time.monotonic()) > 0:
        time.sleep(min(left, _POLL_SECONDS))
    check()
