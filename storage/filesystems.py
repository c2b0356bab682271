"""Whether a file storage sits on a network file system, where file locks are unsafe."""

from __future__ import annotations

from pathlib import Path

from storage.urls import file_of

NETWORK_FILESYSTEMS = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "9p", "glusterfs",
                       "ceph", "lustre", "gpfs", "beegfs")


def network_filesystem_warning(url: str) -> str | None:
    """A warning when a file storage sits on a network file system, where locks are unsafe."""
    path = file_of(url)
    if path is None:
        return None
    fstype = _filesystem_type(path.resolve())
    if fstype not in NETWORK_FILESYSTEMS:
        return None
    return (f"warning: {path} is on a network file system ({fstype}), where file locks are "
            "unreliable with several workers: use a postgresql:// storage for them")


def _filesystem_type(path: Path) -> str | None:
    """The type of the mount holding ``path`` (Linux /proc/mounts; None elsewhere)."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    best, kind = "", None
    for line in mounts:
        parts = line.split()
        if len(parts) >= 3 and str(path).startswith(parts[1]) and len(parts[1]) > len(best):
            best, kind = parts[1], parts[2]
    return kind
