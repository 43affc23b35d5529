"""A restarted coordinator keeps the network the head-end gave it, and finds the head-end key it was given."""

from __future__ import annotations

import asyncio
import os

import pytest
import zigpy.types as t
from django.core.management.base import CommandError

from han.coordinator.simulated import SimulatedControllerApplication
from han.management.commands.han_coordinator import head_end_public_key


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


def test_the_coordinator_reads_the_head_end_public_key_from_its_environment(monkeypatch):
    monkeypatch.setenv("AMI_HAN_HEAD_END_PUBLIC_KEY", "AB" * 32)
    assert head_end_public_key() == "ab" * 32
    monkeypatch.setenv("AMI_HAN_HEAD_END_PUBLIC_KEY", "not-a-key")
    with pytest.raises(CommandError, match="64 hexadecimal digits"):
        head_end_public_key()
