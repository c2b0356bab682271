"""The one exception this package raises for a spec or space the user got wrong."""


class SpecError(ValueError):
    """An architecture spec or search space is invalid; ``str(e)`` is a one-line message."""
