"""Issue 13's "Done when", in a real browser on the demo: Alice opens last March's gas in m³ with its cost, then
downloads last month's bill. (Live kW as the simulated meter changes: tests/han/test_live_demand_processes.py.)

Everything after the first page is done by clicking, as a person would.
"""

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from amiportal.portal.demo import DEMO_PASSWORD, TIMEZONE
from tests.test_browser import browser_sign_in, page  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _last_march(today: date) -> date:
    """The first day of the latest March that has ended: this year's from April on, else last year's."""
    return date(today.year if today.month > 3 else today.year - 1, 3, 1)


def _last_month(today: date) -> tuple[date, date]:
    first_of_this = today.replace(day=1)
    last = first_of_this - timedelta(days=1)
    return last.replace(day=1), last


def test_alice_opens_last_marchs_gas_and_downloads_last_months_bill(page, settings, monkeypatch):  # noqa: F811
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    today = datetime.now(UTC).astimezone(ZoneInfo(TIMEZONE)).date()
    march = _last_march(today)
    # The demo as `make run` seeds it (400 days there); under the test profile it keeps 3 days unless told, so it is
    # told to reach back to last March, which is also long enough for last month's bill.
    monkeypatch.setenv("AMI_DEMO_USAGE_DAYS", str((today - march).days + 2))
    call_command("seed_demo", stdout=io.StringIO())

    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico")
            else None
        ),
    )
    browser_sign_in(page, "alice@demo.ami", DEMO_PASSWORD)
    page.wait_for_url("**/customer/")
    page.get_by_role("link", name="Usage and cost").click()
    page.wait_for_url("**/usage/")

    periods = page.get_by_role("navigation", name="Choose the period")
    with page.expect_navigation():
        periods.get_by_role("link", name="Month", exact=True).click()
    gas = page.get_by_role("region", name=re.compile(r"^Gas \(meter G\d+, read in m³\)$"))
    march_days = f"1 Mar to 31 Mar {march.year}"
    for _ in range(15):  # at most 15 months back: last March is never further
        if gas.locator("dt").inner_text() == march_days:
            break
        with page.expect_navigation():
            periods.get_by_role("link", name="Previous", exact=True).click()
    assert gas.locator("dt").inner_text() == march_days
    quantity = gas.locator(".commodity-quantity").inner_text()
    cost = gas.locator(".commodity-cost").inner_text()
    assert re.fullmatch(r"[\d,.]+ m³", quantity) and Decimal(quantity.split()[0].replace(",", "")) > 0, quantity
    assert re.fullmatch(r"\$[\d,]+\.\d\d", cost) and Decimal(cost[1:].replace(",", "")) > 0, cost

    page.get_by_role("link", name="Your bill history").click()
    page.wait_for_url("**/bills/")
    first, last = _last_month(today)
    with page.expect_download() as download:
        page.get_by_role("link", name=f"CSV of the bill from {first.day} {first:%b %Y}").click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert {(row["service_point"], row["first_day"], row["last_day"]) for row in rows} == {
        ("SP-100001", first.isoformat(), last.isoformat())
    }
    energy = next(row for row in rows if row["item"] == "energy from the grid")
    total = next(row for row in rows if row["item"] == "total (computed by the portal)")
    assert Decimal(energy["quantity"]) > 0 and Decimal(total["amount_usd"]) > 0, rows
    assert problems == []
