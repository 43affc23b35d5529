"""The operator's HAN network page shows a home's devices and metering reads only after a recorded reason (SO-C5, SO-C7)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from amiportal.audit.models import AuditEntry
from han.models import CoordinatorCommand, JobKind, JobState
from tests.conftest import signed_in
from tests.han import world

pytestmark = pytest.mark.django_db

READ = {"metering": {"summation_delivered": "4321.5", "summation_unit": "kWh", "demand": "1.2", "demand_unit": "kW"}}


@pytest.fixture
def network_with_a_read(alice, ivan):
    built = world.han_world({"alice": alice, "ivan": ivan})
    CoordinatorCommand.objects.create(
        kind=JobKind.STATUS_READ,
        state=JobState.DONE,
        network=built["network"],
        coordinator=built["network"].coordinator,
        device=built["device"],
        result=READ,
    )
    return built


@pytest.mark.objective("SO-C7")
def test_olga_sees_no_metering_read_or_device_until_she_records_why(olga, alice, network_with_a_read):
    client = signed_in(olga)
    url = reverse("han:operator_network", args=[network_with_a_read["network"].pk])
    gate = client.get(url)
    page = gate.content.decode()
    assert gate.status_code == 200 and "Why do you need this customer" in page
    assert "4321.5" not in page and network_with_a_read["device"].eui64.upper() not in page
    assert alice.customer_account.account_number in page

    too_short = client.post(url, {"reason": "look"})
    assert "at least 10 characters" in too_short.content.decode()
    assert not AuditEntry.objects.filter(action="staff.customer_data_opened").exists()

    assert client.post(url, {"reason": "Case 8812: display shows no usage"}).url == url
    page = client.get(url).content.decode()
    assert "Meter: 4321.5 kWh delivered, demand 1.2 kW" in page
    opened = AuditEntry.objects.get(action="staff.customer_data_opened")
    assert (opened.actor_id, opened.customer_account_id) == (olga.pk, alice.customer_account.pk)
    assert json.loads(opened.payload) == {"reason": "Case 8812: display shows no usage"}
    viewed = AuditEntry.objects.get(action="han.staff_network_viewed")
    assert (viewed.customer_account_id, viewed.target) == (alice.customer_account.pk, f"han_network:{network_with_a_read['network'].pk}")


@pytest.mark.objective("SO-C7")
def test_a_key_restore_without_a_recorded_reason_changes_nothing(olga, network_with_a_read):
    network = network_with_a_read["network"]
    before = network.coordinator_id
    response = signed_in(olga, stepped_up=True).post(reverse("han:operator_network_replace", args=[network.pk]), {"coordinator": before})
    assert response.status_code == 302 and response.url == reverse("han:operator_network", args=[network.pk])
    network.refresh_from_db()
    assert network.coordinator_id == before
