"""What the API serves under a consent: ESPI XML that validates, JSON, filters, and the bounds of the consent."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from tests.conftest import signed_in
from tests.espi_validation import ATOM, links, parse, validation_errors
from tests.thirdparty import world
from tests.thirdparty.data import day_of_readings
from thirdparty.models import AccessLogEntry, Consent

pytestmark = pytest.mark.django_db

ROOT = "/espi/1_1/resource"
YESTERDAY = timezone.localdate() - timedelta(days=1)


@pytest.fixture
def meter(alice):
    meter = world.premise_of(alice).meters.get()
    day_of_readings(meter, YESTERDAY - timedelta(days=1), value=100)
    day_of_readings(meter, YESTERDAY, value=200)
    return meter


@pytest.fixture
def consent(tokens):
    return Consent.objects.get()


def _get(api, tokens, path, accept="application/json", **params):
    return api.get(path, params, HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}", HTTP_ACCEPT=accept)


def _xml(api, tokens, path, **params):
    response = _get(api, tokens, path, accept="application/atom+xml", **params)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/atom+xml")
    assert "no-store" in response["Cache-Control"]
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert validation_errors(body) == []
    return parse(body)


@pytest.mark.parametrize(
    "path",
    [
        "ReadServiceStatus",
        "Authorization",
        "Authorization/{consent}",
        "Subscription/{consent}/UsagePoint",
        "Subscription/{consent}/UsagePoint/{meter}",
        "Subscription/{consent}/UsagePoint/{meter}/MeterReading",
        "Subscription/{consent}/UsagePoint/{meter}/MeterReading/1",
        "Subscription/{consent}/UsagePoint/{meter}/MeterReading/1/IntervalBlock",
        "Subscription/{consent}/UsagePoint/{meter}/MeterReading/1/IntervalBlock/{day}",
        "Subscription/{consent}/UsagePoint/{meter}/UsageSummary",
        "ReadingType/{meter}-1",
        "Batch/Subscription/{consent}",
        "Subscription/{consent}",
        "Subscription/{consent}/UsagePoint/{meter}/UsageSummary/{month}",
        "ReadingType",
        "LocalTimeParameters",
        "LocalTimeParameters/{premise}",
        "ApplicationInformation",
        "ApplicationInformation/{application}",
    ],
)
def test_every_resource_is_espi_xml_that_validates(path, api, tokens, consent, meter):
    """Each validates against ESPI 4.0 and GBA 3.3 (``validation_errors`` checks both)."""
    values = {"consent": consent.pk, "meter": meter.pk, "day": YESTERDAY.strftime("%Y%m%d"), "month": YESTERDAY.strftime("%Y%m")}
    _xml(api, tokens, f"{ROOT}/" + path.format(**values, premise=meter.premise_id, application=consent.application_id))


def test_entries_carry_self_up_and_related_links(api, tokens, consent, meter):
    feed = _xml(api, tokens, f"{ROOT}/Subscription/{consent.pk}/UsagePoint")
    (point,) = feed.findall(f"{ATOM}entry")
    point_links = links(point)
    base = f"http://testserver{ROOT}/Subscription/{consent.pk}/UsagePoint"
    assert point_links["self"] == [f"{base}/{meter.pk}"]
    assert point_links["up"] == [base]
    assert f"{base}/{meter.pk}/MeterReading" in point_links["related"]
    assert f"{base}/{meter.pk}/UsageSummary" in point_links["related"]
    reading = _xml(api, tokens, f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/1")
    related = links(reading)["related"]
    assert f"{base}/{meter.pk}/MeterReading/1/IntervalBlock" in related
    assert f"http://testserver{ROOT}/ReadingType/{meter.pk}-1" in related


def test_related_links_resolve(api, tokens, consent, meter):
    reading = _xml(api, tokens, f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/1")
    for href in links(reading)["related"] + links(reading)["up"]:
        assert _get(api, tokens, href.removeprefix("http://testserver")).status_code == 200, href


def test_json_interval_blocks_hold_the_readings(api, tokens, consent, meter):
    response = _get(api, tokens, f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/1/IntervalBlock")
    data = response.json()
    assert data["total_results"] == 2
    values = [{r["value"] for r in block["content"]["IntervalReading"]} for block in data["entries"]]
    assert values == [{100}, {200}]
    assert len(data["entries"][1]["content"]["IntervalReading"]) == 96


def test_start_index_and_max_results_page_the_blocks(api, tokens, consent, meter):
    path = f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/1/IntervalBlock"
    data = _get(api, tokens, path, **{"start-index": "2", "max-results": "1"}).json()
    assert data["total_results"] == 2 and len(data["entries"]) == 1
    assert data["entries"][0]["content"]["IntervalReading"][0]["value"] == 200


def test_published_min_limits_the_interval_starts(api, tokens, consent, meter):
    path = f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/1/IntervalBlock"
    start = timezone.make_aware(timezone.datetime.combine(YESTERDAY, timezone.datetime.min.time()), timezone.get_default_timezone())
    # Premise-local midnight is later than UTC midnight in America/Chicago: the first hours are cut.
    data = _get(api, tokens, path, **{"published-min": start.strftime("%Y-%m-%dT%H:%M:%SZ")}).json()
    assert data["total_results"] >= 1
    first_start = data["entries"][0]["content"]["IntervalReading"][0]["timePeriod"]["start"]
    assert first_start >= int(start.timestamp())


def test_updated_filters_use_the_time_the_utility_received_the_data(api, tokens, consent, meter):
    path = f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/1/IntervalBlock"
    later = (timezone.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _get(api, tokens, path, **{"updated-min": later}).json()["total_results"] == 0
    assert _get(api, tokens, path, **{"updated-max": later}).json()["total_results"] == 2


def test_bounds_outside_the_utc_range_are_clamped_not_refused(api, tokens, consent, meter):
    # Valid RFC 3339 moments the schema allows (found by schemathesis' positive_data_acceptance): year 1 at +14:00 is
    # before every reading, year 9999 at -14:00 after every one; both used to be a 400 for having no UTC equivalent.
    path = f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/1/IntervalBlock"
    response = _get(api, tokens, path, **{"published-min": "0001-01-01T00:00:00+14:00", "published-max": "9999-12-31T23:59:59-14:00"})
    assert response.status_code == 200 and response.json()["total_results"] == 2


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"published-min": "yesterday"}, "published-min"),
        ({"updated-max": "2025-13-45T00:00:00Z"}, "updated-max"),
        ({"max-results": "0"}, "max-results"),
        ({"max-results": "ten"}, "max-results"),
        ({"start-index": "-1"}, "start-index"),
        ({"published-min": "2025-02-01T00:00:00Z", "published-max": "2025-01-01T00:00:00Z"}, "published-min"),
    ],
)
def test_malformed_parameters_get_400_with_a_clear_message(params, named, api, tokens, consent, meter):
    response = _get(api, tokens, f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/1/IntervalBlock", **params)
    assert response.status_code == 400
    assert named in response.json()


def test_unknown_ids_are_404(api, tokens, consent, meter):
    for path in [
        f"Subscription/{consent.pk + 1000}/UsagePoint",
        f"Subscription/{consent.pk}/UsagePoint/{meter.pk + 1000}",
        f"Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/7",
        f"Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/1/IntervalBlock/20200101",
        f"Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/1/IntervalBlock/99999999",
        "ReadingType/nonsense",
        f"Authorization/{consent.pk + 1000}",
    ]:
        assert _get(api, tokens, f"{ROOT}/{path}").status_code == 404, path


@pytest.mark.objective("SO-C5")
def test_no_data_older_than_the_history_length(alice, application, api):
    meter = world.premise_of(alice).meters.get()
    old_day = timezone.localdate() - timedelta(days=75)
    day_of_readings(meter, old_day)
    day_of_readings(meter, YESTERDAY)
    tokens = world.obtain_tokens(signed_in(alice), api, application, alice, history=1)
    consent = Consent.objects.get()
    data = _get(api, tokens, f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/1/IntervalBlock").json()
    assert data["total_results"] == 1
    block = int(old_day.strftime("%Y%m%d"))
    assert (
        _get(api, tokens, f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/1/IntervalBlock/{block}").status_code == 404
    )


@pytest.mark.objective("SO-C5")
def test_no_data_from_before_the_customer_moved_in(alice, application, api):
    meter = world.premise_of(alice).meters.get()
    move_in = alice.customer_account.agreements.get().move_in
    day_of_readings(meter, move_in - timedelta(days=1), value=999)
    day_of_readings(meter, move_in, value=111)
    tokens = world.obtain_tokens(signed_in(alice), api, application, alice, history=120, scope="FB=1_3_4_5_13_14_15;HistoryLength=120")
    consent = Consent.objects.get()
    data = _get(api, tokens, f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/1/IntervalBlock").json()
    values = {r["value"] for block in data["entries"] for r in block["content"]["IntervalReading"]}
    assert values == {111}


def test_batch_subscription_streams_every_usage_point(api, tokens, consent, meter):
    response = _get(api, tokens, f"{ROOT}/Batch/Subscription/{consent.pk}")
    assert response.streaming
    import json

    data = json.loads(b"".join(response.streaming_content))
    kinds = [entry["type"] for entry in data["entries"]]
    assert kinds.count("UsagePoint") == 1 and kinds.count("IntervalBlock") == 2
    log = AccessLogEntry.objects.get(resource__contains="Batch")
    assert log.items == 192


def test_usage_summary_without_a_tariff_still_reports_the_period(api, tokens, consent, meter):
    data = _get(api, tokens, f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}/UsageSummary").json()
    assert data["entries"]
    assert all("billingPeriod" in entry["content"] for entry in data["entries"])


@pytest.mark.objective("SO-T1")
def test_every_request_is_in_the_customers_access_log(alice, api, tokens, consent, meter):
    _get(api, tokens, f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/1/IntervalBlock")
    _get(api, tokens, f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk + 1000}")
    entries = list(AccessLogEntry.objects.order_by("at"))
    assert [(e.status_code, e.items) for e in entries] == [(200, 192), (404, 0)]
    assert entries[0].premise == meter.premise
    page = signed_in(alice).get("/customer/access/log/").content.decode()
    assert "usage readings" in page and "192" in page and "Refused: not part of what you shared" in page
    assert "IntervalBlock" not in page


def test_rate_limit_per_consent_answers_429_with_retry_after(api, tokens, settings):
    settings.AMI_TP_RATE_PER_CONSENT = "3/minute"
    statuses = [_get(api, tokens, f"{ROOT}/ReadServiceStatus").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = _get(api, tokens, f"{ROOT}/ReadServiceStatus")
    assert response.status_code == 429 and int(response["Retry-After"]) > 0


def test_rate_limit_per_client_counts_all_its_consents(alice, bob, application, api, settings):
    settings.AMI_TP_RATE_PER_CLIENT = "2/minute"
    first = world.obtain_tokens(signed_in(alice), api, application, alice)
    second = world.obtain_tokens(signed_in(bob), api, application, bob)
    assert _get(api, first, f"{ROOT}/ReadServiceStatus").status_code == 200
    assert _get(api, second, f"{ROOT}/ReadServiceStatus").status_code == 200
    assert _get(api, first, f"{ROOT}/ReadServiceStatus").status_code == 429


def test_access_token_in_the_query_string_is_not_accepted(api, tokens):
    response = api.get(f"{ROOT}/ReadServiceStatus", {"access_token": tokens["access_token"]})
    assert response.status_code == 401


def test_authorization_resource_describes_the_consent(api, tokens, consent):
    entry = _get(api, tokens, f"{ROOT}/Authorization/{consent.pk}").json()
    content = entry["content"]
    assert content["status"] == 1 and content["scope"] == "interval_usage usage_summary"
    assert content["resourceURI"].endswith(f"/Subscription/{consent.pk}")
    assert "access_token" not in content
    assert date.fromtimestamp(content["expires_at"]) >= timezone.localdate() + timedelta(days=364)


def test_usage_summary_with_cost_validates_and_prices_the_month(api, tokens, consent, meter):
    from decimal import Decimal

    from billing.models import PricingKind, Tariff
    from billing.services.tariffs import premise_tariff_assign, tariff_version_create

    tariff = Tariff.objects.create(code="FLAT-TP", name="Flat for third-party tests")
    tariff_version_create(tariff=tariff, effective_from=date(2024, 1, 1), pricing=PricingKind.FLAT, flat_rate=Decimal("10"))
    premise_tariff_assign(premise=meter.premise, tariff=tariff, start=date(2024, 1, 1))
    path = f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}/UsageSummary"
    feed = _xml(api, tokens, path)
    assert feed.findall(f"{ATOM}entry")
    data = _get(api, tokens, path).json()
    with_use = [e["content"] for e in data["entries"] if e["content"].get("overallConsumptionLastPeriod", {}).get("value")]
    total_wh = sum(c["overallConsumptionLastPeriod"]["value"] for c in with_use)
    assert total_wh == 96 * 100 + 96 * 200
    # 28.8 kWh at 10 cents = 288 cents = 2.88 USD = 288000 hundred-thousandths.
    assert sum(c["billLastPeriod"] for c in with_use) == 288000


@pytest.fixture
def server_side_cursors(monkeypatch):
    """Counts the server-side cursors (DECLARE ... FETCH) the request opens."""
    from django.db import connections

    connection = connections["default"]
    opened = []
    original = connection.chunked_cursor

    def counting():
        opened.append(1)
        return original()

    monkeypatch.setattr(connection, "chunked_cursor", counting)
    return opened


def test_a_short_range_of_interval_blocks_is_one_plain_query(api, tokens, consent, meter, server_side_cursors):
    since = (YESTERDAY - timedelta(days=3)).isoformat()
    path = f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/1/IntervalBlock"
    data = _get(api, tokens, path, **{"published-min": since}).json()
    assert len(data["entries"]) == 2
    day = YESTERDAY.strftime("%Y%m%d")
    assert _get(api, tokens, f"{path}/{day}").status_code == 200
    assert server_side_cursors == []


def test_a_long_range_streams_through_a_server_side_cursor(api, tokens, consent, meter, server_side_cursors):
    from billing.selectors.readings import PLAIN_QUERY_MAX

    since = (YESTERDAY - PLAIN_QUERY_MAX - timedelta(days=5)).isoformat()
    response = _get(api, tokens, f"{ROOT}/Batch/Subscription/{consent.pk}", **{"published-min": since})
    b"".join(response.streaming_content)
    assert server_side_cursors


def test_the_block_list_counts_every_day_but_builds_only_the_page(api, tokens, consent, meter):
    path = f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/1/IntervalBlock"
    data = _get(api, tokens, path, **{"start-index": "2", "max-results": "1"}).json()
    assert data["total_results"] == 2
    assert [entry["title"] for entry in data["entries"]] == [f"Readings for {YESTERDAY.isoformat()}"]
    assert AccessLogEntry.objects.filter(resource__contains="start-index").get().items == 96


def test_access_token_in_a_form_body_is_not_accepted(api, tokens, consent, meter):
    response = api.post(f"{ROOT}/ReadServiceStatus", {"access_token": tokens["access_token"]})
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_unknown_token_is_401_invalid_token(api):
    response = api.get(f"{ROOT}/ReadServiceStatus", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_a_request_reads_token_consent_and_application_in_one_query(api, tokens, consent, django_assert_num_queries):
    # One SELECT for the token with everything it is checked against, one INSERT for the access log.
    with django_assert_num_queries(2):
        assert _get(api, tokens, f"{ROOT}/ReadServiceStatus").status_code == 200
    assert AccessLogEntry.objects.filter(resource__endswith="ReadServiceStatus", status_code=200).exists()
