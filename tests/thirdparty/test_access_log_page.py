"""The customer's access log: what a company asked for in words, when in the home's local time, and refusals (SO-T1)."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import signed_in
from tests.thirdparty import world
from tests.thirdparty.data import day_of_readings
from thirdparty.models import AccessLogEntry, Consent
from thirdparty.services.consent import access_log_record, consent_revoke

pytestmark = pytest.mark.django_db

ROOT = "/espi/1_1/resource"
LOG = "/customer/access/log/"


def table_of(html: str) -> str:
    return html[html.index("<table") : html.index("</table>")]


def _get(api, tokens, path: str):
    return api.get(path, HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}", HTTP_ACCEPT="application/json")


@pytest.mark.objective("SO-T1")
def test_alice_reads_what_was_asked_for_in_words_with_local_time_and_refusals(alice, api, tokens):
    consent = Consent.objects.get()
    meter = world.premise_of(alice).meters.get()
    day_of_readings(meter, timezone.localdate() - timedelta(days=1))
    served = _get(api, tokens, f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/1/IntervalBlock")
    assert served.status_code == 200
    summaries = _get(api, tokens, f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}/UsageSummary")
    assert summaries.status_code == 200
    consent_revoke(consent=consent, actor=alice)
    # A call refused after revocation, as the API records it (status >= 400, nothing served).
    access_log_record(
        consent=consent, resource=f"{ROOT}/Subscription/{consent.pk}/UsagePoint", premise=world.premise_of(alice), items=0, status_code=401
    )

    table = table_of(signed_in(alice).get(LOG).content.decode())
    assert "/espi/" not in table and "Subscription/" not in table
    assert "usage readings" in table and "usage summaries" in table and "list of your meters" in table
    assert "Served" in table
    assert "Refused: the company had no valid access (for example, after you ended it)" in table
    first = AccessLogEntry.objects.order_by("at").first()
    local = first.at.astimezone(zoneinfo.ZoneInfo("America/Chicago"))
    assert f"{local:%-d %b %Y, %H:%M} {local.tzname()}" in table


@pytest.mark.objective("SO-T1")
def test_bob_sees_none_of_alices_access_log(alice, bob, api, tokens):
    consent = Consent.objects.get()
    assert _get(api, tokens, f"{ROOT}/Subscription/{consent.pk}/UsagePoint").status_code == 200
    table = table_of(signed_in(bob).get(LOG).content.decode())
    assert "Energy Insights" not in table and "list of your meters" not in table
    assert "No company has asked for your data." in table


@pytest.mark.parametrize(
    ("path", "words"),
    [
        (f"{ROOT}/Subscription/4/UsagePoint/2/MeterReading/1/IntervalBlock?published-min=2026-01-01", "usage readings"),
        (f"{ROOT}/Subscription/4/UsagePoint/2/UsageSummary", "usage summaries"),
        (f"{ROOT}/Subscription/4/UsagePoint/2/Device/0b7a3a43-43a8-4a8e-9d8e-0d6c2f6ad3c1/StatusRead", "device status"),
        (f"{ROOT}/Batch/Subscription/4", "all shared usage data at once"),
        (f"{ROOT}/NoSuchThing/<script>", None),
        ("/customer/activity/", None),
        ("", None),
    ],
)
def test_logged_paths_read_as_kinds_of_data_never_as_paths(path, words):
    from thirdparty.access_log_words import OTHER_RESOURCE, resource_words

    assert resource_words(path) == (words or OTHER_RESOURCE)
