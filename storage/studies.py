"""Create or join a study, refusing one that measures something else.

The settings that define what a study measures are stored with it (user attr
``identity``); a worker that brings other settings gets a one-line error, because mixing
trials trained differently would corrupt every mean and confidence interval.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import unicodedata
from typing import Any

import optuna

from storage.errors import StorageError
from storage.records import VAL_ACCURACY

IDENTITY = "identity"
QUEUED = "queued"
JOIN_WAIT_SECONDS = 60.0
POLL_SECONDS = 0.5


MAX_NAME_LENGTH = 128  # far below every storage's limit (Optuna's RDB column: 512)
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class StudyNameError(ValueError):
    """A study name that cannot be stored or shown on one line; one-line message."""


def check_study_name(name: str) -> str:
    """The name in Unicode's composed form (NFC), refused, before anything runs, when it
    is empty, too long, not one line or starts with '-' (it would read as an option).

    NFC: a name typed on one system as 'é' (one code point) and on another as 'e' plus a
    combining accent (macOS file names, some input methods) names the same study."""
    if not name.strip():
        raise StudyNameError("study name must not be empty")
    if name.startswith("-"):
        raise StudyNameError(f"study name {name!r} starts with '-', which reads as an option")
    if len(name) > MAX_NAME_LENGTH:
        raise StudyNameError(f"study name is {len(name)} characters long; at most "
                             f"{MAX_NAME_LENGTH}")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # bytes the terminal's encoding could not decode
        raise StudyNameError(f"study name {name!r} is not valid UTF-8") from None
    if not name.isprintable():
        raise StudyNameError(f"study name {name!r} holds a control character (newline, tab…)")
    name = unicodedata.normalize("NFC", name)
    if len(name) > MAX_NAME_LENGTH:  # NFC lengthens a few characters (U+0344: 2)
        raise StudyNameError(f"study name is {len(name)} characters long; at most "
                             f"{MAX_NAME_LENGTH}")
    return name


def folder_name(name: str) -> str:
    """The study's output folder under ``--out``: the name itself when it is a plain file
    name, else a slug plus a short hash of the exact name, so no name can leave ``--out``
    (``..``, ``a/b``) and two names never share a folder (``x y`` and ``x/y``)."""
    if _SAFE_NAME.fullmatch(name):
        return name
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "study"
    return f"{slug[:64]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, default=str)


def open_study(
    storage: optuna.storages.BaseStorage,
    name: str,
    identity: dict[str, Any],
    *,
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
    direction: str = "maximize",
) -> tuple[optuna.Study, bool]:
    """Return the study and whether this call created it."""
    try:
        study = optuna.create_study(storage=storage, study_name=name, direction=direction,
                                    sampler=sampler, pruner=pruner)
        # The dashboard and Optuna's plots then say what the objective is.
        study.set_metric_names([VAL_ACCURACY])
        study.set_user_attr(IDENTITY, _canonical(identity))
        return study, True
    except optuna.exceptions.DuplicatedStudyError:
        pass
    study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    directions = [d.name.lower() for d in study.directions]
    if directions != [direction]:
        raise StorageError(f"study {name!r} exists with direction(s) {', '.join(directions)}, "
                           f"not {direction}: use another --study-name")
    stored = _wait_for(study, IDENTITY, JOIN_WAIT_SECONDS)
    if stored is None and not study.get_trials(deepcopy=False):
        # Its creator died between creating it and describing it: adopt the empty study.
        study.set_user_attr(IDENTITY, _canonical(identity))
        return study, True
    if stored is None:
        raise StorageError(f"study {name!r} exists but was not made by search.study: "
                           "use another --study-name")
    if stored != _canonical(identity):
        where, was, now = _first_difference(json.loads(stored), json.loads(_canonical(identity)))
        if was is _ABSENT or now is _ABSENT:
            # Settings gain fields as the project grows (e.g. train.stop on 2026-11-28): a
            # study made by another version can be read, but resuming it would mix rules.
            raise StorageError(
                f"study {name!r} was made by another version of search.study (its settings "
                f"{'lack' if was is _ABSENT else 'have'} {where}): read it with show, report "
                "or export, and run with another --study-name")
        raise StorageError(f"study {name!r} exists with other settings ({where}: stored "
                           f"{was!r}, now {now!r}): use another --study-name, or the same "
                           "settings to resume")
    return study, False


def _wait_for(study: optuna.Study, attr: str, seconds: float) -> Any:
    """A study attribute another worker is about to write (its creator)."""
    deadline = time.monotonic() + seconds
    while True:
        value = study.user_attrs.get(attr)
        if value is not None or time.monotonic() >= deadline:
            return value
        time.sleep(POLL_SECONDS)


def wait_until_queued(study: optuna.Study) -> None:
    """Let the creating worker finish filling the queue before a joiner repairs it."""
    _wait_for(study, QUEUED, JOIN_WAIT_SECONDS)


def mark_queued(study: optuna.Study) -> None:
    study.set_user_attr(QUEUED, True)


_ABSENT = object()  # a setting one side does not have at all (not even as null)


def _first_difference(old: Any, new: Any, path: str = "") -> tuple[str, Any, Any]:
    """Where two settings first differ, and the stored and the new value there."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            was, now = old.get(key, _ABSENT), new.get(key, _ABSENT)
            if was != now:
                return _first_difference(was, now, f"{path}.{key}".strip("."))
    return path or "settings", old, new


def find_study(storage: optuna.storages.BaseStorage, name: str) -> optuna.Study:
    """Load an existing study of this project for reading, or fail with one line: a missing
    name (with the names that exist), or a study another tool made (no identity, or more
    than one objective), whose trials hold none of the records the readers need."""
    summaries = {s.study_name: s for s in
                 optuna.get_all_study_summaries(storage, include_best_trial=False)}
    if name not in summaries:
        known = ", ".join(map(repr, summaries)) if summaries else "none"
        raise StorageError(f"no study named {name!r} in this storage (studies: {known})")
    summary = summaries[name]
    if len(summary.directions) != 1:
        raise StorageError(f"study {name!r} has {len(summary.directions)} objectives: it was "
                           "not made by search.study, which reads single-objective studies")
    if IDENTITY not in summary.user_attrs:
        raise StorageError(f"study {name!r} was not made by search.study (it has no "
                           f"{IDENTITY!r} attr), so it holds no records to read")
    return optuna.load_study(study_name=name, storage=storage)
