"""Secrets for the development and test profiles only.

On a developer's machine nobody should have to invent keys before ``make run``,
so each missing secret is generated once into ``var/dev-secrets/`` (mode 0600)
and reused afterwards. The production profile never calls this: there a
missing secret is a start-up error.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path


def dev_secret(directory: Path, name: str, nbytes: int = 32) -> str:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / name
    try:
        # O_EXCL makes the first process to arrive the one that writes, so
        # processes started together (web, worker, beat) agree on one value.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii"))
    for _ in range(50):
        value = path.read_text(encoding="ascii").strip()
        if value:
            return value
        # Another process created the file and has not written it yet.
        import time

        time.sleep(0.01)
    raise RuntimeError(f"{path} stayed empty")
