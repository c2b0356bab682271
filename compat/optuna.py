"""Optuna internals this project relies on (checked against Optuna 5.0.0)."""

from __future__ import annotations

import json

import optuna
from optuna.trial import FrozenTrial


def trial_id(trial: optuna.Trial | FrozenTrial) -> int:
    """The storage's id of ``trial``, which every ``BaseStorage`` method takes.

    Optuna 5.0.0 keeps it as ``Trial._trial_id`` and ``FrozenTrial._trial_id``, with no
    public property. The public route, ``storage.get_trial_id_from_study_id_trial_number
    (study_id, trial.number)``, is a database query per trial: the claimer lists every
    trial of a grid before claiming (``storage/claims.py``), so it would cost n queries a
    listing where this costs none.
    """
    return trial._trial_id


def rdb_private_transactions() -> tuple[str, ...]:
    """Private ``RDBStorage`` methods that open their own transaction and that Optuna
    5.0.0 calls from outside the class: ``_CachedStorage`` (every study's storage wraps an
    RDBStorage in it) calls ``_get_trials``, ``fail_stale_trials`` calls
    ``_get_stale_trial_ids``. ``storage.retry`` retries them through an outage as it does
    the public methods; no public method takes their place on these paths.
    """
    return ("_get_trials", "_get_stale_trial_ids")


def rdb_private_reads() -> tuple[str, ...]:
    """Private ``RDBStorage`` methods that only read, called by Optuna 5.0.0 from outside
    the class (``_CachedStorage``: ``_get_trials``, ``_get_best_trial_id``;
    ``fail_stale_trials``: ``_get_stale_trial_ids``). ``storage.sqlite`` begins their
    transactions deferred, so they never wait for a worker's write lock; as with
    :func:`rdb_private_transactions`, Optuna reaches them past the public API.
    """
    return ("_get_trials", "_get_best_trial_id", "_get_stale_trial_ids")


def artifact_links(trial: FrozenTrial) -> dict[str, str]:
    """The artifacts uploaded to ``trial``, as {file name: artifact id}.

    ``optuna.artifacts.upload_artifact`` links an artifact by a trial system attr
    ``"artifacts:" + id`` holding the ``ArtifactMeta`` as JSON (Optuna 5.0.0,
    ``optuna.artifacts._upload.ARTIFACTS_ATTR_PREFIX``). The public reader,
    ``get_all_artifact_meta``, asks the storage again for every trial; the readers of a
    whole study (``storage.records.to_record``) already hold each trial's system attrs, so
    they read the links from there. A later upload of the same file name wins.
    """
    from optuna.artifacts._upload import ARTIFACTS_ATTR_PREFIX

    links = {}
    for key, value in trial.system_attrs.items():
        if key.startswith(ARTIFACTS_ATTR_PREFIX):
            meta = json.loads(value)
            links[meta["filename"]] = meta["artifact_id"]
    return links
