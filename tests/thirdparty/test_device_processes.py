"""A third party controls a device end to end: API, signed request, Redis, a Celery worker, the coordinator, the device.

(SO-C13, SO-C14, SO-C15, SO-U4.) The test database is shared with the subprocesses, so this test commits.
"""

from __future__ import annotations

import pytest
from django.test import Client

from han.coordinator.simulated import SE_DEVICE_PROFILES
from han.models import DeviceType
from tests.conftest import wait_for
from tests.han.live import live_verified_device
from tests.han.test_relay_processes import processes, redis_url  # noqa: F401 (fixtures)
from tests.thirdparty import world
from tests.thirdparty.devices import DEVICE_SCOPES, LOAD_CONTROL_BODY, control_tokens, device_path, signed_post
from thirdparty.models import AccessLogEntry, Consent

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.mark.objective("SO-C13")
@pytest.mark.objective("SO-C14")
@pytest.mark.objective("SO-C15")
def test_a_third_party_load_control_request_reaches_the_device_and_its_outcome_comes_back(
    alice,
    ivan,
    trent,
    tmp_path,
    processes,  # noqa: F811
):
    assert 0x0701 in SE_DEVICE_PROFILES["pct"][2]  # a thermostat takes load control events
    device, _ = live_verified_device(
        processes=processes,
        tmp_path=tmp_path,
        name="gw-tp",
        premise=world.premise_of(alice),
        installer=ivan,
        simulated_type="pct",
        device_type=DeviceType.THERMOSTAT,
        model="T-9",
    )

    api = Client()
    application = world.register(trent, name="Thermostat Co", scopes=DEVICE_SCOPES)
    token = control_tokens(api, application, alice)
    consent = Consent.objects.get(application=application)
    meter_id = world.premise_of(alice).meters.get().pk
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_ACCEPT": "application/json"}

    listed = api.get(f"/espi/1_1/resource/Subscription/{consent.pk}/UsagePoint/{meter_id}/Device", **auth).json()["devices"]
    assert [(d["id"], d["takes_load_control"]) for d in listed] == [(str(device.uid), True)]

    sent = signed_post(api, application, device_path(consent, meter_id, device, "LoadControl"), token, LOAD_CONTROL_BODY)
    assert sent.status_code == 202, sent.content
    command_url = sent.json()["links"][0]["href"]
    wait_for(lambda: (api.get(command_url, **auth).json()["result"] or {}).get("event_status") == "started", timeout=30)
    outcome = api.get(command_url, **auth).json()
    assert outcome["state"] == "done"
    assert [s["status_name"] for s in outcome["result"]["statuses"]] == ["received", "started"]

    read = signed_post(api, application, device_path(consent, meter_id, device, "StatusRead"), token)
    assert read.status_code == 202, read.content
    read_url = read.json()["links"][0]["href"]
    wait_for(lambda: api.get(read_url, **auth).json()["state"] == "done", timeout=30)
    status = api.get(read_url, **auth).json()["result"]
    assert status["model"] == "T-9" and status["load_control_active"] is True
    assert status["load_control"]["issuer_event_id"] == outcome["event"]["issuer_event_id"]

    # The customer sees each of these requests in their access log.
    logged = set(AccessLogEntry.objects.filter(consent=consent).values_list("status_code", flat=True))
    assert {200, 202} <= logged
