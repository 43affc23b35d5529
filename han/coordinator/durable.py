"""A coordinator's durable state: seen command ids, its report numbers and its open permit windows.

One SQLite file per coordinator, ``<key dir>/<name>.state.db``, created 0600 (SQLite
gives its journal the database file's mode), in WAL mode with ``synchronous=NORMAL``. It holds:

- ``seen``: the command ids this coordinator has acted on, with their expiry (the replay
  guard; an expired command is refused by its expiry, so its id is then forgotten);
- ``meta``: ``not_before`` (commands issued before it are refused) and the report
  numbers reserved so far (``ReportSequence``'s block reservation, kept here);
- ``permits``: the permit windows that are open: command id, device EUI-64 and deadline.
  Never the link key: a window still open when the process restarts cannot be re-armed,
  so it is reported ``failed`` at start-up and the head-end can send it again.

Losing the file must not let a captured ``permit_join`` re-admit a device the customer
removed. The key file is the anchor: the first time a coordinator's state is created, its
key file is marked (``state_since``). A later start that finds the key file marked but no
state knows the state was lost, and starts with ``not_before`` = now: every command issued
before that is refused (``rejected``, so the head-end's retry sends a fresh one). A first
start (an unmarked key file) accepts the commands that waited for it on the queue.
docs/han.md, "The coordinator's durable state", has the reasoning.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from han.protocol import CommandRejected, CoordinatorIdentity

logger = logging.getLogger("han.coordinator")

SEQUENCE_BLOCK = 256
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS seen (command_id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS permits (command_id TEXT PRIMARY KEY, eui64 TEXT NOT NULL, deadline REAL NOT NULL);
"""
STATE_MARK = "state_since"


class StateUnusable(RuntimeError):
    """The state file (or the key file it is anchored to) cannot be read; the coordinator must not start."""


@dataclass(frozen=True)
class PendingPermit:
    command_id: str
    eui64: str
    deadline: float  # wall-clock seconds (time.time()): a restart must see how much of the window is left


def state_path(key_dir: Path, name: str) -> Path:
    return key_dir / f"{name}.state.db"


def identity_load_or_create(key_dir: Path, name: str) -> CoordinatorIdentity:
    """The coordinator's key pairs, made on first use; a file that is not a key file of ``name`` is a ``StateUnusable``."""
    path = key_dir / f"{name}.key"
    try:
        return CoordinatorIdentity.load_or_create(path, name)
    except (ValueError, KeyError, TypeError) as exc:
        reason = str(exc) if isinstance(exc, ValueError) and str(exc).startswith(str(path)) else "not a coordinator key file"
        raise StateUnusable(f"{path}: {reason}") from None
    except OSError as exc:
        raise StateUnusable(f"{path}: cannot read the key file ({exc.strerror or exc})") from None


class CoordinatorState:
    """The durable state of one coordinator. Thread-safe; every change is committed before the call returns."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        self._lock = threading.Lock()
        self._next_seq = self._reserved_seq = self._meta("seq_reserved", 1)
        self.not_before = self._meta("not_before", 0)

    # --- opening -----------------------------------------------------------------------

    @classmethod
    def open(cls, key_dir: Path, name: str, *, now: float | None = None) -> CoordinatorState:
        """Open (or create) ``<name>.state.db``; migrate a ``<name>.seen`` / ``<name>.seq`` left by an older coordinator."""
        now = time.time() if now is None else now
        path = state_path(key_dir, name)
        key_file = key_dir / f"{name}.key"
        key_dir.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
        state = cls._connect(path)
        if state._meta("not_before", None) is not None:
            _key_file_mark(key_file, int(now))  # already marked, unless a crash came between the two
            return state
        # A new state, or a file without one (emptied, or cut short while it was made): lost, if the key file says
        # this coordinator had one.
        lost = _key_file_marked(key_file)
        try:
            state._initialise(key_dir, name, not_before=int(now) if lost else 0, now=now)
        except (ValueError, TypeError, AttributeError, OSError) as exc:
            state.close()
            raise StateUnusable(f"{key_dir / name}.seen or .seq: cannot migrate the old replay guard ({exc})") from None
        if lost:
            logger.warning(
                "%s: its durable state was missing (%s); commands issued before now are refused, the head-end sends them again",
                name,
                path,
            )
        _key_file_mark(key_file, int(now))
        for legacy in (key_dir / f"{name}.seen", key_dir / f"{name}.seq"):
            legacy.unlink(missing_ok=True)  # migrated: committed above
        return state

    def _initialise(self, key_dir: Path, name: str, *, not_before: int, now: float) -> None:
        """A new state: its "not before" time, and what an older coordinator's ``.seq`` and ``.seen`` files held."""
        with self._lock, self._db:
            self._set("not_before", not_before)
            self.not_before = not_before
            seq_file = key_dir / f"{name}.seq"
            if seq_file.exists():
                reserved = int(seq_file.read_text(encoding="ascii").strip() or "1")
                self._set("seq_reserved", reserved)
                self._next_seq = self._reserved_seq = reserved
            seen_file = key_dir / f"{name}.seen"
            if seen_file.exists():
                seen = json.loads(seen_file.read_text() or "{}")
                self._db.executemany(
                    "INSERT OR REPLACE INTO seen VALUES (?, ?)", [(str(k), int(v)) for k, v in seen.items() if int(v) >= now]
                )

    @classmethod
    def _connect(cls, path: Path) -> CoordinatorState:
        try:
            connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            # Creating the file (the switch to WAL, the tables) unsynced: ~25 ms instead of ~50 per new premise.
            # A file cut short by a power loss then has no "not before" yet: ``open`` makes it again, as a lost state.
            connection.execute("PRAGMA synchronous=OFF")
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(f"BEGIN;{_SCHEMA}COMMIT;")
            # NORMAL, in WAL mode: every commit is in the file before the command acts, so it survives the
            # process being killed; a power cut may lose the last commits. FULL (an fsync per commit) cost
            # ~4 ms a commit here, three commits per joining device, on the event loop of every premise.
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.isolation_level = ""  # transactions from here on, committed by ``with self._db``
            return cls(connection, path)
        except sqlite3.DatabaseError as exc:
            raise StateUnusable(f"{path}: the coordinator's state file is unreadable ({exc}); it is not removed automatically") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _meta(self, name: str, default: int | None) -> int | None:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else default

    def _set(self, name: str, value: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

    # --- the replay guard (``han.protocol.command_open`` calls it) ----------------------------

    def check_and_remember(self, command_id: str, expires_at: int, now: float, issued_at: int | None = None) -> None:
        if issued_at is not None and issued_at < self.not_before:
            raise CommandRejected("command was issued before this coordinator's state was created (its state was lost); send it again")
        with self._lock, self._db:
            self._db.execute("DELETE FROM seen WHERE expires_at < ?", (int(now),))
            if self._db.execute("SELECT 1 FROM seen WHERE command_id = ?", (command_id,)).fetchone():
                raise CommandRejected(f"command {command_id} was already received (replay)")
            self._db.execute("INSERT INTO seen VALUES (?, ?)", (command_id, int(expires_at)))

    # --- report numbers (``han.protocol.ReportSequence``'s contract) --------------------------

    def next(self) -> int:
        """The next report number; blocks of ``SEQUENCE_BLOCK`` are reserved on disk before any of them is used."""
        with self._lock:
            if self._next_seq >= self._reserved_seq:
                with self._db:
                    self._set("seq_reserved", self._next_seq + SEQUENCE_BLOCK)
                self._reserved_seq = self._next_seq + SEQUENCE_BLOCK
            number = self._next_seq
            self._next_seq += 1
            return number

    # --- permit windows --------------------------------------------------------------------

    def permit_opened(self, *, command_id: str, eui64: str, deadline: float) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO permits VALUES (?, ?, ?)", (command_id, eui64, deadline))

    def permit_closed(self, *, command_id: str) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM permits WHERE command_id = ?", (command_id,))

    def permits_left_open(self, *, now: float) -> list[tuple[str, dict[str, str]]]:
        """Close the windows a previous run left open; for each, the ``failed`` report detail to send.

        Re-arming one would need its link key, which is never kept on disk, so each is reported:
        ``timed_out`` if its deadline has passed, ``gateway_restarted`` if it was still open. The
        head-end fails the device, and its Retry (or sweeper) sends a fresh, sealed ``permit_join``.
        """
        reports = []
        for window in self.permits_pending():
            self.permit_closed(command_id=window.command_id)
            if window.deadline <= now:
                reports.append((window.command_id, {"reason": "timed_out", "eui64": window.eui64}))
            else:
                message = "The gateway restarted while it waited for the device; retry to send the key again."
                reports.append((window.command_id, {"reason": "gateway_restarted", "eui64": window.eui64, "message": message}))
        return reports

    def permits_pending(self) -> list[PendingPermit]:
        with self._lock:
            rows = self._db.execute("SELECT command_id, eui64, deadline FROM permits ORDER BY deadline").fetchall()
        return [PendingPermit(command_id=c, eui64=e, deadline=float(d)) for c, e, d in rows]


def _key_file_marked(key_file: Path) -> bool:
    try:
        return STATE_MARK in json.loads(key_file.read_text(encoding="ascii"))
    except (OSError, ValueError) as exc:
        raise StateUnusable(f"{key_file}: cannot read the key file ({exc})") from None


def _key_file_mark(key_file: Path, since: int) -> None:
    """Record in the key file that this coordinator has durable state (atomically, 0600 like the key itself)."""
    data = json.loads(key_file.read_text(encoding="ascii"))
    if STATE_MARK in data:
        return
    data[STATE_MARK] = since
    tmp = key_file.with_name(key_file.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(key_file)


class PermitWindows(dict):
    """EUI-64 -> command id of the permit_join waiting for that device; opening and closing go to the durable state.

    A plain dict to the code that reads it (``get``, ``pop``, ``del``), so the zigpy event
    handlers that close a window (joined, interviewed, failed, removed) need not know.
    """

    def __init__(self, state: CoordinatorState | None) -> None:
        super().__init__()
        self._state = state

    def open(self, ieee: object, command_id: str, *, deadline: float) -> None:
        previous = super().get(ieee)
        super().__setitem__(ieee, command_id)
        if self._state is not None:
            if previous is not None and previous != command_id:
                self._state.permit_closed(command_id=previous)
            self._state.permit_opened(command_id=command_id, eui64=str(ieee), deadline=deadline)

    def pop(self, ieee: object, *default: object) -> object:
        command_id = super().pop(ieee, *default)
        if command_id is not None and self._state is not None and command_id not in default:
            self._state.permit_closed(command_id=command_id)
        return command_id

    def __delitem__(self, ieee: object) -> None:
        command_id = super().pop(ieee)
        if self._state is not None:
            self._state.permit_closed(command_id=command_id)
