"""Errors a user can fix by changing a command, kept in a module that imports nothing.

The command line catches them to print one line; defining them here lets it do so
without importing the (slow) modules that raise them before they are needed.
"""


class ExportError(Exception):
    """Nothing to export (no completed trial) or the output folder is unusable."""


class ReportError(Exception):
    """Nothing to report (no completed trial) or the output folder is unusable."""


class PresetError(ValueError):
    """A preset is unknown or malformed, or a flag is out of range; one-line message."""
