"""The one exception this package raises for a spec or space the user got wrong."""


class SpecError(ValueError):
    """An architecture spec or search space is invalid; ``str(e)`` is a one-line message."""


class SizeError(SpecError):
    """An architecture too large to build or train (a width of 10^6, 10^300 parameters)."""
