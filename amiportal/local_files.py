"""Files the portal keeps on its own disk (``AMI_VAR_DIR``) are private to its user (SO-U1; issue 10, finding 14).

``var/`` holds the development SQLite database, generated development secrets, the
filesystem broker's messages and the file cache: customer data and keys. The directory is
created 0700 and the SQLite file 0600 before SQLite first opens it (SQLite gives its WAL
and shared-memory files the database file's mode). Outside production, a ``var/`` or
database left readable by an older version is tightened at start-up; in production the
operator owns the directory's mode, and only a missing one is created private.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600


def _tighten(path: Path, mode: int) -> None:
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(mode)


def private_directory(path: Path, *, tighten_existing: bool) -> Path:
    path.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    if tighten_existing:
        _tighten(path, PRIVATE_DIRECTORY)
    return path


def private_sqlite_file(path: Path, *, tighten_existing: bool) -> Path:
    """Create the database file 0600 if it is missing (an empty file is an empty SQLite database)."""
    if not path.parent.is_dir():
        return path  # SQLite will name the missing directory itself
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        if tighten_existing:
            _tighten(path, PRIVATE_FILE)
    return path
