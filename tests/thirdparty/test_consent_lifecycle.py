"""One live consent per customer and application, codes that go live only when redeemed, replay and suspension (SO-T1, SO-C15)."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken

from amiportal.audit.models import AuditEntry
from tests.conftest import signed_in
from tests.thirdparty import world
from thirdparty.models import AccessLogEntry, ApplicationStatus, Consent, ConsentStatus, EndedToken, RedeemedCode
from thirdparty.services.registration import application_status_set
from thirdparty.services.tokens import token_records_prune

pytestmark = pytest.mark.django_db

STATUS = "/espi/1_1/resource/ReadServiceStatus"


def _bearer(api, tokens):
    return api.get(STATUS, HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")


def _refresh(api, application, tokens):
    return world.token_request(api, application, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})


def _code(customer, application) -> tuple[str, str]:
    verifier, challenge = world.pkce_pair()
    response = signed_in(customer).post(world.authorize_url(application, challenge=challenge), world.consent_form(customer))
    assert response.status_code == 302
    return world.query_of(response["Location"])["code"], verifier


def _exchange(api, application, code: str, verifier: str):
    return world.token_request(
        api, application, {"grant_type": "authorization_code", "code": code, "redirect_uri": world.REDIRECT_URI, "code_verifier": verifier}
    )


@pytest.mark.objective("SO-T1")
def test_a_second_pass_through_the_consent_screen_supersedes_the_first_and_kills_its_tokens(alice, application, api):
    first = world.obtain_tokens(signed_in(alice), api, application, alice)
    second = world.obtain_tokens(signed_in(alice), api, application, alice)
    old, new = Consent.objects.order_by("pk")
    assert old.status == ConsentStatus.SUPERSEDED and old.ended_at is not None
    assert new.status == ConsentStatus.ACTIVE
    assert Consent.objects.filter(customer=alice, application=application, status=ConsentStatus.ACTIVE).count() == 1
    assert _bearer(api, first).status_code == 401 and _refresh(api, application, first).status_code == 400
    assert _bearer(api, second).status_code == 200
    entry = AuditEntry.objects.get(action="thirdparty.consent_superseded")
    assert entry.target == f"consent:{old.pk}" and json.loads(entry.payload)["superseded_by"] == new.pk
    page = signed_in(alice).get("/customer/access/").content.decode()
    assert "Replaced by a newer authorization" in page and page.count("Revoke access now") == 1


@pytest.mark.objective("SO-T1")
def test_a_code_that_is_never_redeemed_leaves_no_live_grant_and_keeps_the_earlier_one(alice, application, api):
    tokens = world.obtain_tokens(signed_in(alice), api, application, alice)
    _code(alice, application)  # the application never comes back for this one
    live, pending = Consent.objects.order_by("pk")
    assert live.status == ConsentStatus.ACTIVE and pending.status == ConsentStatus.PENDING
    assert not pending.is_live()
    assert _bearer(api, tokens).status_code == 200
    page = signed_in(alice).get("/customer/access/").content.decode()
    assert page.count("Revoke access now") == 1 and "Waiting for the application" not in page


def test_a_pending_consent_is_not_in_the_applications_authorization_list(alice, application, api):
    _code(alice, application)
    token = world.client_access_token(api, application)
    listed = api.get("/espi/1_1/resource/Authorization", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert listed["total_results"] == 0


@pytest.mark.objective("SO-T1")
def test_a_replayed_code_revokes_the_tokens_issued_from_it(alice, application, api):
    code, verifier = _code(alice, application)
    first = _exchange(api, application, code, verifier)
    assert first.status_code == 200
    tokens = first.json()
    assert _bearer(api, tokens).status_code == 200
    replay = _exchange(api, application, code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert _bearer(api, tokens).status_code == 401
    assert _refresh(api, application, tokens).status_code == 400
    assert not AccessToken.objects.exists()
    consent = Consent.objects.get()
    assert consent.status == ConsentStatus.REPLAYED
    assert AuditEntry.objects.filter(action="thirdparty.consent_code_replayed", target=f"consent:{consent.pk}").exists()
    # Only a keyed digest of the code is kept.
    assert not RedeemedCode.objects.filter(code_digest=code).exists() and RedeemedCode.objects.count() == 1


def test_another_applications_replayed_code_changes_nothing(alice, trent, application, api):
    code, verifier = _code(alice, application)
    tokens = _exchange(api, application, code, verifier).json()
    other = world.register(trent, name="Other App")
    assert _exchange(api, other, code, verifier).status_code == 400
    assert _bearer(api, tokens).status_code == 200 and Consent.objects.get().status == ConsentStatus.ACTIVE


@pytest.mark.objective("SO-T1")
@pytest.mark.parametrize("pause", [ApplicationStatus.ON_HOLD, ApplicationStatus.REVOKED])
def test_suspending_the_application_ends_its_consents_and_production_does_not_revive_them(alice, olga, application, api, pause):
    tokens = world.obtain_tokens(signed_in(alice), api, application, alice)
    application_status_set(application=application, status=pause, reason="review", actor=olga)
    consent = Consent.objects.get()
    assert consent.status == ConsentStatus.SUSPENDED and not consent.is_live()
    if pause == ApplicationStatus.ON_HOLD:
        application_status_set(application=application, status=ApplicationStatus.PRODUCTION, reason="fixed", actor=olga)
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.SUSPENDED
    # A revoked application cannot even authenticate (401); one back in production gets invalid_grant (400).
    assert _bearer(api, tokens).status_code == 401 and _refresh(api, application, tokens).status_code in (400, 401)
    page = signed_in(alice).get("/customer/access/").content.decode()
    assert "No company can read your data." in page and "the utility suspended the application" in page
    assert AuditEntry.objects.filter(action="thirdparty.consent_suspended", target=f"consent:{consent.pk}").exists()


@pytest.mark.objective("SO-T1")
@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_the_application_revoking_its_tokens_ends_the_consent(alice, application, api, which):
    tokens = world.obtain_tokens(signed_in(alice), api, application, alice)
    response = api.post("/oauth/revoke/", {"token": tokens[which]}, HTTP_AUTHORIZATION=world.basic_auth(application))
    assert response.status_code == 200
    consent = Consent.objects.get()
    assert consent.status == ConsentStatus.REVOKED and consent.ended_at is not None
    assert _bearer(api, tokens).status_code == 401 and _refresh(api, application, tokens).status_code == 400
    assert "No company can read your data." in signed_in(alice).get("/customer/access/").content.decode()
    assert AuditEntry.objects.filter(action="thirdparty.consent_released_by_application").exists()


@pytest.mark.objective("SO-U8")
def test_a_call_refused_after_revocation_is_in_the_customers_access_log_without_the_token(alice, application, api):
    tokens = world.obtain_tokens(signed_in(alice), api, application, alice)
    consent = Consent.objects.get()
    signed_in(alice).post(f"/customer/access/{consent.pk}/revoke/", {"confirm": "yes"})
    path = f"/espi/1_1/resource/Subscription/{consent.pk}/UsagePoint"
    assert api.get(path, HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").status_code == 401
    entry = AccessLogEntry.objects.get(consent=consent)
    assert entry.status_code == 401 and entry.resource == path and entry.items == 0
    page = signed_in(alice).get("/customer/access/log/").content.decode()
    # In words: what was asked for and why it was refused, never the raw API path.
    assert "list of your meters" in page and "Refused: the company had no valid access" in page and path not in page
    # What is kept to recognise the dead token is a keyed digest: neither the token nor its plain SHA-256.
    kept = EndedToken.objects.get(consent=consent).token_digest
    assert kept not in (tokens["access_token"], hashlib.sha256(tokens["access_token"].encode()).hexdigest())
    # An unknown token is refused without touching anyone's log.
    assert api.get(path, HTTP_AUTHORIZATION="Bearer not-a-token").status_code == 401
    assert AccessLogEntry.objects.count() == 1


def test_records_of_dead_tokens_and_redeemed_codes_are_pruned_once_useless(alice, application, api):
    tokens = world.obtain_tokens(signed_in(alice), api, application, alice)
    consent = Consent.objects.get()
    signed_in(alice).post(f"/customer/access/{consent.pk}/revoke/", {"confirm": "yes"})
    assert EndedToken.objects.count() == 1 and RedeemedCode.objects.count() == 1
    assert token_records_prune(now=timezone.now()) == 0
    assert token_records_prune(now=timezone.now() + timedelta(days=31)) == 2
    path = f"/espi/1_1/resource/Subscription/{consent.pk}/UsagePoint"
    assert api.get(path, HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").status_code == 401


def test_authorization_created_is_sent_when_the_code_is_redeemed_not_before(alice, trent, application, api):
    from thirdparty.models import WebhookEvent
    from thirdparty.services.webhooks import webhook_configure

    webhook_configure(application=application, url="http://127.0.0.1:9/ami", actor=trent)  # loopback: allowed in tests
    application.refresh_from_db()
    code, verifier = _code(alice, application)
    assert not WebhookEvent.objects.filter(event="authorization.created").exists()
    assert _exchange(api, application, code, verifier).status_code == 200
    assert WebhookEvent.objects.filter(event="authorization.created", consent=Consent.objects.get()).count() == 1
