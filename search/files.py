"""Writing output files safely: whole files, and never through a symbolic link.

Kept apart so every command that writes a report or an export shares one way of doing it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as one whole file that replaces whatever was there.

    Workers finishing together all export: a reader sees one whole file, never a mix. The
    file is written beside ``path`` and renamed over it, so a symbolic link at ``path`` is
    replaced, not followed: its target is never written. The temporary file is made by
    ``os.open`` with mode 0o666 so the user's umask applies, as for any file they write
    (``tempfile`` makes 0600 files, which ``os.replace`` keeps).
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "w",
                  encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def unlink_if_link(path: Path) -> None:
    """Remove a symbolic link at ``path`` before a library that cannot write atomically
    (kaleido's PNGs) writes there, so the link's target is left alone."""
    if path.is_symlink():
        path.unlink()
