"""Green Button usage summaries: imported once, shown to the occupant, refused when malformed."""

from datetime import date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from amiportal.accounts.roles import Role, role_assign
from amiportal.premises.selectors import Occupancy
from amiportal.premises.services import agreement_move_in
from billing.dashboard import dashboard_build
from billing.formats.espi_read import parse_espi
from billing.models import UtilityBillSummary
from billing.services.greenbutton import greenbutton_import
from tests.billing.test_greenbutton import U, _block, _entry, _feed
from tests.conftest import signed_in
from tests.espi_validation import validation_errors
from tests.factories import CustomerAccountFactory, MeterFactory, PremiseFactory, UserFactory

pytestmark = pytest.mark.django_db
ESPI = 'xmlns="http://naesb.org/espi"'
JAN_1 = 1735711200  # 2025-01-01 00:00 in Chicago
DAY = 86400


@pytest.fixture
def premise():
    premise = PremiseFactory(service_point_id="SP-SUM1")
    MeterFactory(premise=premise, serial_number="E-SUM1")
    return premise


def _summary(number: int, start: int, days: int, bill: int | None, kwh: int, *, tag: str = "UsageSummary", currency: int = 840) -> str:
    amount = f"<billLastPeriod>{bill}</billLastPeriod>" if bill is not None else ""
    body = (
        f"<{tag} {ESPI}><billingPeriod><duration>{days * DAY}</duration><start>{start}</start></billingPeriod>{amount}"
        f"<currency>{currency}</currency>"
        f"<overallConsumptionLastPeriod><powerOfTenMultiplier>3</powerOfTenMultiplier><uom>72</uom><value>{kwh}</value>"
        f"</overallConsumptionLastPeriod><statusTimeStamp>{start + days * DAY}</statusTimeStamp></{tag}>"
    )
    links = f'<link rel="self" href="{U}/UsageSummary/{number}"/><link rel="up" href="{U}/UsageSummary"/>'
    return _entry(f"s{number}", links, body)


def _two_bills() -> bytes:
    readings = _block(1, [(JAN_1 + 900 * i, 900, 100) for i in range(8)])
    return _feed(readings + _summary(1, JAN_1, 31, 9_876_500_000 // 100, 612) + _summary(2, JAN_1 + 31 * DAY, 28, 10_250_000, 540))


def test_the_summary_entries_follow_the_espi_schema():
    head = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><id>f</id><title>t</title><updated>2025-03-01T00:00:00Z</updated>'
    )
    feed = head + _summary(1, JAN_1, 31, 9_876_500, 612) + _summary(2, JAN_1 + 31 * DAY, 28, 10_250_000, 540) + "</feed>"
    # Shaped like a utility's file (links without a type, as most real ones): ESPI 4.0 only, not GBA 3.3's stricter Atom.
    assert validation_errors(feed.encode(), sets=("ESPI 4.0",)) == []


def test_summaries_are_imported_once_and_counted_on_the_summary_line(premise, tmp_path):
    path = tmp_path / "bills.xml"
    path.write_bytes(_two_bills())
    out = StringIO()
    call_command("import_greenbutton", str(path), premise="SP-SUM1", stdout=out)
    assert "imported 8, skipped 0, rejected 0; summaries imported 2, unchanged 0" in out.getvalue()
    january = UtilityBillSummary.objects.get(premise=premise, period_seconds=31 * DAY)
    assert (january.bill_amount, january.currency, january.consumption) == (98_765_000, 840, 612_000)
    assert january.meter.serial_number == "E-SUM1"
    again = StringIO()
    call_command("import_greenbutton", str(path), premise="SP-SUM1", stdout=again)
    assert "imported 0, skipped 8, rejected 0; summaries imported 0, unchanged 2" in again.getvalue()
    assert UtilityBillSummary.objects.filter(premise=premise).count() == 2


def test_a_revised_summary_replaces_the_figures_for_its_period(premise):
    greenbutton_import(premise=premise, data=_feed(_summary(1, JAN_1, 31, 5_000_000, 600)))
    result = greenbutton_import(premise=premise, data=_feed(_summary(1, JAN_1, 31, 5_500_000, 650)))
    assert (result.summaries_imported, result.summaries_unchanged) == (1, 0)
    stored = UtilityBillSummary.objects.get(premise=premise)
    assert (stored.bill_amount, stored.consumption) == (5_500_000, 650_000)


def test_the_older_electric_power_usage_summary_name_is_read_too(premise):
    points = parse_espi(_feed(_summary(1, JAN_1, 30, 1_000_000, 100, tag="ElectricPowerUsageSummary")))
    assert [(s.seconds, s.bill_amount, s.consumption) for p in points for s in p.summaries] == [(30 * DAY, 1_000_000, 100_000)]


@pytest.mark.objective("SO-U2")
@pytest.mark.parametrize(
    ("summary", "reason"),
    [
        (f"<UsageSummary {ESPI}><billLastPeriod>5</billLastPeriod><statusTimeStamp>1</statusTimeStamp></UsageSummary>", "billingPeriod"),
        (
            f"<UsageSummary {ESPI}><billingPeriod><duration>86400</duration><start>soon</start></billingPeriod></UsageSummary>",
            "whole number",
        ),
        (
            f"<UsageSummary {ESPI}><billingPeriod><duration>86400</duration><start>1</start></billingPeriod>"
            f"<billLastPeriod>{2**60}</billLastPeriod></UsageSummary>",
            "48-bit",
        ),
        (
            f"<UsageSummary {ESPI}><billingPeriod><duration>86400</duration><start>1</start></billingPeriod>"
            "<currency>99999</currency></UsageSummary>",
            "ISO 4217",
        ),
    ],
)
def test_malformed_summaries_are_rejected_with_a_reason_and_store_nothing(premise, summary, reason):
    links = f'<link rel="self" href="{U}/UsageSummary/1"/><link rel="up" href="{U}/UsageSummary"/>'
    result = greenbutton_import(premise=premise, data=_feed(_entry("bad", links, summary)))
    assert result.rejected == 1 and reason in result.reports[0].errors[0]["reason"]
    assert not UtilityBillSummary.objects.exists()


def test_a_strict_import_with_a_rejected_reading_stores_no_summary(premise):
    bad = _block(1, [(JAN_1, 900, -5)])
    result = greenbutton_import(premise=premise, data=_feed(bad + _summary(1, JAN_1, 31, 5_000_000, 600)), accept_valid=False)
    assert result.rejected == 1 and result.summaries_imported == 0
    assert not UtilityBillSummary.objects.exists()


@pytest.mark.objective("SO-C7")
def test_the_dashboard_shows_the_occupants_own_utility_bills_only(premise):
    greenbutton_import(premise=premise, data=_two_bills())
    user = UserFactory(email="summaries@example.test")
    role_assign(user=user, role=Role.CUSTOMER)
    account = CustomerAccountFactory(user=user)
    agreement_move_in(account=account, premise=premise, move_in=date(2025, 2, 1))
    page = signed_in(user).get(f"/customer/premises/{premise.pk}/usage/").content.decode()
    assert "Past bills from your utility" in page
    assert "1 Feb 2025 to 28 Feb 2025" in page and "$102.50" in page and "540.0 kWh" in page
    assert "31 Jan 2025" not in page  # January's bill belongs to whoever lived here then
    # The previous occupant (to 31 January) sees January's bill and not February's.
    context = dashboard_build(premise=premise, occupancies=[Occupancy(date(2024, 6, 1), date(2025, 1, 31))], now=datetime(2025, 3, 1))
    assert [(b.first_day, b.amount) for b in context["utility_bills"]] == [(date(2025, 1, 1), Decimal("987.65"))]
