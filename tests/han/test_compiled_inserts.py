"""A compiled insert (``CompiledInsert``) writes the row ``Model.save`` writes, and leaves the instance as ``save`` would."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.db.models.signals import post_save

from amiportal.compiled_queries import CompiledInsert
from han.models import CoordinatorCommand, Device, DeviceState, HanNetwork, JobKind
from tests.han.conftest import random_eui64

pytestmark = pytest.mark.django_db

_COMPARED_AWAY = {"id", "uid", "command_id", "eui64", "created_at", "updated_at", "lease_expires_at"}


def _row(model, pk) -> dict:
    return {name: value for name, value in model.objects.filter(pk=pk).values().get().items() if name not in _COMPARED_AWAY}


def _device(network, ivan) -> Device:
    return Device(network=network, eui64=random_eui64(), device_type="ihd", label="Hall", added_by=ivan, link_key_sealed="sealed")


def test_both_models_of_the_submission_compile_here():
    """Not a silent fall back to ``save``: the rows below really went through the compiled statement."""
    assert CompiledInsert(Device)._compile("default") is not None
    assert CompiledInsert(CoordinatorCommand)._compile("default") is not None


def test_a_device_row_is_the_one_the_orm_writes(alice_network, ivan):
    compiled, by_orm = _device(alice_network, ivan), _device(alice_network, ivan)
    CompiledInsert(Device).save(compiled)
    by_orm.save(force_insert=True)
    assert _row(Device, compiled.pk) == _row(Device, by_orm.pk)
    stored = Device.objects.get(pk=compiled.pk)
    assert (stored.uid, stored.eui64, stored.created_at, stored.updated_at) == (
        compiled.uid,
        compiled.eui64,
        compiled.created_at,
        compiled.updated_at,
    )
    assert compiled.created_at is not None and compiled.created_at.tzinfo is not None
    assert not compiled._state.adding and compiled._state.db == by_orm._state.db
    assert compiled.state == DeviceState.REGISTERED and compiled.interview == {}


def test_a_command_row_is_the_one_the_orm_writes(alice_network, ivan):
    parameters = {"devices": [{"uid": "u-1", "eui64": "00:0d"}], "device_class": "metering", "n": 3, "flag": True}
    made = {
        "kind": JobKind.COMMISSION,
        "network": alice_network,
        "coordinator": alice_network.coordinator,
        "requested_by": ivan,
        "parameters": parameters,
    }
    compiled, by_orm = CoordinatorCommand(**made), CoordinatorCommand.objects.create(**made)
    CompiledInsert(CoordinatorCommand).save(compiled)
    assert _row(CoordinatorCommand, compiled.pk) == _row(CoordinatorCommand, by_orm.pk)
    assert CoordinatorCommand.objects.get(pk=compiled.pk).parameters == parameters
    assert compiled.pk > by_orm.pk and not compiled._state.adding


def test_where_the_orm_would_do_more_it_saves_through_the_orm(alice_network, ivan):
    heard = []

    def receiver(sender, instance, created, **kwargs):
        heard.append((instance.pk, created))

    post_save.connect(receiver, sender=Device)
    try:
        device = _device(alice_network, ivan)
        CompiledInsert(Device).save(device)
    finally:
        post_save.disconnect(receiver, sender=Device)
    assert heard == [(device.pk, True)]
    with_pk = _device(alice_network, ivan)
    with_pk.pk = device.pk + 1000
    CompiledInsert(Device).save(with_pk)
    assert Device.objects.filter(pk=device.pk + 1000).exists()


def test_refusals_are_the_orms(alice_network, ivan):
    unsaved = Device(network=HanNetwork(premise=alice_network.premise, coordinator=alice_network.coordinator), eui64=random_eui64())
    with pytest.raises(ValueError, match="unsaved related object 'network'"):
        CompiledInsert(Device).save(unsaved)
    first = _device(alice_network, ivan)
    CompiledInsert(Device).save(first)
    again = _device(alice_network, ivan)
    again.eui64 = first.eui64  # one live registration per radio
    with pytest.raises(IntegrityError), transaction.atomic():
        CompiledInsert(Device).save(again)
    with pytest.raises(TypeError):
        CompiledInsert(Device).save(CoordinatorCommand())
