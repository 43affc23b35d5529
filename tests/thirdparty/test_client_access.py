"""Client access: a client_credentials token reads the third party's own authorizations and nothing else (SO-T1)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken

from tests.conftest import signed_in
from tests.espi_validation import ATOM, parse, validation_errors
from tests.thirdparty import world
from tests.thirdparty.data import day_of_readings
from tests.thirdparty.test_api_matrix import CLIENT_ACCESS_ROUTES, ROUTES, url
from tests.thirdparty.test_device_api import DEVICE_ROUTES
from thirdparty.models import AccessLogEntry, ApplicationStatus, Consent, DataKind
from thirdparty.services.consent import consent_revoke
from thirdparty.services.registration import application_status_set

pytestmark = pytest.mark.django_db

ROOT = "/espi/1_1/resource"
CLIENT_ROUTES = CLIENT_ACCESS_ROUTES
ESPI = "{http://naesb.org/espi}"


@pytest.fixture
def consents(alice, bob, trent, application):
    """Alice's live consent and Bob's revoked one to Trent's application, and Bob's consent to someone else's."""
    alices = world.grant(application, alice)
    bobs = world.grant(application, bob, kinds=[DataKind.INTERVAL_USAGE])
    consent_revoke(consent=bobs, actor=bob)
    elsewhere = world.grant(world.register(trent, name="Other App"), bob)
    return alices, bobs, elsewhere


def _get(api, path, token, accept="application/json", **params):
    return api.get(path, params, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT=accept)


@pytest.mark.objective("SO-T1")
def test_client_credentials_token_lists_every_authorization_of_its_own_third_party(api, application, consents):
    alices, bobs, elsewhere = consents
    token = world.client_access_token(api, application)
    data = _get(api, f"{ROOT}/Authorization", token).json()
    assert data["total_results"] == 2
    by_uri = {entry["content"]["authorizationURI"]: entry["content"] for entry in data["entries"]}
    assert set(by_uri) == {f"{ROOT}/Authorization/{alices.pk}", f"{ROOT}/Authorization/{bobs.pk}"}
    alice_content = by_uri[f"{ROOT}/Authorization/{alices.pk}"]
    assert alice_content["status"] == 1 and alice_content["scope"] == "interval_usage usage_summary"
    assert alice_content["resourceURI"] == f"{ROOT}/Subscription/{alices.pk}"
    assert {"authorizedPeriod", "publishedPeriod", "expires_at"} <= set(alice_content)
    assert by_uri[f"{ROOT}/Authorization/{bobs.pk}"]["status"] == 0
    # Client access is about the third party, not one customer's data: nothing in any customer's access log.
    assert not AccessLogEntry.objects.exists()


def test_client_access_listing_is_espi_xml_that_validates(api, application, consents):
    token = world.client_access_token(api, application, scope="client_access")
    response = _get(api, f"{ROOT}/Authorization", token, accept="application/atom+xml")
    assert response.status_code == 200
    assert validation_errors(response.content) == []
    feed = parse(response.content)
    statuses = sorted(e.findtext(f"{ATOM}content/{ESPI}Authorization/{ESPI}status") for e in feed.iter(f"{ATOM}entry"))
    assert statuses == ["0", "1"]


def test_client_access_listing_pages_and_filters(api, application, consents):
    token = world.client_access_token(api, application)
    page = _get(api, f"{ROOT}/Authorization", token, **{"max-results": "1", "start-index": "2"}).json()
    assert page["total_results"] == 2 and len(page["entries"]) == 1
    assert _get(api, f"{ROOT}/Authorization", token, **{"max-results": "0"}).status_code == 400
    # Not a filter this collection takes: said so, rather than silently ignored.
    assert _get(api, f"{ROOT}/Authorization", token, **{"updated-min": "2025-01-01T00:00:00Z"}).status_code == 400


def test_client_access_reads_one_of_its_authorizations_but_not_another_third_partys(api, application, consents):
    alices, _, elsewhere = consents
    token = world.client_access_token(api, application)
    assert _get(api, f"{ROOT}/Authorization/{alices.pk}", token).json()["content"]["status"] == 1
    assert _get(api, f"{ROOT}/Authorization/{elsewhere.pk}", token).status_code == 404
    assert _get(api, f"{ROOT}/Authorization/999999", token).status_code == 404
    assert _get(api, f"{ROOT}/ReadServiceStatus", token).status_code == 200


@pytest.mark.objective("SO-T1")
@pytest.mark.objective("SO-C15")
def test_client_credentials_token_is_refused_on_every_customer_data_route(alice, api, application, consents):
    alices = consents[0]
    day = timezone.localdate() - timedelta(days=1)
    day_of_readings(world.premise_of(alice).meters.get(), day)
    token = world.client_access_token(api, application)
    problems = []
    for name in sorted(set(ROUTES) - CLIENT_ROUTES):
        response = _get(api, url(name, alices, day), token)
        if response.status_code != 403:
            problems.append(f"{name}: {response.status_code}")
    meter = world.premise_of(alice).meters.get()
    point = f"{ROOT}/Subscription/{alices.pk}/UsagePoint/{meter.pk}"
    device = "00000000-0000-0000-0000-000000000001"
    for name, (method, tail) in DEVICE_ROUTES.items():
        path = f"{point}/Device" if tail is None else f"{point}/Device/{device}/{tail}".rstrip("/")
        if tail == "Command":
            path += f"/{device}"
        response = getattr(api, method.lower())(path, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT="application/json")
        if response.status_code != 403:
            problems.append(f"{name}: {response.status_code}")
    assert not problems, problems
    assert not AccessLogEntry.objects.exists()


def test_client_credentials_grant_gives_client_access_only(api, application):
    for scope in ("interval_usage", "FB=4_5_15", "client_access interval_usage"):
        response = world.token_request(api, application, {"grant_type": "client_credentials", "scope": scope})
        assert response.status_code == 400 and response.json()["error"] == "invalid_scope", scope
    response = world.token_request(api, application, {"grant_type": "client_credentials"})
    assert response.status_code == 200
    body = response.json()
    assert body["scope"] == "client_access" and "refresh_token" not in body
    token = AccessToken.objects.get()
    assert token.user is None and not _bound_to_a_consent(token)


def _bound_to_a_consent(token) -> bool:
    from thirdparty.models import ConsentToken

    return ConsentToken.objects.filter(access_token=token).exists()


def test_client_access_needs_a_client_secret_and_a_production_application(api, application, trent):
    response = api.post("/oauth/token/", {"grant_type": "client_credentials", "client_id": application.client_id})
    assert response.status_code == 401
    in_review = world.register(trent, name="In Review", status=ApplicationStatus.REVIEW)
    response = world.token_request(api, in_review, {"grant_type": "client_credentials"})
    assert response.status_code in {400, 401}


def test_suspending_the_application_ends_client_access(api, application, consents):
    token = world.client_access_token(api, application)
    application_status_set(application=application, status=ApplicationStatus.ON_HOLD, reason="review", actor=None)
    response = _get(api, f"{ROOT}/Authorization", token)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


def test_a_customer_token_still_lists_only_its_own_authorization(alice, api, application, consents):
    tokens = world.obtain_tokens(signed_in(alice), api, application, alice)
    data = _get(api, f"{ROOT}/Authorization", tokens["access_token"]).json()
    newest = Consent.objects.filter(customer=alice).order_by("-pk").first()
    assert data["total_results"] == 1 and data["entries"][0]["content"]["authorizationURI"].endswith(f"/{newest.pk}")
