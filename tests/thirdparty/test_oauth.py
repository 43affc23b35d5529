"""OAuth2: authorization code with PKCE (S256) only, consent bound to its tokens (SO-T1, SO-C15)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant, RefreshToken

from tests.conftest import signed_in
from tests.thirdparty import world
from thirdparty.models import Consent, ConsentStatus, ConsentToken, DataKind

pytestmark = pytest.mark.django_db


def _bearer(api, tokens, path="/espi/1_1/resource/ReadServiceStatus"):
    return api.get(path, HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")


@pytest.mark.objective("SO-T1")
def test_customer_consents_and_third_party_gets_tokens_bound_to_the_consent(alice, application, api):
    tokens = world.obtain_tokens(signed_in(alice), api, application, alice)
    consent = Consent.objects.get()
    assert consent.customer == alice and consent.status == ConsentStatus.ACTIVE
    assert set(tokens["scope"].split()) == {"interval_usage", "usage_summary"}
    assert tokens["expires_in"] <= 900 and tokens["refresh_token"]
    assert ConsentToken.objects.get().consent == consent
    assert _bearer(api, tokens).status_code == 200


def test_authorization_response_names_the_issuer(alice, application):
    _, challenge = world.pkce_pair()
    response = signed_in(alice).post(world.authorize_url(application, challenge=challenge), world.consent_form(alice))
    query = world.query_of(response["Location"])
    assert query["state"] == "xyz" and query["code"] and query["iss"] == "http://testserver"


def test_consent_screen_shows_the_signed_agreement_in_plain_language(alice, application):
    _, challenge = world.pkce_pair()
    page = signed_in(alice).get(world.authorize_url(application, challenge=challenge))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Share your data with Energy Insights?" in html
    assert "signed our data agreement (version 1)" in html and "Trent Thirdparty" in html
    assert "Hourly charts of your use." in html
    # One year by default.
    assert (timezone.localdate() + timedelta(days=365)).isoformat() in html


def test_pkce_is_required(alice, application):
    response = signed_in(alice).get(world.authorize_url(application))
    assert response.status_code == 302
    assert world.query_of(response["Location"])["error"] == "invalid_request"
    assert response["Location"].startswith(world.REDIRECT_URI)


def test_plain_pkce_is_refused(alice, application):
    verifier, _ = world.pkce_pair()
    response = signed_in(alice).get(world.authorize_url(application, challenge=verifier, method="plain"))
    assert response.status_code == 302 and world.query_of(response["Location"])["error"] == "invalid_request"


def test_implicit_grant_is_refused(alice, application):
    _, challenge = world.pkce_pair()
    response = signed_in(alice).get(world.authorize_url(application, challenge=challenge, response_type="token"))
    assert response.status_code == 302
    assert world.query_of(response["Location"])["error"] in {"unauthorized_client", "unsupported_response_type"}


def test_password_grant_is_refused(alice, application, api, password):
    response = world.token_request(api, application, {"grant_type": "password", "username": alice.email, "password": password})
    assert response.status_code == 400
    assert response.json()["error"] in {"unauthorized_client", "unsupported_grant_type"}


def test_wrong_code_verifier_gets_no_token(alice, application, api):
    _, challenge = world.pkce_pair()
    response = signed_in(alice).post(world.authorize_url(application, challenge=challenge), world.consent_form(alice))
    code = world.query_of(response["Location"])["code"]
    other_verifier, _ = world.pkce_pair()
    token = world.token_request(
        api,
        application,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": world.REDIRECT_URI, "code_verifier": other_verifier},
    )
    assert token.status_code == 400 and not AccessToken.objects.exists()


def test_wrong_client_secret_gets_no_token(alice, application, api):
    verifier, challenge = world.pkce_pair()
    response = signed_in(alice).post(world.authorize_url(application, challenge=challenge), world.consent_form(alice))
    code = world.query_of(response["Location"])["code"]
    world.SECRETS[application.pk], real = "not-the-secret", world.SECRETS[application.pk]
    try:
        token = world.token_request(
            api,
            application,
            {"grant_type": "authorization_code", "code": code, "redirect_uri": world.REDIRECT_URI, "code_verifier": verifier},
        )
    finally:
        world.SECRETS[application.pk] = real
    assert token.status_code == 401 and not AccessToken.objects.exists()


def test_unregistered_redirect_uri_is_never_redirected_to(alice, application):
    _, challenge = world.pkce_pair()
    response = signed_in(alice).get(world.authorize_url(application, challenge=challenge, redirect_uri="https://evil.example.test/cb"))
    assert response.status_code == 400
    assert "did not register" in response.content.decode()


def test_customer_who_denies_sends_access_denied_and_grants_nothing(alice, application):
    _, challenge = world.pkce_pair()
    response = signed_in(alice).post(world.authorize_url(application, challenge=challenge), {"deny": "1"})
    assert response.status_code == 302
    assert world.query_of(response["Location"]) == {"error": "access_denied", "state": "xyz", "iss": "http://testserver"}
    assert not Consent.objects.exists() and not Grant.objects.exists()


@pytest.mark.objective("SO-T1")
def test_token_scope_never_exceeds_what_the_customer_chose(alice, application, api):
    tokens = world.obtain_tokens(signed_in(alice), api, application, alice, kinds=[DataKind.INTERVAL_USAGE])
    assert tokens["scope"] == "interval_usage"
    assert Consent.objects.get().data_kinds == ["interval_usage"]


def test_third_party_cannot_ask_for_more_than_it_registered(alice, application):
    _, challenge = world.pkce_pair()
    response = signed_in(alice).get(world.authorize_url(application, scope="interval_usage billing", challenge=challenge))
    assert response.status_code == 302 and world.query_of(response["Location"])["error"] == "invalid_scope"


def test_espi_scope_string_with_history_in_months_or_seconds(alice, application):
    _, challenge = world.pkce_pair()
    client = signed_in(alice)
    months = client.get(
        world.authorize_url(
            application, scope="FB=1_3_4_5_13_14_15_39;IntervalDuration=900;BlockDuration=monthly;HistoryLength=6", challenge=challenge
        )
    )
    assert months.status_code == 200
    assert months.context["form"].fields["history_months"].choices[-1][0] == 6
    seconds = client.get(world.authorize_url(application, scope=f"FB=4_5;HistoryLength={3 * 30 * 86400}", challenge=challenge))
    assert seconds.context["form"].fields["history_months"].choices[-1][0] == 3
    assert [value for value, _ in seconds.context["form"].fields["data_kinds"].choices] == ["interval_usage"]


def test_customer_cannot_share_a_premise_that_is_not_theirs(alice, bob, application):
    _, challenge = world.pkce_pair()
    form = world.consent_form(alice)
    form["premises"] = [world.premise_of(bob).pk]
    response = signed_in(alice).post(world.authorize_url(application, challenge=challenge), form)
    assert response.status_code == 200 and not Consent.objects.exists()


def test_end_date_cannot_pass_the_configured_maximum(alice, application, settings):
    settings.AMI_TP_CONSENT_MAX_DAYS = 400
    _, challenge = world.pkce_pair()
    form = world.consent_form(alice, end=timezone.localdate() + timedelta(days=401))
    response = signed_in(alice).post(world.authorize_url(application, challenge=challenge), form)
    assert response.status_code == 200 and "at most until" in response.content.decode()
    assert not Consent.objects.exists()


@pytest.mark.objective("SO-C15")
def test_granting_device_control_needs_a_fresh_step_up(alice, trent, api):
    application = world.register(trent, name="Thermostat Co", scopes=[DataKind.INTERVAL_USAGE, DataKind.HAN_CONTROL])
    _, challenge = world.pkce_pair()
    url = world.authorize_url(application, scope="interval_usage han_control", challenge=challenge)
    response = signed_in(alice).post(url, world.consent_form(alice, kinds=[DataKind.HAN_CONTROL]))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/step-up/")
    assert not Consent.objects.exists()


def test_refresh_tokens_rotate_and_the_old_one_dies(tokens, application, api):
    first = world.token_request(api, application, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refresh_token"] != tokens["refresh_token"] and rotated["access_token"] != tokens["access_token"]
    assert _bearer(api, tokens).status_code == 401
    assert _bearer(api, rotated).status_code == 200
    assert ConsentToken.objects.count() == 1
    replay = world.token_request(api, application, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert replay.status_code == 400


def test_tokens_are_stored_hashed(tokens):
    assert not AccessToken.objects.filter(token=tokens["access_token"]).exists()
    assert not RefreshToken.objects.filter(token=tokens["refresh_token"]).exists()


@pytest.mark.objective("SO-T1")
def test_revoked_consent_stops_the_next_request_and_the_refresh(alice, tokens, application, api):
    assert _bearer(api, tokens).status_code == 200
    consent = Consent.objects.get()
    response = signed_in(alice).post(f"/customer/access/{consent.pk}/revoke/", {"confirm": "yes"})
    assert response.status_code == 302
    assert _bearer(api, tokens).status_code == 401
    assert (
        world.token_request(api, application, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).status_code == 400
    )
    assert not AccessToken.objects.exists()


def test_expired_consent_is_ended_on_the_next_request(tokens, api):
    Consent.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = _bearer(api, tokens)
    assert response.status_code == 401 and "expired" in response["WWW-Authenticate"]
    assert Consent.objects.get().status == ConsentStatus.EXPIRED
    assert not AccessToken.objects.exists()


def test_a_code_for_a_revoked_consent_cannot_be_exchanged(alice, application, api):
    verifier, challenge = world.pkce_pair()
    response = signed_in(alice).post(world.authorize_url(application, challenge=challenge), world.consent_form(alice))
    code = world.query_of(response["Location"])["code"]
    Consent.objects.update(status=ConsentStatus.REVOKED)
    token = world.token_request(
        api, application, {"grant_type": "authorization_code", "code": code, "redirect_uri": world.REDIRECT_URI, "code_verifier": verifier}
    )
    assert token.status_code == 400


def test_revocation_endpoint_kills_an_access_token(tokens, application, api):
    response = api.post("/oauth/revoke/", {"token": tokens["access_token"]}, HTTP_AUTHORIZATION=world.basic_auth(application))
    assert response.status_code == 200
    assert _bearer(api, tokens).status_code == 401
