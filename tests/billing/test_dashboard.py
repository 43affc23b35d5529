"""The customer dashboard, downloads and the operator's view: own premises and own occupancy only."""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from amiportal.accounts.roles import Role, role_assign
from amiportal.audit.models import AuditEntry
from amiportal.premises.models import Premise
from amiportal.premises.selectors import Occupancy
from amiportal.premises.services import agreement_move_in, agreement_move_out
from billing.dashboard import SIMILAR_HOMES_MIN_GROUP, dashboard_build, similar_homes
from billing.models import Channel
from billing.services.ingest import local_day_bounds
from billing.services.similar_homes import similar_homes_refresh
from tests.billing.helpers import ingest, readings, up_to_now
from tests.billing.tariffs import tou_tariff
from tests.conftest import signed_in
from tests.espi_validation import validation_errors
from tests.factories import CustomerAccountFactory, MeterFactory, PremiseFactory, UserFactory

pytestmark = pytest.mark.django_db


def _premise_of(user) -> Premise:
    return user.customer_account.agreements.get().premise


def _fill_days(premise, first: date, days: int, value=lambda m: 250, channel=Channel.DELIVERED):
    meter = premise.meters.get()
    start, _ = local_day_bounds(first, premise.timezone)
    _, end = local_day_bounds(first + timedelta(days=days - 1), premise.timezone)
    ingest(up_to_now(readings(meter.serial_number, start, hours=int((end - start).total_seconds() // 3600), value=value, channel=channel)))


@pytest.fixture
def alice_home(alice):
    premise = _premise_of(alice)
    premise.has_der = True
    premise.save()
    tou_tariff(premise, critical_peak_multiplier=Decimal(2))
    today = datetime.now(UTC).astimezone(premise_zone(premise)).date()
    _fill_days(premise, today - timedelta(days=2), 3)
    _fill_days(
        premise,
        today - timedelta(days=2),
        3,
        value=lambda m: 100 if 10 <= m.astimezone(premise_zone(premise)).hour < 15 else 0,
        channel=Channel.RECEIVED,
    )
    return premise


def premise_zone(premise):
    from zoneinfo import ZoneInfo

    return ZoneInfo(premise.timezone)


@pytest.mark.objective("SO-C7")
@pytest.mark.objective("BF-CUST-1")
def test_alice_sees_price_bill_charts_everyday_costs_and_net_metering(alice, alice_home):
    response = signed_in(alice).get(f"/customer/premises/{alice_home.pk}/usage/")
    assert response.status_code == 200
    page = response.content.decode()
    for text in [
        "Price now",
        "Bill to date",
        "Projected bill",
        "What things cost",
        "A load of laundry",
        "Your solar and the grid",
        "Show the numbers as a table",
        "Download CSV",
    ]:
        assert text in page, text
    assert "tou-chip tou-" in page and ("(Summer)" in page or "(Winter)" in page)  # TOU named, not colour alone
    charts = json.loads(page.split('id="billing-chart-data" type="application/json">')[1].split("</script>")[0])
    assert [c["key"] for c in charts] == ["day"]  # the chosen period's chart only (tests/billing/test_dashboard_periods.py)
    day = charts[0]
    assert len(day["labels"]) == len(day["periods"]) == len(day["periodLabels"]) > 0
    assert any(v > 0 for v in day["received"]) or datetime.now(UTC).astimezone(premise_zone(alice_home)).hour < 11
    assert '<script src="/static/vendor/chart.umd.min.js">' in page
    assert "style=" not in page  # CSP: style-src 'self' only


@pytest.mark.objective("SO-C5")
def test_bob_gets_404_for_alices_premise_and_its_downloads(alice, alice_home, bob):
    client = signed_in(bob)
    for path in ["usage/", "usage/readings.csv", "usage/greenbutton.xml", "usage/intervals.json"]:
        assert client.get(f"/customer/premises/{alice_home.pk}/{path}").status_code == 404, path


@pytest.mark.objective("SO-C5")
def test_downloads_cover_the_chosen_range_and_validate(alice, alice_home):
    client = signed_in(alice)
    today = datetime.now(UTC).astimezone(premise_zone(alice_home)).date()
    query = f"?start={today - timedelta(days=2)}&end={today - timedelta(days=1)}"
    csv_body = b"".join(client.get(f"/customer/premises/{alice_home.pk}/usage/readings.csv{query}").streaming_content).decode()
    lines = csv_body.strip().splitlines()
    assert lines[0].startswith("meter,channel,start,seconds,value,unit,quality")
    first, _ = local_day_bounds(today - timedelta(days=2), alice_home.timezone)
    _, last = local_day_bounds(today - timedelta(days=1), alice_home.timezone)
    assert len(lines) - 1 == 2 * int((last - first).total_seconds() // 900)  # two days, two channels
    xml = b"".join(client.get(f"/customer/premises/{alice_home.pk}/usage/greenbutton.xml{query}").streaming_content)
    assert validation_errors(xml) == []
    # A download has no subscription: its usage points sit under the customer's account (RetailCustomer), as in GBA's samples.
    assert f"http://testserver/espi/1_1/resource/RetailCustomer/{alice.customer_account.pk}/UsagePoint/".encode() in xml
    bad = client.get(f"/customer/premises/{alice_home.pk}/usage/readings.csv?start=2025-02-01&end=2025-01-01")
    assert bad.status_code == 400


@pytest.mark.objective("SO-C7")
def test_a_new_occupant_never_sees_the_previous_occupants_readings(db):
    premise = PremiseFactory()
    MeterFactory(premise=premise, serial_number="E-MOVE")
    old = CustomerAccountFactory()
    agreement = agreement_move_in(account=old, premise=premise, move_in=date(2025, 1, 1))
    agreement_move_out(agreement=agreement, move_out=date(2025, 6, 10))
    newcomer_user = UserFactory(email="new@example.test")
    role_assign(user=newcomer_user, role=Role.CUSTOMER)
    newcomer = CustomerAccountFactory(user=newcomer_user)
    agreement_move_in(account=newcomer, premise=premise, move_in=date(2025, 6, 11))
    _fill_days(premise, date(2025, 6, 8), 6, value=lambda m: 999)  # 8th to 13th: three days each
    response = signed_in(newcomer_user).get(f"/customer/premises/{premise.pk}/usage/intervals.json?start=2025-06-01&end=2025-06-30")
    data = response.json()
    first_local = datetime.fromtimestamp(data["start"][0], UTC).astimezone(premise_zone(premise)).date()
    assert first_local == date(2025, 6, 11) and len(data["start"]) == 3 * 96
    xml = b"".join(
        signed_in(newcomer_user)
        .get(f"/customer/premises/{premise.pk}/usage/greenbutton.xml?start=2025-06-01&end=2025-06-30")
        .streaming_content
    )
    assert xml.count(b"<IntervalReading>") == 3 * 96
    context = dashboard_build(
        premise=premise,
        occupancies=[Occupancy(date(2025, 6, 11), None)],
        now=datetime(2025, 6, 13, 18, tzinfo=UTC),
        query={"period": "month", "on": "2025-06-13"},
    )
    (month,) = context["charts"]
    assert month.labels == ["Wed 11 Jun", "Thu 12 Jun", "Fri 13 Jun"]
    assert context["bill"]["last_year"] is None


@pytest.mark.objective("SO-C7")
@pytest.mark.objective("BF-CUST-1")
def test_similar_homes_hide_below_the_minimum_group_and_show_a_percentile_above(db):
    homes = []
    for index in range(SIMILAR_HOMES_MIN_GROUP + 1):
        premise = PremiseFactory()
        MeterFactory(premise=premise, serial_number=f"E-SIM{index}")
        homes.append(premise)
    today = date(2025, 7, 31)
    occupancy = [Occupancy(date(2025, 1, 1), None)]
    for index, premise in enumerate(homes[:3]):
        _fill_days(premise, today - timedelta(days=30), 30, value=lambda m, i=index: 100 * (i + 1))
    similar_homes_refresh(as_of=today - timedelta(days=1))  # the daily beat task
    hidden = similar_homes(premise=homes[0], meter=homes[0].meters.get(), today=today, occupancies=occupancy)
    assert hidden["shown"] is False and "Too few" in hidden["reason"]
    for index, premise in enumerate(homes[3:], 3):
        _fill_days(premise, today - timedelta(days=30), 30, value=lambda m, i=index: 100 * (i + 1))
    similar_homes_refresh(as_of=today - timedelta(days=1), recompute=True)
    shown = similar_homes(premise=homes[-1], meter=homes[-1].meters.get(), today=today, occupancies=occupancy)
    assert (shown["shown"], shown["percentile"], shown["group_size"]) == (True, 100, SIMILAR_HOMES_MIN_GROUP)


@pytest.mark.objective("SO-C5")
def test_staff_must_give_a_reason_before_seeing_usage_and_the_customer_can_see_it(alice, alice_home, olga):
    client = signed_in(olga)
    account = alice.customer_account
    url = f"/operator/customers/{account.pk}/premises/{alice_home.pk}/usage/"
    first = client.get(url)
    assert first.status_code == 302 and first.url == f"/operator/customers/{account.pk}/"
    client.post(f"/operator/customers/{account.pk}/", {"reason": "Ticket 4411: high bill complaint"})
    opened = client.get(url)
    assert opened.status_code == 200 and b"Staff view" in opened.content
    actions = list(AuditEntry.objects.filter(customer_account_id=account.pk).values_list("action", flat=True))
    assert "staff.customer_data_opened" in actions and "billing.staff_usage_viewed" in actions
    other = PremiseFactory()
    assert client.get(f"/operator/customers/{account.pk}/premises/{other.pk}/usage/").status_code == 404


def test_an_operator_declares_a_critical_peak_day(olga, alice_home):
    from billing.models import CriticalPeakEvent, Tariff

    tariff = Tariff.objects.get()
    response = signed_in(olga).post(
        "/operator/critical-peak/", {"tariff": tariff.pk, "day": "2025-08-01", "start_hour": 14, "end_hour": 19}
    )
    assert response.status_code == 302
    event = CriticalPeakEvent.objects.get()
    assert (event.day, event.start_hour, event.end_hour, event.declared_by) == (date(2025, 8, 1), 14, 19, olga)


def test_customer_home_links_to_the_dashboard(alice, alice_home):
    page = signed_in(alice).get("/customer/").content.decode()
    assert f"/customer/premises/{alice_home.pk}/usage/" in page


@pytest.mark.objective("BF-PRICE-1")
def test_price_now_names_the_period_and_the_next_change_in_local_time(db):
    from django.template.loader import render_to_string

    premise = PremiseFactory()
    MeterFactory(premise=premise, serial_number="E-PN")
    tou_tariff(premise)
    _fill_days(premise, date(2025, 7, 2), 2)
    now = datetime(2025, 7, 3, 17, 30, tzinfo=UTC)  # 12:30 in Chicago, a summer weekday: mid-peak until 16:00
    context = dashboard_build(premise=premise, occupancies=[Occupancy(date(2024, 1, 1), None)], now=now)
    price = context["price_now"]
    assert (price["price"].label, price["next_price"].label) == ("Mid-peak (Summer)", "Peak (Summer)")
    assert price["next_at"].hour == 16
    html = render_to_string("billing/dashboard.html", {**context, "download_form": None})
    assert "From Thu 16:00" in html and "tou-chip tou-mid_peak" in html
    laundry = context["everyday"][0]
    assert laundry["cheapest"] < laundry["now"] and laundry["cheapest_period"].period == "off_peak"


def test_chart_tables_escape_their_cells_and_name_the_price_period():
    from billing.period_charts import ChartSeries
    from billing.templatetags.billing_format import chart_table_rows

    chart = ChartSeries("day", "Today", "kWh", labels=["00:00", "<b>"], delivered=[0.25, 1.0], received=[0.0, 0.5])
    chart.period_labels = ["Off-peak (Winter)", "Peak & more"]
    html = str(chart_table_rows(chart, True))
    assert html.count("<tr>") == 2 and "&lt;b&gt;" in html and "Peak &amp; more" in html
    assert '<tr><th scope="row">00:00</th><td>0.25</td><td>0.0</td><td>Off-peak (Winter)</td></tr>' in html
    assert "<td>0.5</td>" not in str(chart_table_rows(chart, False))
