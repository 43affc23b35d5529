"""Live demand end to end: a simulated meter behind a real coordinator process, a Celery worker, Redis, and Alice's
dashboard in Debian's Chromium. When the meter's demand changes, the page shows it within 5 seconds (issue 13)."""

from __future__ import annotations

import json
import time

import pytest

from han.models import DeviceDemand, DeviceType
from tests.conftest import wait_for
from tests.han.live import live_verified_device
from tests.han.test_relay_processes import processes, redis_url  # noqa: F401 (fixtures)
from tests.test_browser import page  # noqa: F401 (the Playwright page fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.objective("BF-CUST-1")
def test_alice_sees_her_meters_demand_change_within_five_seconds(alice, ivan, password, tmp_path, processes, page):  # noqa: F811
    premise = alice.customer_account.agreements.get().premise
    device, devices_file = live_verified_device(
        processes=processes,
        tmp_path=tmp_path,
        name="gw-live",
        premise=premise,
        installer=ivan,
        simulated_type="metering",
        device_type=DeviceType.METERING,
        model="EM-1",
    )
    demand_file = devices_file.with_name("devices.demand.json")
    demand_file.write_text(json.dumps({device.eui64: 1250}))
    wait_for(lambda: DeviceDemand.objects.filter(device=device, demand=1.25).exists(), timeout=20)

    page.goto("/")
    page.get_by_label("Email address").fill("alice@example.test")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/customer/")
    page.goto(f"/customer/premises/{premise.pk}/usage/")
    live = page.locator("[data-live-value]")
    live.filter(has_text="1.25 kW").wait_for(timeout=10_000)

    changed_at = time.monotonic()
    demand_file.write_text(json.dumps({device.eui64: 4300}))
    live.filter(has_text="4.30 kW").wait_for(timeout=15_000)
    seen_after = time.monotonic() - changed_at
    assert seen_after < 5.0, f"the page showed the new demand {seen_after:.1f} s after the meter changed"
    assert "Reported by your metering device" in page.locator("[data-live-note]").inner_text()
