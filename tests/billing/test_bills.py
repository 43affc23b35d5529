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
        for b in bill_history(premise=premise, occupancies=[Occupancy(date(2024, 1, 1), None)], today=date(2026, 12, 3))
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
    bills = bill_history(premise=premise, occupancies=[Occupancy(today - timedelta(days=40), None)], today=today)
    assert bills and all(bill.last_day < today for bill in bills)
