"""The storage errors: each ``str(e)`` is a one-line message for the user."""


class StorageError(Exception):
    """A storage's server or file cannot be used; ``str(e)`` is a one-line message."""


class StorageURLError(StorageError):
    """The storage URL itself is wrong (a usage error)."""


class ReadOnlyStorageError(StorageError):
    """A write to a store opened read-only (e.g. ``sqlite:///file:PATH?mode=ro&uri=true``)."""


class ArtifactError(StorageError):
    """A kept model's file is missing, unreadable, or its folder cannot be written."""
