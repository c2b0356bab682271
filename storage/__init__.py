"""Where studies live: storage URLs, exactly-once grid cells, and trials as plain records.

No Keras here, and nothing from ``spaces``: this package only speaks Optuna.
"""

from storage.backends import open_storage
from storage.claims import Claimer, Unit, queue_missing
from storage.errors import ReadOnlyStorageError, StorageError, StorageURLError
from storage.filesystems import network_filesystem_warning
from storage.masking import mask_url
from storage.records import TrialRecord, trial_records
from storage.urls import default_url

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
