"""HAN fixtures: a coordinator identity, a premise network for Alice, and a captured relay."""

from __future__ import annotations

import os

import pytest
from zigpy.util import CrcX25

from amiportal.celery import app as celery_app
from han.coordinator.simulated import SimulatedDevice
from han.protocol import Command, CoordinatorIdentity, ReplayGuard, command_open
from han.services.networks import coordinator_register, han_network_create


def install_code_for(seed: bytes | None = None) -> str:
    """A valid 16-byte install code plus its CRC, as hex (the CRC is zigpy's)."""
    body = seed or os.urandom(16)
    crc = CrcX25()
    crc.process(body)
    return (body + crc.finalbytes(byteorder="little")).hex().upper()


def random_eui64() -> str:
    return ":".join(f"{b:02x}" for b in b"\x00\x0d\x6f" + os.urandom(5))


def opened_command(envelope: dict, identity: CoordinatorIdentity) -> Command:
    """A relayed envelope opened as its coordinator opens it (a fresh replay guard)."""
    from han.services.head_end_keys import head_end_public_key_hex

    return command_open(envelope=envelope, head_end_public_hex=head_end_public_key_hex(), identity=identity, replay_guard=ReplayGuard())


@pytest.fixture
def captured(monkeypatch):
    """Relay tasks run inline; envelopes put on coordinator queues are captured, not sent."""
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr("han.broker.command_publish", lambda *, coordinator_name, envelope: sent.append((coordinator_name, envelope)))
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)
    monkeypatch.setattr(celery_app.conf, "task_eager_propagates", True)
    return sent


@pytest.fixture
def identity():
    return CoordinatorIdentity.generate("gw-alice")


@pytest.fixture
def alice_premise(alice):
    return alice.customer_account.agreements.get().premise


@pytest.fixture
def alice_network(alice_premise, identity, captured, django_capture_on_commit_callbacks):
    coordinator = coordinator_register(
        name=identity.name, box_public_key=identity.box_public_hex, verify_public_key=identity.verify_public_hex
    )
    with django_capture_on_commit_callbacks(execute=True):
        network = han_network_create(premise=alice_premise, coordinator=coordinator)
    return network


@pytest.fixture
def sim_device():
    return SimulatedDevice(eui64=random_eui64(), install_code=install_code_for(), device_type="ihd", manufacturer="Acme", model="IHD-9")
