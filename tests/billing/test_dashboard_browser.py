"""The dashboard in a real browser: charts drawn by the vendored library under the CSP, tabs and data tables work."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing.models import Channel
from billing.services.ingest import local_day_bounds
from tests.billing.helpers import ingest, readings, up_to_now
from tests.billing.tariffs import tou_tariff
from tests.test_browser import page  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_alice_sees_her_charts_and_tables(page, alice, password):  # noqa: F811
    premise = alice.customer_account.agreements.get().premise
    premise.has_der = True
    premise.save()
    tou_tariff(premise, critical_peak_multiplier=Decimal(2))
    zone = ZoneInfo(premise.timezone)
    today = datetime.now(UTC).astimezone(zone).date()
    start, _ = local_day_bounds(today - timedelta(days=2), premise.timezone)
    serial = premise.meters.get().serial_number
    ingest(up_to_now(readings(serial, start, hours=72)))
    received = readings(serial, start, hours=72, channel=Channel.RECEIVED, value=lambda m: 80 if 10 <= m.astimezone(zone).hour < 15 else 0)
    ingest(up_to_now(received))

    problems = []
    page.on(
        "console",
        lambda message: (
            problems.append(message.text) if message.type == "error" and "Failed to load resource" not in message.text else None
        ),
    )
    page.on(
        "response",
        lambda response: problems.append(response.url) if response.status >= 400 and not response.url.endswith("/favicon.ico") else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto("/")
    page.get_by_label("Email address").fill("alice@example.test")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/customer/")
    page.get_by_role("link", name="Usage and cost").click()
    page.wait_for_selector("body[data-charts-ready=true]")
    assert page.get_by_role("heading", name="Price now").is_visible()
    assert page.evaluate("Chart.getChart(document.getElementById('chart-day')) !== undefined")
    page.get_by_role("tab", name="Week").click()
    assert page.locator("#panel-week").is_visible() and not page.locator("#panel-day").is_visible()
    assert page.evaluate("Chart.getChart(document.getElementById('chart-week')).data.datasets.length") == 2  # import and export
    page.locator("#panel-week summary").click()
    assert page.locator("#panel-week table tbody tr").count() > 24
    assert problems == []  # no CSP violations, no script errors
