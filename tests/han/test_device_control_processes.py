"""Load control through real processes: Redis broker, a Celery worker and the coordinator (SO-C13, SO-C14, SO-U4).

The test database is shared with the subprocesses, so these tests commit.
"""

from __future__ import annotations

import pytest

from amiportal.audit.models import AuditEntry
from han import drlc
from han.models import CoordinatorCommand, DeviceType, JobState
from han.services.device_control import device_load_control_request, device_status_request
from tests.conftest import wait_for
from tests.han.live import live_verified_device
from tests.han.test_relay_processes import processes, redis_url  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def _job(job: CoordinatorCommand) -> CoordinatorCommand:
    job.refresh_from_db()
    return job


@pytest.mark.objective("SO-C13")
@pytest.mark.objective("SO-C14")
@pytest.mark.objective("BF-DR-1")
def test_a_load_control_event_reaches_the_simulated_device_and_the_result_comes_back(alice, ivan, tmp_path, processes):  # noqa: F811
    name = "gw-drlc"
    device, _ = live_verified_device(
        processes=processes,
        tmp_path=tmp_path,
        name=name,
        premise=alice.customer_account.agreements.get().premise,
        installer=ivan,
        simulated_type="load_control",
        device_type=DeviceType.LOAD_CONTROL,
        model="LCS-2",
    )

    event = {"device_class": drlc.device_class_bits(["water_heater"]), "duration_minutes": 60, "criticality": 5, "duty_cycle": 50}
    job = device_load_control_request(device=device, event=event, actor=alice)
    wait_for(lambda: _job(job).result.get("event_status") == "started", timeout=30)
    assert job.state == JobState.DONE
    assert [s["status_name"] for s in job.result["statuses"]] == ["received", "started"]
    assert AuditEntry.objects.filter(action="han.load_control_reported", target=f"device:{device.uid}").count() == 2

    read = device_status_request(device=device, actor=alice)
    wait_for(lambda: _job(read).state == JobState.DONE, timeout=30)
    assert read.result["model"] == "LCS-2"
    assert read.result["load_control_active"] is True
    assert read.result["load_control"]["issuer_event_id"] == job.parameters["event"]["issuer_event_id"]
    logs = processes.logs()
    assert f"{name}: load_control command {job.command_id}" in logs
    assert "relayed load_control" in logs.lower()
