"""The development database, secrets and broker files are private to the portal's user (SO-U1; issue 10, finding 14)."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.objective("SO-U1")

# Writes a table, so SQLite creates its WAL and shared-memory files next to the database.
TOUCH_DATABASE = "from django.db import connection; connection.cursor().execute('CREATE TABLE IF NOT EXISTS probe (x integer)')"


def start_development(var_dir: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AMI_", "DATABASE_URL", "SECRET_KEY", "CELERY_", "CACHE_URL"))}
    environment.update({"AMI_PROFILE": "development", "AMI_VAR_DIR": str(var_dir)})
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", TOUCH_DATABASE],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),  # the usual umask: files 0644 unless the code says otherwise
    )
    assert result.returncode == 0, result.stderr


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_var_directory_and_database_are_owner_only(tmp_path):
    var_dir = tmp_path / "var"
    start_development(var_dir)
    assert mode(var_dir) == 0o700
    database = var_dir / "amiportal.sqlite3"
    assert mode(database) == 0o600
    for sidecar in ("amiportal.sqlite3-wal", "amiportal.sqlite3-shm"):
        if (var_dir / sidecar).exists():
            assert mode(var_dir / sidecar) == 0o600, sidecar
    assert mode(var_dir / "dev-secrets") == 0o700
    assert {mode(secret) for secret in (var_dir / "dev-secrets").iterdir()} == {0o600}


def test_a_world_readable_database_left_by_an_older_version_is_tightened(tmp_path):
    var_dir = tmp_path / "var"
    var_dir.mkdir(mode=0o755)
    var_dir.chmod(0o755)
    database = var_dir / "amiportal.sqlite3"
    database.touch()
    database.chmod(0o644)
    start_development(var_dir)
    assert mode(var_dir) == 0o700
    assert mode(database) == 0o600
