"""Decide which real services the test run uses, then run the given command.

Where PostgreSQL and Redis listen on localhost (as in CI), the suite uses
them: PostgreSQL as the test database, Redis as the Celery broker for the
integration tests. Elsewhere those tests skip and say why. With CI=true a
missing service fails the run before any test starts: CI never skips.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys

POSTGRES = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)
CHROMIUM = "/usr/bin/chromium"


def listening(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=1):
            return True
    except OSError:
        return False


def main(argv: list[str]) -> int:
    if "--" not in argv:
        print("usage: test_services.py -- COMMAND...", file=sys.stderr)
        return 2
    command = argv[argv.index("--") + 1 :]
    in_ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    env = os.environ.copy()
    env["AMI_PROFILE"] = "test"
    missing = []

    if "DATABASE_URL" not in env:
        if listening(POSTGRES):
            env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/amiportal"
        else:
            missing.append("PostgreSQL on 127.0.0.1:5432")
    if "AMI_TEST_REDIS_URL" not in env:
        if listening(REDIS):
            env["AMI_TEST_REDIS_URL"] = "redis://127.0.0.1:6379/15"
        else:
            missing.append("Redis on 127.0.0.1:6379")
    if "AMI_TEST_CHROMIUM" not in env:
        found = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else None)
        if found:
            env["AMI_TEST_CHROMIUM"] = found
        else:
            missing.append("Debian's chromium (apt-get install chromium)")

    if missing and in_ci:
        print("CI=true but these services are missing: " + "; ".join(missing), file=sys.stderr)
        return 3
    for item in missing:
        print(f"note: {item} not found; tests that need it will be skipped", file=sys.stderr)
    print(f"test database: {env.get('DATABASE_URL', 'SQLite (embedded)')}", file=sys.stderr)
    env["AMI_TEST_REQUIRE_SERVICES"] = "1" if in_ci else "0"
    os.execvpe(command[0], command, env)  # noqa: S606 (exec of the given test command, no shell)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
