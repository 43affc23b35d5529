"""Alice opens her dashboard in a real browser and sees her gas in m³ with a cost, its chart drawn under the CSP."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from amiportal.premises.models import MeterKind
from billing.models import PricingKind
from billing.services.ingest import local_day_bounds
from billing.services.meter_units import meter_unit_set
from billing.services.tariffs import premise_tariff_assign, tariff_create, tariff_version_create
from tests.billing.helpers import ingest, readings, up_to_now
from tests.factories import MeterFactory
from tests.test_browser import browser_sign_in, page  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_alice_sees_her_gas_in_m3_with_a_cost(page, alice, password):  # noqa: F811
    premise = alice.customer_account.agreements.get().premise
    meter = MeterFactory(premise=premise, serial_number="G-BROWSER", kind=MeterKind.GAS)
    meter_unit_set(meter=meter, unit="m3")
    tariff = tariff_create(code="GAS-THERM", name="Residential gas", commodity=MeterKind.GAS, unit="therm")
    tariff_version_create(tariff=tariff, effective_from=date(2020, 1, 1), pricing=PricingKind.FLAT, flat_rate=95)
    premise_tariff_assign(premise=premise, tariff=tariff, start=date(2020, 1, 1))
    today = datetime.now(UTC).astimezone(ZoneInfo(premise.timezone)).date()
    start, _ = local_day_bounds(today - timedelta(days=2), premise.timezone)
    ingest(up_to_now(readings("G-BROWSER", start, hours=48, seconds=3600, unit="L", value=lambda m: 400)))

    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
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
    browser_sign_in(page, "alice@example.test", password)
    page.wait_for_url("**/customer/")
    page.get_by_role("link", name="Usage and cost").click()
    page.wait_for_selector("body[data-commodity-charts-ready=true]")
    gas = page.get_by_role("region", name="Gas (meter G-BROWSER, read in m³)")
    assert gas.is_visible()
    assert gas.locator(".commodity-cost").inner_text().startswith("$")
    assert page.evaluate(f"Chart.getChart(document.getElementById('commodity-chart-gas-{meter.pk}')).options.scales.y.title.text") == "m³"
    gas.locator("summary").click()
    rows = gas.locator("table tbody tr")
    assert rows.count() >= 1 and "$" in rows.last.inner_text()
    assert problems == []
