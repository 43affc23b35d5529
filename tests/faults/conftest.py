"""Fixtures for the fault tests: a broker of their own and the processes around it."""

from __future__ import annotations

import shutil

import pytest

from amiportal.celery import app as celery_app
from tests.conftest import REQUIRE_SERVICES
from tests.faults.processes import FaultProcesses, OwnRedis


def _drop_broker_pools() -> None:
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def own_broker(tmp_path, monkeypatch):
    """A redis-server of this test's own, the broker of the test process and of every process it starts."""
    if shutil.which("redis-server") is None:
        why = "the fault tests start their own broker: install redis-server (Debian package redis-server)"
        if REQUIRE_SERVICES:
            pytest.fail(why)  # under CI a missing service is a failure, never a skip
        pytest.skip(why)
    broker = OwnRedis(tmp_path / "redis")
    broker.start()
    monkeypatch.setattr(celery_app.conf, "broker_url", broker.url)
    monkeypatch.setattr(celery_app.conf, "broker_transport_options", {})
    _drop_broker_pools()
    yield broker
    _drop_broker_pools()
    broker.stop()


@pytest.fixture
def fault_processes(tmp_path, own_broker):
    running = FaultProcesses(tmp_path, own_broker.url)
    yield running
    running.stop_all()
