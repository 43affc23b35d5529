"""Operator tariff pages: Olga reads terms, adds versions, moves premises between tariffs and sets billing cycles."""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import hypothesis
import pytest
from hypothesis import strategies as st

from amiportal.audit.models import AuditEntry
from billing.models import BillCycle, PremiseTariff, PricingKind, Tariff, TariffVersion
from billing.services.ingest import local_day_bounds
from billing.services.tariffs import tariff_version_create
from billing.tariff_engine import tou_schedule, validate_definition
from tests.billing.helpers import ingest, readings
from tests.billing.tariffs import TOU, flat_tariff, tou_tariff
from tests.conftest import CsrfClient, form_errors, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_home(alice):
    premise = alice.customer_account.agreements.get().premise
    tou_tariff(premise)
    return premise


def _local_today(premise) -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(premise.timezone)).date()


def _version_post(**overrides) -> dict:
    data = {
        "effective_from": "2026-01-01",
        "pricing": "tou",
        "flat_rate": "",
        "definition": json.dumps(TOU),
        "fixed_daily": "30",
        "fixed_monthly": "0",
        "export_credit": "retail",
        "export_rate": "",
        "critical_peak_multiplier": "2.5",
        "critical_peak_adder": "",
    }
    return {**data, **overrides}


def test_olga_sees_each_tariff_its_versions_and_premises_on_it_today(olga, alice_home, bob):
    tariff = Tariff.objects.get()
    flat_tariff()
    page = signed_in(olga).get("/operator/tariffs/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<caption>Tariffs</caption>" in html and tariff.code in html and "1 Jan 2024 (time of use)" in html
    assert {t.code: t.premises_now for t in page.context["tariffs"]} == {tariff.code: 1, "FLAT-1": 0}
    assert 'href="/operator/tariffs/"' in signed_in(olga).get("/operator/").content.decode()  # in the operator nav


def test_tariff_detail_reads_the_terms_as_the_engine_prices_them(olga, alice_home):
    tariff = Tariff.objects.get()
    tariff_version_create(
        tariff=tariff,
        effective_from=date(2030, 1, 1),
        pricing=PricingKind.TIERED,
        definition={"tiers": [{"up_to_kwh": 500, "rate": "11.8"}, {"up_to_kwh": None, "rate": "18.9"}]},
        critical_peak_adder=Decimal("60"),
    )
    html = signed_in(olga).get(f"/operator/tariffs/{tariff.pk}/").content.decode()
    assert html.index("From 1 Jan 2024") < html.index("From 1 Jan 2030")
    assert "(in force today)" in html
    # Summer weekdays: off-peak to 07:00, mid-peak 07:00 to 16:00, peak 16:00 to 21:00, as in tests/billing/tariffs.py.
    assert "<caption>Summer (Jun, Jul, Aug, Sep): time-of-use periods by local hour</caption>" in html
    assert '07:00 to 16:00</td>\n      <td><span class="tou-chip tou-mid_peak">Mid-peak (Summer)</span></td>\n      <td>15¢' in html
    assert "16:00 to 21:00" in html and "Weekends and holidays" in html and "Priced as weekends: 2025-07-04." in html
    assert "0 to 500 kWh" in html and "above 500 kWh" in html and "18.9¢" in html and "plus 60¢ per kWh" in html
    assert "style=" not in html and "<script" not in html


@pytest.mark.objective("SO-C13")
def test_olga_creates_a_version_assigns_a_tariff_and_sets_a_bill_cycle_all_audited(olga, alice_home):
    tariff = Tariff.objects.get()
    client = signed_in(olga)
    form = client.get(f"/operator/tariffs/{tariff.pk}/versions/new/").content.decode()
    assert "off_peak" in form  # starts from the latest version's definition
    response = client.post(f"/operator/tariffs/{tariff.pk}/versions/new/", _version_post())
    assert response.status_code == 302 and response.url == f"/operator/tariffs/{tariff.pk}/"
    version = tariff.versions.get(effective_from=date(2026, 1, 1))
    assert (version.pricing, version.definition, version.critical_peak_multiplier) == ("tou", TOU, Decimal("2.5"))

    flat = flat_tariff(rate="20")
    start = date(2025, 3, 1)
    response = client.post(f"/operator/tariffs/premises/{alice_home.pk}/assign/", {"tariff": flat.pk, "start": start.isoformat()})
    assert response.status_code == 302
    history = list(PremiseTariff.objects.filter(premise=alice_home).values_list("tariff_id", "start", "end"))
    assert history == [(tariff.pk, date(2024, 1, 1), date(2025, 2, 28)), (flat.pk, start, None)]

    response = client.post(f"/operator/tariffs/premises/{alice_home.pk}/bill-cycle/", {"start_day": "15"})
    assert response.status_code == 302
    assert BillCycle.objects.get(premise=alice_home).start_day == 15

    page = client.get(f"/operator/tariffs/premises/{alice_home.pk}/").content.decode()
    assert "Cycles start on day 15 of each month." in page and "still on it" in page and "28 Feb 2025" in page
    audited = {entry.action: entry for entry in AuditEntry.objects.filter(actor_id=olga.pk)}
    assert audited["billing.tariff_version_created"].target == f"tariff:{tariff.pk}"
    assert json.loads(audited["billing.premise_tariff_assigned"].payload) == {
        "tariff": flat.code,
        "commodity": "electric",
        "start": "2025-03-01",
    }
    assert json.loads(audited["billing.bill_cycle_set"].payload) == {"start_day": 15}


def test_olga_creates_a_tariff_and_is_sent_to_its_first_version(olga, alice_home):
    client = signed_in(olga)
    response = client.post("/operator/tariffs/new/", {"code": "EV-NIGHT", "name": "Electric vehicle night"})
    tariff = Tariff.objects.get(code="EV-NIGHT")
    assert response.status_code == 302 and response.url == f"/operator/tariffs/{tariff.pk}/versions/new/"
    assert AuditEntry.objects.get(action="billing.tariff_created").target == f"tariff:{tariff.pk}"
    again = client.post("/operator/tariffs/new/", {"code": "ev-night", "name": "Twice"})
    assert again.status_code == 200 and "There is already a tariff with the code ev-night." in form_errors(again.content.decode())
    assert Tariff.objects.filter(code__iexact="ev-night").count() == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"definition": json.dumps({**TOU, "seasons": TOU["seasons"][:1]})}, "TOU seasons must cover each month exactly once"),
        ({"definition": '{"periods": '}, "This is not valid JSON"),
        ({"definition": "[1, 2]"}, "The definition must be a JSON object"),
        ({"pricing": "tiered", "definition": '{"tiers": [{"up_to_kwh": null, "rate": "cheap"}]}'}, "tier 1: the rate must be a number"),
        ({"definition": json.dumps({**TOU, "seasons": "all year"})}, "seasons must be a list of objects"),
        ({"pricing": "flat", "definition": "{}"}, "a flat rate is needed"),
        ({"export_credit": "export_rate"}, "an export rate is needed"),
        ({"effective_from": "2024-01-01"}, "already has a version effective from 2024-01-01"),
        ({"fixed_daily": "-1"}, "greater than or equal to 0"),
    ],
)
def test_a_bad_version_shows_the_reason_and_stores_nothing(olga, alice_home, changes, message):
    tariff = Tariff.objects.get()
    audit_before = AuditEntry.objects.count()
    response = signed_in(olga).post(f"/operator/tariffs/{tariff.pk}/versions/new/", _version_post(**changes))
    assert response.status_code == 200
    errors = form_errors(response.content.decode())
    assert any(message in error.replace("&#x27;", "'") for error in errors), errors
    assert TariffVersion.objects.filter(tariff=tariff).count() == 1
    assert AuditEntry.objects.count() == audit_before


def test_an_assignment_before_the_latest_one_and_a_bad_cycle_day_are_refused(olga, alice_home):
    client = signed_in(olga)
    flat = flat_tariff()
    response = client.post(f"/operator/tariffs/premises/{alice_home.pk}/assign/", {"tariff": flat.pk, "start": "2023-12-31"})
    assert response.status_code == 400
    assert "The premise already has a tariff starting on or after that day." in form_errors(response.content.decode())
    response = client.post(f"/operator/tariffs/premises/{alice_home.pk}/bill-cycle/", {"start_day": "32"})
    assert response.status_code == 400 and form_errors(response.content.decode())
    assert PremiseTariff.objects.filter(premise=alice_home).count() == 1 and not BillCycle.objects.exists()


def test_a_premise_is_found_by_its_service_point(olga, alice_home):
    client = signed_in(olga)
    response = client.get("/operator/tariffs/", {"premise": alice_home.service_point_id})
    assert response.status_code == 302 and response.url == f"/operator/tariffs/premises/{alice_home.pk}/"
    missing = client.get("/operator/tariffs/", {"premise": "SP-NOPE"}).content.decode()
    assert "No premise has that service point ID." in form_errors(missing)


@pytest.mark.objective("SO-C4")
@pytest.mark.parametrize("persona", ["alice", "ivan", "trent", "anonymous"])
def test_only_operators_reach_the_tariff_pages_and_nothing_changes(persona, request, alice_home):
    client = CsrfClient() if persona == "anonymous" else signed_in(request.getfixturevalue(persona))
    tariff = Tariff.objects.get()
    pages = [
        "/operator/tariffs/",
        "/operator/tariffs/new/",
        f"/operator/tariffs/{tariff.pk}/",
        f"/operator/tariffs/{tariff.pk}/versions/new/",
    ]
    pages.append(f"/operator/tariffs/premises/{alice_home.pk}/")
    for url in pages:
        response = client.get(url)
        if persona == "anonymous":
            assert response.status_code == 302 and response.url.startswith("/accounts/login/"), url
        else:
            assert response.status_code == 403, url
    posts = [
        ("/operator/tariffs/new/", {"code": "SNEAKY", "name": "Sneaky"}),
        (f"/operator/tariffs/{tariff.pk}/versions/new/", _version_post()),
        (f"/operator/tariffs/premises/{alice_home.pk}/assign/", {"tariff": tariff.pk, "start": "2026-01-01"}),
        (f"/operator/tariffs/premises/{alice_home.pk}/bill-cycle/", {"start_day": "9"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code in ({302} if persona == "anonymous" else {403}), url
    assert (
        Tariff.objects.count() == 1
        and TariffVersion.objects.count() == 1
        and PremiseTariff.objects.count() == 1
        and not BillCycle.objects.exists()
    )


def test_posts_without_a_csrf_token_are_refused(olga, alice_home):
    client = signed_in(olga)
    response = client.post(f"/operator/tariffs/premises/{alice_home.pk}/bill-cycle/", {"start_day": "9", "csrfmiddlewaretoken": ""})
    assert response.status_code == 403 and not BillCycle.objects.exists()


def test_alices_dashboard_prices_at_the_tariff_olga_assigns(olga, alice, alice_home):
    today = _local_today(alice_home)
    start, _ = local_day_bounds(today - timedelta(days=1), alice_home.timezone)
    ingest(readings(alice_home.meters.get().serial_number, start, hours=24))
    flat = Tariff.objects.create(code="RES-NEW", name="Residential new flat")
    olga_client = signed_in(olga)
    response = olga_client.post(
        f"/operator/tariffs/{flat.pk}/versions/new/", _version_post(pricing="flat", flat_rate="42.5", definition="{}")
    )
    assert response.status_code == 302
    response = olga_client.post(f"/operator/tariffs/premises/{alice_home.pk}/assign/", {"tariff": flat.pk, "start": today.isoformat()})
    assert response.status_code == 302
    page = signed_in(alice).get(f"/customer/premises/{alice_home.pk}/usage/").content.decode()
    price_now = page.split('id="price-now"')[1].split("</section>")[0]
    assert "Standard" in price_now and "42.5¢ per kWh" in price_now


_KEYS = ["periods", "holidays", "seasons", "name", "months", "default", "rates", "windows", "period", "days", "start", "end"]
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 30) | st.floats() | st.sampled_from(["", "off_peak", "weekday", "2025-07-04", "x"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from([*_KEYS, "tiers", "up_to_kwh", "rate", "off_peak"]), inner, max_size=6)
    ),
    max_leaves=25,
)


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(pricing=st.sampled_from(PricingKind.values), definition=_json)
def test_any_json_definition_gives_reasons_never_an_exception(pricing, definition):
    problems = validate_definition(pricing, definition, Decimal(1))
    assert all(isinstance(problem, str) for problem in problems)
    if not problems and pricing == PricingKind.TOU:
        assert len(tou_schedule(definition)) >= 1  # what passes validation can be priced and shown
