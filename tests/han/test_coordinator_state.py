"""The coordinator's durable state file: private, migrated from the old files, and anchored to the key file (SO-C13)."""

from __future__ import annotations

import json
import os
import time

import pytest

from han.coordinator.durable import CoordinatorState, PermitWindows, StateUnusable, identity_load_or_create
from han.protocol import CommandRejected, CoordinatorIdentity


@pytest.fixture
def keys(tmp_path):
    CoordinatorIdentity.generate("gw-one").save(tmp_path / "gw-one.key")
    return tmp_path


def test_the_state_file_is_private_and_keeps_seen_ids_numbers_and_windows_across_a_restart(keys):
    state = CoordinatorState.open(keys, "gw-one")
    now = time.time()
    state.check_and_remember("c-1", int(now) + 600, now, issued_at=int(now))
    numbers = [state.next(), state.next()]
    state.permit_opened(command_id="c-1", eui64="00:0d:6f:00:00:00:00:01", deadline=now + 60)
    files = sorted(keys.glob("gw-one.state.db*"))
    assert [f.name for f in files] == ["gw-one.state.db", "gw-one.state.db-shm", "gw-one.state.db-wal"]
    assert {os.stat(f).st_mode & 0o777 for f in files} == {0o600}  # SQLite gives its journal the file's mode
    state.close()

    again = CoordinatorState.open(keys, "gw-one")
    with pytest.raises(CommandRejected, match="replay"):
        again.check_and_remember("c-1", int(now) + 600, now, issued_at=int(now))
    assert again.next() > max(numbers)
    assert [w.command_id for w in again.permits_pending()] == ["c-1"]
    assert again.not_before == 0  # a first start: the commands that waited for it are its own


def test_an_old_seen_file_and_sequence_file_are_migrated_then_removed(keys):
    now = time.time()
    (keys / "gw-one.seen").write_text(json.dumps({"old-live": int(now) + 600, "old-expired": int(now) - 5}))
    (keys / "gw-one.seq").write_text("5000")
    state = CoordinatorState.open(keys, "gw-one")
    with pytest.raises(CommandRejected, match="replay"):
        state.check_and_remember("old-live", int(now) + 600, now)
    assert state.next() == 5000
    assert not (keys / "gw-one.seen").exists() and not (keys / "gw-one.seq").exists()


@pytest.mark.objective("SO-C13")
def test_a_lost_state_file_refuses_every_command_issued_before_it_was_made_again(keys):
    now = time.time()
    CoordinatorState.open(keys, "gw-one", now=now - 100).close()
    for path in keys.glob("gw-one.state.db*"):
        path.unlink()
    state = CoordinatorState.open(keys, "gw-one", now=now)
    assert state.not_before == int(now)
    with pytest.raises(CommandRejected, match="issued before this coordinator's state was created"):
        state.check_and_remember("captured", int(now) + 300, now, issued_at=int(now) - 30)
    state.check_and_remember("fresh", int(now) + 300, now, issued_at=int(now))


def test_an_emptied_state_file_counts_as_lost(keys):
    now = time.time()
    CoordinatorState.open(keys, "gw-one", now=now - 100).close()
    for path in keys.glob("gw-one.state.db*"):
        path.write_bytes(b"")
    state = CoordinatorState.open(keys, "gw-one", now=now)
    assert state.not_before == int(now)


def test_windows_left_open_by_a_previous_run_are_closed_and_reported_failed(keys):
    now = time.time()
    state = CoordinatorState.open(keys, "gw-one")
    state.permit_opened(command_id="expired", eui64="00:0d:6f:00:00:00:00:01", deadline=now - 5)
    state.permit_opened(command_id="open", eui64="00:0d:6f:00:00:00:00:02", deadline=now + 30)
    reports = dict(state.permits_left_open(now=now))
    assert reports["expired"] == {"reason": "timed_out", "eui64": "00:0d:6f:00:00:00:00:01"}
    assert reports["open"]["reason"] == "gateway_restarted" and "retry" in reports["open"]["message"]
    assert state.permits_pending() == [] and state.permits_left_open(now=now) == []


def test_permit_windows_close_in_the_state_when_the_device_joins_or_is_removed(keys):
    state = CoordinatorState.open(keys, "gw-one")
    windows = PermitWindows(state)
    windows.open("a", "c-a", deadline=time.time() + 60)
    windows.open("b", "c-b", deadline=time.time() + 60)
    assert windows.pop("a", None) == "c-a"
    assert windows.pop("nobody", None) is None
    del windows["b"]
    assert state.permits_pending() == []


def test_a_key_file_of_another_coordinator_or_garbage_is_refused_with_its_path(tmp_path):
    CoordinatorIdentity.generate("gw-two").save(tmp_path / "gw-one.key")
    with pytest.raises(StateUnusable, match="holds the keys of coordinator 'gw-two'"):
        identity_load_or_create(tmp_path, "gw-one")
    (tmp_path / "gw-three.key").write_text("{}")
    with pytest.raises(StateUnusable, match="not a coordinator key file"):
        identity_load_or_create(tmp_path, "gw-three")
