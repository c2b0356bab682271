"""Where studies live: storage URLs, exactly-once grid cells, and trials as plain records.

No Keras here, and nothing from ``spaces``: this package only speaks Optuna.
"""

from storage.backends import (
    ReadOnlyStorageError,
    StorageError,
    StorageURLError,
    default_url,
    mask_url,
    network_filesystem_warning,
    open_storage,
)
from storage.claims import Claimer, Unit, queue_missing
from storage.records import TrialRecord, trial_records

__all__ = [
    "Claimer",
    "ReadOnlyStorageError",
    "StorageError",
    "StorageURLError",
    "TrialRecord",
    "Unit",
    "default_url",
    "mask_url",
    "network_filesystem_warning",
    "open_storage",
    "queue_missing",
    "trial_records",
]
