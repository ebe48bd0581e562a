"""The state directory and the database are the owner's alone: 0700 and 0600.

The database holds every Secret (Git passwords, webhook HMAC keys, kubeconfigs) in plain JSON, as
etcd does; on a shared machine any local user could read a world-readable file. So the state
directory is created (or tightened, when an older version made it 0755) with mode 0700, and the
database with its ``-wal`` and ``-shm`` companions with 0600. SQLite creates the companions with
the database file's own mode, so creating the database 0600 before SQLite opens it is enough; the
explicit ``chmod`` also repairs files an older version left readable.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
COMPANIONS = ("-wal", "-shm", "-journal")


def directory(path: Path) -> Path:
    """Create ``path`` (and its parents) if needed and make it 0700.

    A directory shared with others (sticky, like ``/tmp``) or owned by another user is refused
    (``OSError`` with a sentence): tightening it would break it for them.
    """
    path.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    found = path.stat()
    if found.st_mode & stat.S_ISVTX or found.st_uid != os.getuid():
        raise OSError(f"{path} is shared with other users; give the state a directory of its own")
    os.chmod(path, DIRECTORY_MODE)
    return path


def database(path: Path) -> Path:
    """Make ``path`` and its SQLite companions 0600, creating the database empty when missing."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    os.close(descriptor)
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in COMPANIONS)):
        if candidate.exists():
            os.chmod(candidate, FILE_MODE)
    return path
