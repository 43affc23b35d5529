"""Past bills: priced by the tariff engine per billing period of the viewer's own occupancy, set beside the utility's own."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from amiportal.premises.selectors import Occupancy
from billing.bills import bill_history, bill_periods
from billing.models import UtilityBillSummary
from billing.services.ingest import local_day_bounds
from tests.billing.helpers import ingest, readings
from tests.billing.tariffs import flat_tariff
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


def test_bill_periods_follow_the_cycle_and_stop_at_move_in_and_move_out():
    occupancies = [Occupancy(date(2025, 1, 20), date(2025, 4, 3))]
    periods = bill_periods(occupancies=occupancies, cycle_day=10, today=date(2025, 7, 1))
    assert periods == [
        (date(2025, 3, 10), date(2025, 4, 3)),  # moved out on the 3rd: a short last bill
        (date(2025, 2, 10), date(2025, 3, 9)),
        (date(2025, 1, 20), date(2025, 2, 9)),  # moved in on the 20th: a short first bill
    ]
    current = bill_periods(occupancies=[Occupancy(date(2025, 5, 1), None)], cycle_day=1, today=date(2025, 7, 15))
    assert current == [(date(2025, 6, 1), date(2025, 6, 30)), (date(2025, 5, 1), date(2025, 5, 31))]  # July is still running


def _alices_june(alice):
    premise = alice.customer_account.agreements.get().premise
    flat_tariff(premise, rate="10", fixed_daily=Decimal("30"))
    start, _ = local_day_bounds(date(2025, 6, 1), premise.timezone)
    _, end = local_day_bounds(date(2025, 6, 30), premise.timezone)
    ingest(readings(premise.meters.get().serial_number, start, hours=int((end - start).total_seconds() // 3600)))  # 1 kWh an hour
    UtilityBillSummary.objects.create(
        premise=premise,
        meter=premise.meters.get(),
        period_start=start,
        period_seconds=int((end - start).total_seconds()),
        bill_amount=8_000_000,  # $80.00 in hundred-thousandths
        currency=840,
        consumption=720_000,
    )
    return premise


@pytest.mark.objective("BF-CUST-1")
def test_alice_sees_her_june_bill_beside_the_utilitys_and_downloads_it(alice):
    premise = _alices_june(alice)
    june = next(
        b
        for b in bill_history(premise=premise, occupancies=[Occupancy(date(2024, 1, 1), None)], today=date(2026, 12, 3)).bills
        if b.first_day == date(2025, 6, 1)
    )
    assert (june.last_day, june.delivered_wh) == (date(2025, 6, 30), 720_000)
    assert (june.energy, june.fixed, june.total) == (Decimal(7200), Decimal(900), Decimal(8100))  # 720 kWh at 10¢, 30 days at 30¢
    assert june.utility.amount == Decimal("80.00") and june.difference == Decimal(100)  # we say $81.00, the utility $80.00
    client = signed_in(alice)
    listing = client.get(f"/customer/premises/{premise.pk}/bills/").content.decode()
    assert "1 Jun 2025 to 30 Jun 2025" in listing and "$81.00" in listing and "$80.00" in listing and "$1.00" in listing
    page = client.get(f"/customer/premises/{premise.pk}/bills/2025-06-01/")
    assert page.status_code == 200 and b"Energy from the grid" in page.content and b"720.0 kWh" in page.content
    download = client.get(f"/customer/premises/{premise.pk}/bills/2025-06-01/bill.csv")
    assert download["Content-Disposition"].startswith('attachment; filename="bill-')
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    amounts = {row["item"]: row["amount_usd"] for row in rows}
    assert amounts["energy from the grid"] == "72.00" and amounts["total (computed by the portal)"] == "81.00"
    assert amounts["difference (portal less utility)"] == "1.00"


@pytest.mark.objective("SO-C7")
def test_peter_sees_only_his_own_bills_and_no_one_elses(alice, peter, bob):
    premise = _alices_june(alice)
    _readings_on(premise, date(2023, 6, 1), days=214)  # Peter's last seven months (he moved out on 31 Dec 2023)
    client = signed_in(peter)
    listing = client.get(f"/customer/premises/{premise.pk}/bills/").content.decode()
    assert "Dec 2023" in listing and "2025" not in listing.split("<table")[-1]  # his period ended 31 Dec 2023
    assert client.get(f"/customer/premises/{premise.pk}/bills/2025-06-01/").status_code == 404
    assert client.get(f"/customer/premises/{premise.pk}/bills/2023-06-01/").status_code == 200
    assert signed_in(bob).get(f"/customer/premises/{premise.pk}/bills/").status_code == 404
    assert signed_in(alice).get(f"/customer/premises/{premise.pk}/bills/2023-06-01/").status_code == 404
    assert signed_in(alice).get(f"/customer/premises/{premise.pk}/bills/2025-06-02/").status_code == 404  # not a bill's first day
    assert signed_in(alice).get(f"/customer/premises/{premise.pk}/bills/2025-02-30/").status_code == 404  # not a day at all


def test_the_running_cycle_is_not_a_past_bill(alice):
    premise = alice.customer_account.agreements.get().premise
    today = datetime.now(UTC).date()
    _readings_on(premise, today - timedelta(days=40), days=38)
    bills = bill_history(premise=premise, occupancies=[Occupancy(today - timedelta(days=40), None)], today=today).bills
    assert bills and all(bill.last_day < today for bill in bills)


def _readings_on(premise, first: date, *, days: int):
    """1 kWh an hour on premise-local days ``first`` onwards."""
    start, _ = local_day_bounds(first, premise.timezone)
    _, end = local_day_bounds(first + timedelta(days=days - 1), premise.timezone)
    ingest(readings(premise.meters.get().serial_number, start, hours=int((end - start).total_seconds() // 3600)))


@pytest.mark.objective("BF-CUST-1")
def test_cycles_before_the_readings_start_are_not_bills_and_the_page_says_from_when(alice):
    """Alice moved in on 1 Jan 2024; her meter's readings start on 15 Mar 2025."""
    premise = alice.customer_account.agreements.get().premise
    flat_tariff(premise, rate="10", fixed_daily=Decimal("30"))
    _readings_on(premise, date(2025, 3, 15), days=17 + 30)  # 15 Mar to 30 Apr
    history = bill_history(premise=premise, occupancies=[Occupancy(date(2024, 1, 1), None)], today=date(2025, 5, 10))
    assert [(b.first_day, b.last_day, b.partial) for b in history.bills] == [
        (date(2025, 4, 1), date(2025, 4, 30), False),
        (date(2025, 3, 1), date(2025, 3, 31), True),  # readings from the 15th: shown, marked partial
    ]
    assert history.readings_from == date(2025, 3, 15) and history.without_readings == 14  # Jan 2024 to Feb 2025
    march = history.bills[1]
    assert (march.days_with_readings, march.delivered_wh, march.fixed) == (17, 17 * 24_000, Decimal(31 * 30))


@pytest.mark.objective("BF-CUST-1")
def test_alice_s_bill_page_lists_only_cycles_with_readings_and_marks_the_partial_one(alice):
    premise = alice.customer_account.agreements.get().premise
    flat_tariff(premise, rate="10")
    today = datetime.now(UTC).date()
    first_read = (today.replace(day=1) - timedelta(days=1)).replace(day=10)  # the 10th of last month
    _readings_on(premise, first_read, days=3)
    client = signed_in(alice)
    listing = client.get(f"/customer/premises/{premise.pk}/bills/").content.decode()
    assert f"Bills from {first_read:%B %Y}, when your meter's readings start." in listing
    table = listing.split("<table")[-1]
    assert table.count('<th scope="row">') == 1 and "partial: 3 of" in table
    assert "Jan 2024" not in table  # the move-in cycle has no readings
    assert client.get(f"/customer/premises/{premise.pk}/bills/2024-01-01/").status_code == 404  # not a bill: no readings
    page = client.get(f"/customer/premises/{premise.pk}/bills/{first_read.replace(day=1)}/").content.decode()
    assert "A partial bill: readings cover 3 of" in page


def test_no_readings_at_all_says_bills_start_with_the_readings(alice):
    premise = alice.customer_account.agreements.get().premise
    listing = signed_in(alice).get(f"/customer/premises/{premise.pk}/bills/").content.decode()
    assert "No bills yet: none of your ended billing periods has any meter readings." in listing and "<table" not in listing
