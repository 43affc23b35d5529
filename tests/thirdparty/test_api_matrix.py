"""Authorization matrix: every ESPI route against every kind of token (SO-T1, SO-C5, SO-C15)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import signed_in
from tests.thirdparty import world
from tests.thirdparty.data import day_of_readings
from thirdparty.models import ApplicationStatus, Consent, DataKind
from thirdparty.services.consent import consent_revoke
from thirdparty.services.registration import application_status_set

pytestmark = pytest.mark.django_db

INTERVAL, SUMMARY = DataKind.INTERVAL_USAGE, DataKind.USAGE_SUMMARY
# Route name -> the data kind it serves (None: any live consent).
ROUTES = {
    "read_service_status": None,
    "authorization_list": None,
    "authorization": None,
    "usage_point_list": INTERVAL,
    "usage_point": INTERVAL,
    "meter_reading_list": INTERVAL,
    "meter_reading": INTERVAL,
    "interval_block_list": INTERVAL,
    "interval_block": INTERVAL,
    "reading_type": INTERVAL,
    "batch_subscription": INTERVAL,
    "usage_summary_list": SUMMARY,
    "usage_summary": SUMMARY,
    "subscription": INTERVAL,
    "reading_type_list": INTERVAL,
    "local_time_parameters_list": INTERVAL,
    "local_time_parameters": INTERVAL,
    "application_information_list": None,
    "application_information": None,
}
# Collections without an id in the path answer each token with its own: another customer's token gets 200.
OWN_COLLECTIONS = {"read_service_status", "authorization_list", "reading_type_list", "local_time_parameters_list"}
APPLICATION_ROUTES = {"application_information_list", "application_information"}  # the application's own, whoever the customer
CUSTOMER_RESOURCES = set(ROUTES) - OWN_COLLECTIONS - APPLICATION_ROUTES
CLIENT_ACCESS_ROUTES = {"read_service_status", "authorization_list", "authorization", *APPLICATION_ROUTES}


def url(name: str, consent: Consent, day) -> str:
    meter = world.premise_of(consent.customer).meters.get()
    point = {"subscription_id": consent.pk, "usage_point_id": meter.pk}
    kwargs = {
        "read_service_status": {},
        "authorization_list": {},
        "authorization": {"authorization_id": consent.pk},
        "usage_point_list": {"subscription_id": consent.pk},
        "usage_point": point,
        "meter_reading_list": point,
        "meter_reading": {**point, "meter_reading_id": 1},
        "interval_block_list": {**point, "meter_reading_id": 1},
        "interval_block": {**point, "meter_reading_id": 1, "interval_block_id": int(day.strftime("%Y%m%d"))},
        "usage_summary_list": point,
        "reading_type": {"reading_type_id": f"{meter.pk}-1"},
        "batch_subscription": {"subscription_id": consent.pk},
        "subscription": {"subscription_id": consent.pk},
        "usage_summary": {**point, "usage_summary_id": int(day.strftime("%Y%m"))},
        "reading_type_list": {},
        "local_time_parameters_list": {},
        "local_time_parameters": {"local_time_parameters_id": meter.premise_id},
        "application_information_list": {},
        "application_information": {"application_information_id": consent.application_id},
    }[name]
    return reverse(f"thirdparty:espi:{name}", kwargs=kwargs)


def test_every_api_route_is_in_the_matrix():
    from tests.test_access_table import all_route_names
    from tests.thirdparty.test_device_api import DEVICE_ROUTES  # signed device routes: their own matrix there

    served = {name.removeprefix("thirdparty:espi:") for name in all_route_names() if name.startswith("thirdparty:espi:")}
    assert served == set(ROUTES) | set(DEVICE_ROUTES)


@pytest.fixture
def world_of_tokens(alice, bob, trent, api):
    day = timezone.localdate() - timedelta(days=1)
    for person in (alice, bob):
        day_of_readings(world.premise_of(person).meters.get(), day)
    application = world.register(trent)
    suspended_app = world.register(trent, name="Suspended Co")

    def issue(customer, app=application, kinds=None):
        tokens = world.obtain_tokens(signed_in(customer), api, app, customer, kinds=kinds)
        return tokens["access_token"], Consent.objects.order_by("-pk").first()

    def another_app(name: str):
        # One live consent per customer and application: each of Alice's cases is another application's.
        return world.register(trent, name=name)

    cases = {
        "correct": issue(alice),
        "interval_only": issue(alice, app=another_app("Interval Co"), kinds=[INTERVAL]),
        "summary_only": issue(alice, app=another_app("Summary Co"), kinds=[SUMMARY]),
        "other_customer": issue(bob),
        "revoked": issue(alice, app=another_app("Revoked Co")),
        "expired": issue(alice, app=another_app("Expired Co")),
        "suspended": issue(alice, app=suspended_app),
    }
    consent_revoke(consent=cases["revoked"][1], actor=alice)
    Consent.objects.filter(pk=cases["expired"][1].pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    application_status_set(application=suspended_app, status=ApplicationStatus.ON_HOLD, reason="breach under review", actor=None)
    cases["client_access"] = (world.client_access_token(api, application), None)
    return day, cases


def _get(api, path, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return api.get(path, HTTP_ACCEPT="application/json", **headers)


@pytest.mark.objective("SO-T1")
@pytest.mark.objective("SO-C15")
@pytest.mark.parametrize("name", sorted(ROUTES))
def test_authorization_matrix(name, world_of_tokens, api):
    day, cases = world_of_tokens
    token, consent = cases["correct"]
    alice_url = url(name, consent, day)
    problems = []

    def expect(case, path, token, status):
        response = _get(api, path, token)
        if response.status_code != status:
            problems.append(f"{case}: {path} answered {response.status_code}, expected {status}")
        if status == 401 and "Bearer" not in response.get("WWW-Authenticate", ""):
            problems.append(f"{case}: 401 without WWW-Authenticate: Bearer")
        return response

    expect("no token", alice_url, None, 401)
    expect("garbage token", alice_url, "not-a-token", 401)
    kind = ROUTES[name]
    if kind is not None:
        narrow_token, narrow_consent = cases["summary_only" if kind == INTERVAL else "interval_only"]
        expect("token without the scope", url(name, narrow_consent, day), narrow_token, 403)
    other_token, _ = cases["other_customer"]
    expect("another customer's consent", alice_url, other_token, 404 if name in CUSTOMER_RESOURCES else 200)
    for case in ("revoked", "expired", "suspended"):
        case_token, case_consent = cases[case]
        expect(case, url(name, case_consent, day), case_token, 401)
    # client_credentials: the third party's own authorizations and the service status, never customer data.
    expect("client access", alice_url, cases["client_access"][0], 200 if name in CLIENT_ACCESS_ROUTES else 403)
    expect("correct", alice_url, token, 200)
    assert not problems, "\n".join(problems)


@pytest.mark.objective("SO-T1")
def test_a_closed_customer_account_stops_its_tokens_on_the_next_request(bob, trent, api):
    application = world.register(trent)
    token = world.obtain_tokens(signed_in(bob), api, application, bob)["access_token"]
    status_url = reverse("thirdparty:espi:read_service_status")
    assert _get(api, status_url, token).status_code == 200

    bob.is_active = False
    bob.save(update_fields=["is_active"])

    response = _get(api, status_url, token)
    assert response.status_code == 401
    assert "closed" in response["WWW-Authenticate"]
