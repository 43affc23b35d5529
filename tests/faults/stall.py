"""Stop work mid-transaction, from outside, by holding a lock it needs in a second connection.

- ``audit_chain_held``: the audit chain's lock, which an ingest takes after writing its readings.
  While it is held, the ingesting backend has inserted its batch and readings (it holds a
  row-exclusive lock on the readings table) but not committed: the moment to kill it.
- ``locked``: any lock a statement takes (a row ``FOR UPDATE``, a table ``LOCK``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from amiportal.audit.services import _CHAIN_LOCK_ID
from tests.conftest import database_url_for_subprocess, wait_for

_WAITING_ON_THE_CHAIN = """
SELECT pid FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND wait_event = 'advisory'
"""
_WAITING_ON_A_LOCK = """
SELECT pid FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'
"""
_HOLDS_A_WRITE_ON = """
SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
WHERE l.pid = %s AND c.relname = %s AND l.mode = 'RowExclusiveLock' AND l.granted
"""


class HeldLock:
    def __init__(self, connection: psycopg.Connection) -> None:
        self.connection = connection

    def stalled_ingest(self, timeout: float = 60) -> int:
        """The pid of the backend that wrote readings and now waits for the chain lock."""

        def find() -> int | None:
            with self.connection.cursor() as cursor:
                for (pid,) in cursor.execute(_WAITING_ON_THE_CHAIN).fetchall():
                    if cursor.execute(_HOLDS_A_WRITE_ON, [pid, "billing_intervalreading"]).fetchone()[0]:
                        return pid
            return None

        return wait_for(find, timeout=timeout, interval=0.2)

    def terminate(self, pid: int) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])

    def backend_gone(self, pid: int, timeout: float = 30) -> None:
        def gone() -> bool:
            with self.connection.cursor() as cursor:
                return not cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()

        wait_for(gone, timeout=timeout, interval=0.2)


@contextmanager
def audit_chain_held() -> Iterator[HeldLock]:
    """Hold the audit chain lock in a transaction of a second connection; let go on leaving."""
    locker = psycopg.connect(database_url_for_subprocess())
    watcher = psycopg.connect(database_url_for_subprocess(), autocommit=True)
    try:
        locker.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_ID])
        yield HeldLock(watcher)
    finally:
        locker.rollback()
        locker.close()
        watcher.close()


@contextmanager
def locked(statement: str, params: list | None = None) -> Iterator[HeldLock]:
    """Run ``statement`` (which takes a lock) in a transaction of a second connection, held until leaving."""
    locker = psycopg.connect(database_url_for_subprocess())
    watcher = psycopg.connect(database_url_for_subprocess(), autocommit=True)
    try:
        locker.execute(statement, params or [])
        yield HeldLock(watcher)
    finally:
        locker.rollback()
        locker.close()
        watcher.close()


def waiting_backend(lock: HeldLock, timeout: float = 60) -> int:
    """The pid of a backend (not the lock holder's) waiting for a lock."""

    def find() -> int | None:
        with lock.connection.cursor() as cursor:
            row = cursor.execute(_WAITING_ON_A_LOCK).fetchone()
        return row[0] if row else None

    return wait_for(find, timeout=timeout, interval=0.2)


def backend_ended(pid: int, timeout: float = 30) -> None:
    """Wait until the backend ``pid`` has gone (a backend whose client died ends, rolling back, once it next runs)."""
    with psycopg.connect(database_url_for_subprocess(), autocommit=True) as watcher:
        HeldLock(watcher).backend_gone(pid, timeout=timeout)
