"""A restarted coordinator keeps the network the head-end gave it, and finds the head-end key it was given."""

from __future__ import annotations

import asyncio
import os

import pytest
import zigpy.types as t
from django.core.management.base import CommandError

from han.coordinator.management.commands.han_coordinator import head_end_public_keys
from han.coordinator.simulated import SimulatedControllerApplication
from han.models import CoordinatorCommand, DeviceType, JobKind, JobState
from han.services.device_control import device_status_request
from tests.conftest import wait_for
from tests.han.live import live_verified_device
from tests.han.test_relay_processes import processes, redis_url  # noqa: F401 (fixtures)


def _config(path) -> dict:
    config = SimulatedControllerApplication.default_config()
    config["device"]["path"] = str(path)
    return config


def test_a_restarted_simulated_radio_stays_on_the_configured_network(tmp_path):
    nvram = tmp_path / "gw-a.radio.json"

    async def configure_then_restart():
        app = await SimulatedControllerApplication.new(_config(nvram), auto_form=True)
        configured = app.state.network_info.replace(pan_id=t.PanId(0x1A2B))
        await app.write_network_info(network_info=configured, node_info=app.state.node_info)
        await app.shutdown()
        restarted = await SimulatedControllerApplication.new(_config(nvram), auto_form=True)
        info = restarted.state.network_info
        await restarted.shutdown()
        return configured, info

    configured, info = asyncio.run(configure_then_restart())
    assert info.pan_id == 0x1A2B
    assert info.extended_pan_id == configured.extended_pan_id
    assert info.network_key.key == configured.network_key.key
    assert os.stat(nvram).st_mode & 0o777 == 0o600  # it holds the network key


def test_the_coordinator_reads_the_head_end_public_keys_from_its_environment(monkeypatch):
    monkeypatch.setenv("AMI_HAN_HEAD_END_PUBLIC_KEY", "AB" * 32)
    with pytest.raises(CommandError, match="Set AMI_HAN_HEAD_END_BOX_PUBLIC_KEY too"):
        head_end_public_keys()
    monkeypatch.setenv("AMI_HAN_HEAD_END_BOX_PUBLIC_KEY", "CD" * 32)
    keys = head_end_public_keys()
    assert (keys.verify_hex, keys.box_hex) == ("ab" * 32, "cd" * 32)
    monkeypatch.setenv("AMI_HAN_HEAD_END_PUBLIC_KEY", "not-a-key")
    with pytest.raises(CommandError, match="64 hexadecimal digits"):
        head_end_public_keys()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_restarted_coordinator_process_still_knows_the_devices_that_joined_it(alice, ivan, tmp_path, processes):  # noqa: F811
    """zigpy's own database (``database_path``) keeps the joined devices across a real process restart."""
    name = "gw-restart"
    device, devices = live_verified_device(
        processes=processes,
        tmp_path=tmp_path,
        name=name,
        premise=alice.customer_account.agreements.get().premise,
        installer=ivan,
        simulated_type="metering",
        device_type=DeviceType.METERING,
        model="M-7",
    )

    processes.stop("coordinator")  # SIGTERM: zigpy flushes its database on shutdown
    database = tmp_path / "keys" / f"{name}.zigbee.db"
    assert database.exists()
    assert os.stat(database).st_mode & 0o777 == 0o600  # zigpy keeps its network backup (with the network key) there
    processes.coordinator(name, devices)

    # Nobody re-entered an install code and the device did not rejoin, yet the gateway reaches it.
    read = device_status_request(device=device, actor=alice)
    wait_for(lambda: CoordinatorCommand.objects.get(pk=read.pk).state in (JobState.DONE, JobState.FAILED), timeout=30)
    read.refresh_from_db()
    assert read.state == JobState.DONE, read.detail
    assert read.result["reachable"] is True
    assert read.result["model"] == "M-7"
    assert CoordinatorCommand.objects.filter(device=device, kind=JobKind.COMMISSION).count() == 1
