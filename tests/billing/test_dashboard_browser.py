"""The dashboard in a real browser: charts drawn by the vendored library under the CSP, period links, data tables, past bills."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing.models import Channel
from billing.services.ingest import local_day_bounds
from tests.billing.helpers import ingest, readings, up_to_now
from tests.billing.tariffs import flat_tariff, tou_tariff
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
    page.get_by_role("link", name="Week", exact=True).click()
    page.wait_for_selector("body[data-charts-ready=true]")
    assert "period=week" in page.url and page.locator("#panel-week").is_visible()
    assert page.evaluate("Chart.getChart(document.getElementById('chart-week')).data.datasets.length") == 2  # import and export
    page.locator("#panel-week summary").click()
    assert page.locator("#panel-week table tbody tr").count() > 24
    assert problems == []  # no CSP violations, no script errors


def _signed_in_page(page, password):  # noqa: F811
    page.goto("/")
    page.get_by_label("Email address").fill("alice@example.test")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/customer/")


def test_alice_goes_to_last_month_switches_to_money_and_downloads_a_bill(page, alice, password):  # noqa: F811
    premise = alice.customer_account.agreements.get().premise
    flat_tariff(premise, rate="10")
    zone = ZoneInfo(premise.timezone)
    today = datetime.now(UTC).astimezone(zone).date()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    month_before = (last_month - timedelta(days=1)).replace(day=1)
    start, _ = local_day_bounds(month_before, premise.timezone)
    ingest(up_to_now(readings(premise.meters.get().serial_number, start, hours=24 * 70)))
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    _signed_in_page(page, password)
    page.get_by_role("link", name="Usage and cost").click()
    page.wait_for_selector("body[data-charts-ready=true]")
    page.get_by_role("link", name="Month", exact=True).click()
    page.get_by_role("link", name="Previous", exact=True).click()
    page.wait_for_selector("body[data-charts-ready=true]")
    assert f"on={last_month.isoformat()}"[:11] in page.url and "period=month" in page.url
    assert page.get_by_role("heading", name=f"{last_month:%B %Y}, day by day").is_visible()
    page.get_by_role("link", name="Previous", exact=True).click()
    assert page.get_by_role("heading", name=f"{month_before:%B %Y}, day by day").is_visible()
    page.get_by_role("link", name="Next", exact=True).click()
    assert page.get_by_role("heading", name=f"{last_month:%B %Y}, day by day").is_visible()
    page.get_by_role("link", name="Money ($)").click()
    page.wait_for_selector("body[data-charts-ready=true]")
    assert "show=money" in page.url and "period=month" in page.url
    unit = page.evaluate("Chart.getChart(document.getElementById('chart-month')).options.scales.y.title.text")
    assert unit.startswith("$")
    assert page.evaluate("Chart.getChart(document.getElementById('chart-month')).data.datasets[0].data[1]") == 2.4  # 24 kWh at 10 cents
    page.get_by_role("link", name="Energy (kWh)").click()
    assert "show=money" not in page.url

    page.get_by_role("link", name="Your bill history").click()
    page.get_by_role("link", name=f"Open the bill from {last_month:%-d %b %Y}").click()
    assert page.get_by_role("heading", name=f"Bill for {last_month:%-d %b %Y}", exact=False).is_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download this bill (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == f"bill-{premise.service_point_id}-{last_month}-{today.replace(day=1) - timedelta(days=1)}.csv"
    text = open(download.path(), encoding="utf-8").read()
    assert "energy from the grid" in text and "total (computed by the portal)" in text
    assert errors == []
