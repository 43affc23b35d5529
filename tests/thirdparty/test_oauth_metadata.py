"""The OAuth details a third party's library checks: RFC 8414 metadata, RFC 7636 challenges, client authentication (SO-T1)."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken

from tests.conftest import signed_in
from tests.thirdparty import world
from thirdparty.models import Consent, DataKind

pytestmark = pytest.mark.django_db


def _code(customer, application) -> tuple[str, str]:
    verifier, challenge = world.pkce_pair()
    response = signed_in(customer).post(world.authorize_url(application, challenge=challenge), world.consent_form(customer))
    return world.query_of(response["Location"])["code"], verifier


def test_metadata_names_the_issuer_the_endpoints_and_exactly_what_they_accept(anonymous, alice, application):
    response = anonymous.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    metadata = response.json()
    assert metadata["issuer"] == "http://testserver"
    assert metadata["authorization_endpoint"] == "http://testserver/oauth/authorize/"
    assert metadata["token_endpoint"] == "http://testserver/oauth/token/"
    assert metadata["revocation_endpoint"] == "http://testserver/oauth/revoke/"
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["token_endpoint_auth_methods_supported"] == ["client_secret_basic"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert "implicit" not in metadata["grant_types_supported"] and "password" not in metadata["grant_types_supported"]
    # The issuer is the value every authorization response carries as iss (RFC 9207).
    _, challenge = world.pkce_pair()
    redirect = signed_in(alice).post(world.authorize_url(application, challenge=challenge), {"deny": "1"})
    assert world.query_of(redirect["Location"])["iss"] == metadata["issuer"]


@pytest.mark.objective("SO-T1")
@pytest.mark.parametrize("length", [42, 129])
def test_a_code_challenge_outside_43_to_128_characters_is_refused(alice, application, length):
    response = signed_in(alice).get(world.authorize_url(application, challenge="a" * length))
    assert response.status_code == 302 and response["Location"].startswith(world.REDIRECT_URI)
    query = world.query_of(response["Location"])
    assert query["error"] == "invalid_request" and "43 to 128" in query["error_description"] and query["state"] == "xyz"


def test_a_code_challenge_with_characters_outside_the_grammar_is_refused(alice, application):
    response = signed_in(alice).get(world.authorize_url(application, challenge="+" * 43))
    assert world.query_of(response["Location"])["error"] == "invalid_request"


@pytest.mark.parametrize("length", [43, 128])
def test_a_code_challenge_of_43_or_128_characters_shows_the_consent_screen(alice, application, length):
    assert signed_in(alice).get(world.authorize_url(application, challenge="a" * length)).status_code == 200


def test_failed_client_authentication_answers_401_with_a_basic_challenge(alice, application, api):
    code, verifier = _code(alice, application)
    wrong = "Basic " + base64.b64encode(f"{application.client_id}:wrong".encode()).decode()
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": world.REDIRECT_URI, "code_verifier": verifier}
    token = api.post("/oauth/token/", data, HTTP_AUTHORIZATION=wrong)
    assert token.status_code == 401 and token.json()["error"] == "invalid_client"
    assert token["WWW-Authenticate"].startswith("Basic ")
    revoke = api.post("/oauth/revoke/", {"token": "anything"}, HTTP_AUTHORIZATION=wrong)
    assert revoke.status_code == 401 and revoke["WWW-Authenticate"].startswith("Basic ")


def test_client_credentials_in_the_body_are_refused_as_the_docs_name_only_http_basic(alice, application, api):
    code, verifier = _code(alice, application)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": world.REDIRECT_URI,
        "code_verifier": verifier,
        "client_id": application.client_id,
        "client_secret": world.SECRETS[application.pk],
    }
    response = api.post("/oauth/token/", data)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"].startswith("Basic ") and not AccessToken.objects.exists()


def test_the_consent_screen_mentions_device_control_only_when_it_is_asked_for(alice, trent, application):
    _, challenge = world.pkce_pair()
    data_only = signed_in(alice).get(world.authorize_url(application, challenge=challenge)).content.decode()
    # (The agreement's full text, folded away, still names control requests: it binds every third party.)
    assert "Control of devices lets" not in data_only and "control requests only if you allow it" not in data_only
    thermostat = world.register(trent, name="Thermostat Co", scopes=[DataKind.INTERVAL_USAGE, DataKind.HAN_CONTROL])
    url = world.authorize_url(thermostat, scope="interval_usage han_control", challenge=challenge)
    control = signed_in(alice).get(url).content.decode()
    assert "Control of devices lets Thermostat Co send commands" in control and "control requests only if you allow it" in control


def test_the_consent_screen_lets_its_form_reach_the_registered_callback_and_nothing_else(alice, application):
    _, challenge = world.pkce_pair()
    csp = signed_in(alice).get(world.authorize_url(application, challenge=challenge))["Content-Security-Policy"]
    assert "form-action 'self' https://client.example.test;" in csp + ";"
    assert "form-action 'self';" in signed_in(alice).get("/customer/access/")["Content-Security-Policy"] + ";"


@pytest.mark.objective("SO-C7")
def test_published_period_is_the_window_actually_served(alice, application, api):
    tokens = world.obtain_tokens(signed_in(alice), api, application, alice, history=1)
    consent = Consent.objects.get()
    # Granted long ago: the served window still slides with now (one month back), not with the grant date.
    Consent.objects.filter(pk=consent.pk).update(granted_at=timezone.now() - timedelta(days=100))
    before = timezone.now()
    entry = api.get(f"/espi/1_1/resource/Authorization/{consent.pk}", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").json()
    period = entry["content"]["publishedPeriod"]
    start = period["start"]
    end = start + period["duration"]
    assert abs(start - (before - timedelta(days=30)).timestamp()) < 5
    assert abs(end - before.timestamp()) < 5
