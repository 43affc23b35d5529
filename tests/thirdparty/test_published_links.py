"""A third party follows every link the API publishes and never meets a 404; every feed validates (ESPI 4.0 and GBA 3.3).

Also: Batch paging with correct totals, gzip, ApplicationInformation without the client
secret (SO-C4), and the same ids in Download My Data as in Connect My Data (SO-T3).
"""

from __future__ import annotations

import gzip
from collections import deque
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from tests.conftest import signed_in
from tests.espi_validation import ATOM, parse, validation_errors
from tests.thirdparty import world
from tests.thirdparty.data import day_of_readings
from thirdparty.models import Consent
from thirdparty.services.webhooks import _payload

pytestmark = pytest.mark.django_db

ROOT = "/espi/1_1/resource"
YESTERDAY = timezone.localdate() - timedelta(days=1)


@pytest.fixture
def meter(alice):
    meter = world.premise_of(alice).meters.get()
    day_of_readings(meter, YESTERDAY - timedelta(days=1), value=100)
    day_of_readings(meter, YESTERDAY, value=200)
    day_of_readings(meter, YESTERDAY, value=30, channel=2)
    return meter


@pytest.fixture
def consent(tokens):
    return Consent.objects.get()


def _get(api, tokens, href: str, accept: str = "application/atom+xml", **headers):
    parts = urlsplit(href)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return api.get(path, HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}", HTTP_ACCEPT=accept, **headers)


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _hrefs(document) -> list[str]:
    return [link.get("href") for link in document.iter(f"{ATOM}link")]


def _crawl(api, tokens, starts: list[str]) -> dict[str, bytes]:
    """Every document reachable by links from ``starts``, each fetched once with the third party's token."""
    seen: dict[str, bytes] = {}
    queue = deque(starts)
    while queue:
        href = queue.popleft()
        if href in seen:
            continue
        response = _get(api, tokens, href)
        assert response.status_code == 200, (href, response.status_code, response.content[:300])
        body = seen[href] = _body(response)
        assert validation_errors(body) == [], href
        queue.extend(h for h in _hrefs(parse(body)) if h not in seen)
    return seen


@pytest.mark.objective("SO-T3")
def test_every_link_in_a_batch_resolves_and_every_document_validates(api, tokens, consent, meter):
    fetched = _crawl(
        api, tokens, [f"{ROOT}/Batch/Subscription/{consent.pk}", f"{ROOT}/Authorization/{consent.pk}", f"{ROOT}/ApplicationInformation"]
    )
    paths = {urlsplit(href).path for href in fetched}
    assert len(fetched) > 25
    point = f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}"
    month = int(YESTERDAY.strftime("%Y%m"))
    for expected in (
        f"{ROOT}/Subscription/{consent.pk}",
        f"{point}/UsageSummary",
        f"{point}/UsageSummary/{month}",
        f"{point}/MeterReading/2/IntervalBlock/{YESTERDAY:%Y%m%d}",
        f"{ROOT}/ReadingType",
        f"{ROOT}/ReadingType/{meter.pk}-1",
        f"{ROOT}/LocalTimeParameters",
        f"{ROOT}/LocalTimeParameters/{meter.premise_id}",
        f"{ROOT}/ApplicationInformation/{consent.application_id}",
    ):
        assert expected in paths, expected


def test_every_feed_self_link_is_typed_as_gba_requires(api, tokens, consent, meter):
    body = _body(_get(api, tokens, f"{ROOT}/Batch/Subscription/{consent.pk}"))
    feed = parse(body)
    (self_link,) = feed.findall(f"{ATOM}link[@rel='self']")
    assert self_link.get("type") == "espi-feed/Subscription"
    assert all(link.get("type") for link in feed.iter(f"{ATOM}link"))


def test_the_subscription_uri_in_webhooks_and_the_authorization_resolves(api, tokens, consent, meter):
    uri = _payload("authorization.granted", consent, {})["subscription_uri"]
    response = _get(api, tokens, uri)
    assert response.status_code == 200
    assert parse(_body(response)).findall(f"{ATOM}entry")


def test_batch_includes_usage_summaries_and_counts_its_entries(api, tokens, consent, meter):
    data = _get(api, tokens, f"{ROOT}/Batch/Subscription/{consent.pk}", accept="application/json")
    whole = __import__("json").loads(_body(data))
    kinds = [entry["type"] for entry in whole["entries"]]
    assert "UsageSummary" in kinds and "LocalTimeParameters" in kinds
    assert whole["total_results"] == len(whole["entries"]) == 1 + 1 + 2 * 2 + 3 + len([k for k in kinds if k == "UsageSummary"])


def test_batch_pages_follow_next_links_to_the_same_entries(api, tokens, consent, meter):
    import json

    whole = json.loads(_body(_get(api, tokens, f"{ROOT}/Batch/Subscription/{consent.pk}", accept="application/json")))
    href, paged, pages = f"{ROOT}/Batch/Subscription/{consent.pk}?max-results=3", [], 0
    while href:
        page = json.loads(_body(_get(api, tokens, href, accept="application/json")))
        assert page["total_results"] == whole["total_results"] and len(page["entries"]) <= 3
        paged += page["entries"]
        pages += 1
        href = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    assert [e["id"] for e in paged] == [e["id"] for e in whole["entries"]]
    assert pages == -(-whole["total_results"] // 3)
    xml = parse(_body(_get(api, tokens, f"{ROOT}/Batch/Subscription/{consent.pk}?max-results=3&start-index=4")))
    rels = {link.get("rel") for link in xml.findall(f"{ATOM}link")}
    assert {"self", "first", "previous", "next", "last"} <= rels
    assert len(xml.findall(f"{ATOM}entry")) == 3


def test_large_responses_are_gzipped_when_the_client_accepts_it(api, tokens, consent, meter):
    response = _get(api, tokens, f"{ROOT}/Batch/Subscription/{consent.pk}", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    compressed = _body(response)
    assert validation_errors(gzip.decompress(compressed)) == []
    plain = _body(_get(api, tokens, f"{ROOT}/Batch/Subscription/{consent.pk}"))
    assert len(compressed) * 4 < len(plain)


@pytest.mark.objective("SO-C4")
def test_application_information_never_serves_the_client_secret(api, tokens, consent):
    secret = world.SECRETS[consent.application_id]
    body = _body(_get(api, tokens, f"{ROOT}/ApplicationInformation/{consent.application_id}"))
    assert validation_errors(body) == []
    assert secret.encode() not in body
    assert b"<client_secret>not-served-see-docs-thirdparty</client_secret>" in body
    assert consent.application.client_id.encode() in body


def test_another_applications_information_is_404(api, tokens, consent, trent):
    other = world.register(trent, name="Other app")
    assert _get(api, tokens, f"{ROOT}/ApplicationInformation/{other.pk}").status_code == 404


def test_download_my_data_and_the_api_give_a_block_the_same_id(api, tokens, consent, meter, alice):
    day = YESTERDAY.strftime("%Y%m%d")
    block = parse(_body(_get(api, tokens, f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/1/IntervalBlock/{day}")))
    page = signed_in(alice).get(
        f"/customer/premises/{meter.premise_id}/usage/greenbutton.xml", {"start": YESTERDAY.isoformat(), "end": YESTERDAY.isoformat()}
    )
    assert page.status_code == 200, page.content[:300]
    body = _body(page)
    assert validation_errors(body) == []
    download = parse(body)
    ids = {entry.findtext(f"{ATOM}id") for entry in download.findall(f"{ATOM}entry")}
    assert block.findtext(f"{ATOM}id") in ids
    hrefs = {h for h in _hrefs(download)}
    assert any(h.endswith(f"/UsagePoint/{meter.pk}/MeterReading/1/IntervalBlock/{day}") for h in hrefs)


@pytest.fixture
def relayed(monkeypatch):
    """Commands go through the real relay task (eagerly); what reaches a coordinator queue is captured, not sent."""
    from amiportal.celery import app as celery_app

    monkeypatch.setattr("han.broker.command_publish", lambda *, coordinator_name, envelope: None)
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)
    monkeypatch.setattr(celery_app.conf, "task_eager_propagates", True)


def test_device_self_and_command_up_links_resolve(api, alice, bob, ivan, olga, trent, relayed, django_capture_on_commit_callbacks):
    from tests.thirdparty.devices import DEVICE_SCOPES, control_tokens, device_path, signed_post, verified_thermostat

    people = {"alice": alice, "bob": bob, "ivan": ivan, "olga": olga, "trent": trent}
    device = verified_thermostat(people)
    application = world.register(trent, name="Thermostat Co", scopes=DEVICE_SCOPES)
    token = control_tokens(api, application, alice, kinds=DEVICE_SCOPES)
    consent = Consent.objects.order_by("-pk").first()
    meter_id = world.premise_of(alice).meters.get().pk
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_ACCEPT": "application/json"}
    listed = api.get(device_path(consent, meter_id, device).rsplit("/", 1)[0], **headers).json()["devices"]
    (self_href,) = [link["href"] for link in listed[0]["links"] if link["rel"] == "self"]
    one = api.get(self_href, **headers)
    assert one.status_code == 200 and one.json()["id"] == str(device.uid)
    with django_capture_on_commit_callbacks(execute=True):
        sent = signed_post(api, application, device_path(consent, meter_id, device, "StatusRead"), token)
    assert sent.status_code == 202, sent.content
    for link in sent.json()["links"]:
        assert api.get(link["href"], **headers).status_code == 200, link


def test_paging_links_keep_the_filters_the_client_sent(api, tokens, consent, meter):
    import json

    since = YESTERDAY.isoformat()
    first = json.loads(
        _body(_get(api, tokens, f"{ROOT}/Batch/Subscription/{consent.pk}?published-min={since}&max-results=2", "application/json"))
    )
    (next_href,) = [link["href"] for link in first["links"] if link["rel"] == "next"]
    assert f"published-min={since}" in next_href and "start-index=3" in next_href
    second = json.loads(_body(_get(api, tokens, next_href, accept="application/json")))
    assert second["total_results"] == first["total_results"]
    blocks = [e for e in first["entries"] + second["entries"] if e["type"] == "IntervalBlock"]
    assert all(e["title"] == f"Readings for {YESTERDAY.isoformat()}" for e in blocks)


@pytest.mark.objective("SO-T3")
@pytest.mark.django_db(transaction=True)
def test_a_real_http_client_follows_every_link_of_a_batch(live_server, alice, trent, api):
    """As a third party's own client library would: requests over HTTP, gzip negotiated, absolute links followed."""
    import requests

    meter = world.premise_of(alice).meters.get()
    day_of_readings(meter, YESTERDAY)
    world.current_agreement()
    tokens = world.obtain_tokens(signed_in(alice), api, world.register(trent), alice)
    consent = Consent.objects.get()
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/atom+xml"})
    queue, seen = deque([f"{live_server.url}{ROOT}/Batch/Subscription/{consent.pk}"]), set()
    while queue:
        href = queue.popleft()
        if href in seen:
            continue
        seen.add(href)
        response = session.get(href, timeout=30)
        assert response.status_code == 200, (href, response.status_code)
        assert validation_errors(response.content) == [], href
        queue.extend(h for h in _hrefs(parse(response.content)) if h not in seen)
    assert len(seen) > 20
    assert all(h.startswith(live_server.url) for h in seen)
    batch = session.get(f"{live_server.url}{ROOT}/Batch/Subscription/{consent.pk}", timeout=30)
    assert batch.headers["Content-Encoding"] == "gzip"
