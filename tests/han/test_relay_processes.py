"""The relay with real processes: Redis broker, a Celery worker and the coordinator (BF-HAN-1, SO-C14, SO-U5).

The test database is shared with the subprocesses, so these tests commit.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from amiportal.celery import app as celery_app
from han.install_codes import install_code_parse
from han.models import CoordinatorCommand, Device, DeviceState, DeviceType, JobState
from han.protocol import CoordinatorIdentity
from han.services.commissioning import device_commission
from han.services.keys import network_key_open
from han.services.networks import coordinator_register, han_network_create
from tests.conftest import database_url_for_subprocess, wait_for
from tests.han.conftest import install_code_for, random_eui64

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def _drop_broker_pools():
    # Earlier tests may have pooled a connection to the filesystem broker; start afresh.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def redis_url(monkeypatch):
    url = os.environ["AMI_TEST_REDIS_URL"]
    redis.Redis.from_url(url).flushdb()
    monkeypatch.setattr(celery_app.conf, "broker_url", url)
    monkeypatch.setattr(celery_app.conf, "broker_transport_options", {})
    _drop_broker_pools()
    yield url
    _drop_broker_pools()
    redis.Redis.from_url(url).flushdb()


class Processes:
    def __init__(self, tmp_path: Path, redis_url: str) -> None:
        self.tmp_path = tmp_path
        self.env = os.environ | {
            "AMI_PROFILE": "test",
            "DATABASE_URL": database_url_for_subprocess(),
            "CELERY_BROKER_URL": redis_url,
            "PYTHONUNBUFFERED": "1",
        }
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """``env`` replaces the environment (a gateway's); by default the head-end's test environment."""
        log = open(self.tmp_path / f"{name}.log", "ab")  # noqa: SIM115
        environment = env if env is not None else self.env
        process = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.running[name] = process
        return process

    def worker(self):
        return self.start(
            "worker",
            "-m",
            "celery",
            "-A",
            "amiportal",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "-Q",
            "celery",
            "--hostname",
            "hanworker@test",
        )

    def coordinator(self, name: str, devices: Path):
        return self.start(
            "coordinator",
            "manage.py",
            "han_coordinator",
            "--name",
            name,
            "--key-dir",
            str(self.tmp_path / "keys"),
            "--simulated-devices",
            str(devices),
        )

    def stop(self, name: str) -> None:
        process = self.running.pop(name)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in self.tmp_path.glob("*.log"))


@pytest.fixture
def processes(tmp_path, redis_url):
    running = Processes(tmp_path, redis_url)
    yield running
    running.stop_all()


def _state(device: Device) -> str:
    device.refresh_from_db()
    return device.state


@pytest.mark.objective("BF-HAN-1")
@pytest.mark.objective("SO-C14")
@pytest.mark.objective("SO-U5")
def test_a_coordinator_that_is_down_gets_its_work_when_it_comes_back(
    alice, ivan, tmp_path, processes, redis_url, django_capture_on_commit_callbacks
):
    name = "gw-proc"
    identity = CoordinatorIdentity.generate(name)
    identity.save(tmp_path / "keys" / f"{name}.key")
    code, eui64 = install_code_for(), random_eui64()
    devices = tmp_path / "devices.json"
    devices.write_text(json.dumps([{"eui64": eui64, "install_code": code, "device_type": "pct", "manufacturer": "Acme", "model": "T-1"}]))
    premise = alice.customer_account.agreements.get().premise
    coordinator = coordinator_register(name=name, box_public_key=identity.box_public_hex, verify_public_key=identity.verify_public_hex)

    processes.worker()
    network = han_network_create(premise=premise, coordinator=coordinator)
    parsed = install_code_parse(code=code, eui64=eui64)
    device = device_commission(network=network, parsed=parsed, device_type=DeviceType.THERMOSTAT, actor=ivan)

    # The coordinator is down: the worker relays, and the commands wait on its queue.
    wait_for(lambda: _state(device) == DeviceState.KEY_RELAYED)
    queued = redis.Redis.from_url(redis_url).lrange(coordinator.queue_name, 0, -1)
    assert len(queued) == 2
    link_key, network_key = parsed.link_key, network_key_open(network=network)
    for key in (link_key, network_key):
        for message in queued:
            assert key.hex().encode() not in message.lower()
            assert base64.b64encode(key) not in message

    # It comes back, finds its work, and the device joins.
    processes.coordinator(name, devices)
    wait_for(lambda: _state(device) == DeviceState.VERIFIED, timeout=40)
    assert CoordinatorCommand.objects.filter(network=network).exclude(state=JobState.DONE).count() == 0
    assert redis.Redis.from_url(redis_url).llen(coordinator.queue_name) == 0
    device.refresh_from_db()
    assert device.model == "T-1"

    # No key in any process's log either.
    logs = processes.logs().lower()
    assert "relayed permit_join" in logs
    for key in (link_key, network_key):
        assert key.hex() not in logs and base64.b64encode(key).decode().lower() not in logs


# A worker killed mid-relay, under the production visibility timeout (3600 s), is in
# tests/faults/test_han_faults.py: the relay's claim carries a lease that the beat sweeper returns.
