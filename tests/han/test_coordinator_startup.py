"""A coordinator that cannot start says why in one line and exits non-zero: no traceback, no hang.

Each case runs the real ``manage.py han_coordinator`` as a subprocess with a timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"AMI_PROFILE": "test", "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "manage.py", "han_coordinator", "--name", "gw-broken", "--key-dir", str(tmp_path / "keys"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # a hang fails the test here
    )


def _keys(tmp_path: Path) -> Path:
    keys = tmp_path / "keys"
    keys.mkdir()
    return keys


@pytest.mark.parametrize(
    ("case", "args", "expected"),
    [
        ("missing_serial_port", ("--radio", "ezsp", "--device", "/dev/ttyAMI-none"), "No such file or directory: '/dev/ttyAMI-none'"),
        ("real_radio_without_port", ("--radio", "znp"), "needs its serial port"),
        ("unknown_radio", ("--radio", "zigbee-9000"), "Unknown radio type 'zigbee-9000'"),
        ("corrupt_radio_file", (), "the simulated radio's saved network is unreadable"),
        ("corrupt_key_file", (), "not a coordinator key file"),
        ("corrupt_state_file", (), "the coordinator's state file is unreadable"),
        ("corrupt_devices_file", ("--simulated-devices", "{devices}"), "not a list of simulated devices"),
    ],
)
def test_a_coordinator_that_cannot_start_exits_non_zero_with_one_clear_line(tmp_path, case, args, expected):
    keys = _keys(tmp_path)
    if case == "corrupt_radio_file":
        (keys / "gw-broken.radio.json").write_text("{not json")
    elif case == "corrupt_key_file":
        (keys / "gw-broken.key").write_text("garbage")
    elif case == "corrupt_state_file":
        (keys / "gw-broken.state.db").write_bytes(b"this is not an SQLite database" * 10)
    elif case == "corrupt_devices_file":
        (tmp_path / "devices.json").write_text('[{"eui64": "00:0d:6f:00:00:00:00:01", "install_code": "not hex"}]')
    args = tuple(arg.format(devices=tmp_path / "devices.json") for arg in args)

    result = _run(tmp_path, *args)

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert expected in lines[0]
