"""Escrowed keys at rest: sealed per row and field, fail closed, rotated idempotently (SO-C6, BF-HAN-2)."""

import base64
import os

import pytest
from django.core.management import call_command
from django.db import connection

from amiportal.crypto.envelope import SealedValueError, sealed_key_id
from amiportal.crypto.rotation import keys_rotate
from han.install_codes import install_code_parse
from han.models import Device, DeviceType, HanNetwork, JobState
from han.services.commissioning import device_commission
from han.services.keys import link_key_open, network_key_generate_sealed, network_key_open
from han.services.relay import job_relay
from tests.han.conftest import install_code_for, random_eui64

pytestmark = pytest.mark.django_db


def _register(network, actor, django_capture_on_commit_callbacks, code=None):
    parsed = install_code_parse(code=code or install_code_for(), eui64=random_eui64())
    with django_capture_on_commit_callbacks(execute=True):
        device = device_commission(network=network, parsed=parsed, device_type=DeviceType.THERMOSTAT, actor=actor)
    return device, parsed.link_key


def _all_row_text() -> str:
    """Every column of every HAN and audit row, as the database stores it."""
    chunks = []
    with connection.cursor() as cursor:
        for table in ("han_device", "han_hannetwork", "han_coordinatorcommand", "han_coordinator", "audit_auditentry"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
            chunks.extend(str(row) for row in cursor.fetchall())
    return "\n".join(chunks).lower()


@pytest.mark.objective("SO-C6")
def test_no_plaintext_link_or_network_key_is_stored(alice_network, ivan, django_capture_on_commit_callbacks):
    device, link_key = _register(alice_network, ivan, django_capture_on_commit_callbacks)
    network_key = network_key_open(network=alice_network)
    text = _all_row_text()
    for key in (link_key, network_key):
        assert key.hex() not in text
        assert base64.b64encode(key).decode().lower() not in text
    assert link_key_open(device=device) == link_key


@pytest.mark.objective("SO-C6")
def test_a_sealed_key_moved_to_another_row_does_not_open(alice_network, ivan, django_capture_on_commit_callbacks):
    first, _ = _register(alice_network, ivan, django_capture_on_commit_callbacks)
    second, _ = _register(alice_network, ivan, django_capture_on_commit_callbacks)
    Device.objects.filter(pk=second.pk).update(link_key_sealed=first.link_key_sealed)
    second.refresh_from_db()
    with pytest.raises(SealedValueError):
        link_key_open(device=second)
    # ... nor into another field of another model.
    HanNetwork.objects.filter(pk=alice_network.pk).update(network_key_sealed=first.link_key_sealed)
    alice_network.refresh_from_db()
    with pytest.raises(SealedValueError):
        network_key_open(network=alice_network)


@pytest.mark.objective("SO-C6")
def test_a_key_that_does_not_open_is_never_sent(alice_network, ivan, captured, django_capture_on_commit_callbacks):
    device, _ = _register(alice_network, ivan, django_capture_on_commit_callbacks)
    job = device.jobs.create(kind="commission", network=alice_network, coordinator=alice_network.coordinator)
    Device.objects.filter(pk=device.pk).update(link_key_sealed=device.link_key_sealed[:-6] + "AAAAAA")
    sent_before = len(captured)
    assert job_relay(job_id=job.pk) == "key unavailable"
    assert len(captured) == sent_before
    job.refresh_from_db()
    device.refresh_from_db()
    assert job.state == JobState.FAILED and device.state == "failed" and "could not be opened" in device.failure_reason


def _ring(*ids):
    return ",".join(f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}" for key_id in ids)


@pytest.mark.objective("SO-C6")
@pytest.mark.objective("BF-HAN-2")
def test_kek_rotation_rewraps_every_key_idempotently_and_resumably(alice_network, ivan, django_capture_on_commit_callbacks, settings):
    installers_ring = settings.AMI_KEYRING  # Ivan's authenticator was sealed under it: it rotates too
    old_only = _ring("old")
    old_key = old_only.split(",")[0]
    new_key = _ring("new")
    settings.AMI_KEYRING = old_only
    alice_network.network_key_sealed = network_key_generate_sealed(network=alice_network)
    alice_network.save()
    devices = [_register(alice_network, ivan, django_capture_on_commit_callbacks) for _ in range(5)]

    settings.AMI_KEYRING = f"{new_key},{old_key},{installers_ring}"
    # A run interrupted after its first batch...
    from amiportal.crypto import envelope

    calls = {"n": 0}
    real_rewrap = envelope.rewrap

    def failing_rewrap(sealed, *, context):
        if context.startswith("han.device."):
            calls["n"] += 1
            if calls["n"] > 2:  # after the first batch of two devices
                raise RuntimeError("power cut")
        return real_rewrap(sealed, context=context)

    envelope.rewrap = failing_rewrap
    try:
        with pytest.raises(RuntimeError):
            keys_rotate(batch_size=2)
    finally:
        envelope.rewrap = real_rewrap
    assert sum(sealed_key_id(d.link_key_sealed) == "new" for d in Device.objects.all()) == 2

    # ...is finished by the next run, and a third run has nothing left to do.
    call_command("keys_rotate", "--batch-size", "2")
    assert {sealed_key_id(d.link_key_sealed) for d in Device.objects.all()} == {"new"}
    assert sealed_key_id(HanNetwork.objects.get().network_key_sealed) == "new"
    assert keys_rotate().total("rewrapped") == 0

    # The old KEK can now leave the keyring, and every key still opens.
    settings.AMI_KEYRING = new_key
    for device, link_key in devices:
        device.refresh_from_db()
        assert link_key_open(device=device) == link_key
    network_key_open(network=HanNetwork.objects.get())


def test_a_missing_kek_fails_closed(alice_network, settings):
    settings.AMI_KEYRING = _ring("other")
    with pytest.raises(SealedValueError, match="not in the keyring"):
        network_key_open(network=alice_network)
