"""A developer's redirect URIs and signing key: step-up, a full audit of what changed, and a new review (SO-C11, SO-C13)."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.urls import reverse

from amiportal.audit.models import AuditEntry
from tests.conftest import signed_in
from tests.thirdparty import world
from thirdparty.api.signatures import key_fingerprint
from thirdparty.models import ApplicationStatus, DataKind

pytestmark = pytest.mark.django_db

DEVICE_SCOPES = [DataKind.INTERVAL_USAGE, DataKind.HAN_STATUS]


def _new_key_pem() -> str:
    return Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def _details(application, **overrides) -> dict:
    return {
        "redirect_uris": application.redirect_uris,
        "stated_use": application.stated_use,
        "public_key_pem": application.public_key_pem,
    } | overrides


@pytest.mark.objective("SO-C13")
def test_a_production_apps_new_signing_key_and_callback_are_audited_and_sent_back_to_review(trent):
    application = world.register(trent, scopes=DEVICE_SCOPES)
    old_key = application.public_key_pem
    new_key = _new_key_pem()
    url = reverse("thirdparty:developer_application", args=[application.pk])

    refused = signed_in(trent).post(url, _details(application, redirect_uris="https://evil.example.test/cb", public_key_pem=new_key))
    assert refused.status_code == 302 and refused.url.startswith(reverse("accounts:step_up"))
    application.refresh_from_db()
    assert application.public_key_pem == old_key and application.status == ApplicationStatus.PRODUCTION

    response = signed_in(trent, stepped_up=True).post(
        url, _details(application, redirect_uris="https://client.example.test/v2/callback", public_key_pem=new_key), follow=True
    )
    assert "back in review until the utility approves the change" in response.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REVIEW
    assert application.oauth_application.redirect_uris == "https://client.example.test/v2/callback"

    changed = AuditEntry.objects.filter(action="thirdparty.application_updated").latest("seq")
    assert changed.actor_id == trent.pk
    assert json.loads(changed.payload)["changes"] == {
        "redirect_uris": {"old": [world.REDIRECT_URI], "new": ["https://client.example.test/v2/callback"]},
        "public_key_sha256": {"old": key_fingerprint(old_key), "new": key_fingerprint(new_key)},
    }
    status = AuditEntry.objects.filter(action="thirdparty.application_status_changed").latest("seq")
    assert (
        json.loads(status.payload)["from"] == "production" and json.loads(status.payload)["to"] == "review" and status.actor_id == trent.pk
    )


def test_a_production_app_stays_in_production_when_only_its_description_changes(trent):
    application = world.register(trent)
    url = reverse("thirdparty:developer_application", args=[application.pk])
    signed_in(trent, stepped_up=True).post(url, _details(application, stated_use="Daily charts of your use, and tips."))
    application.refresh_from_db()
    assert application.status == ApplicationStatus.PRODUCTION and application.stated_use.startswith("Daily")
    entry = AuditEntry.objects.filter(action="thirdparty.application_updated").latest("seq")
    assert json.loads(entry.payload) == {"changes": {}, "stated_use_changed": True}


def test_an_app_back_in_review_answers_no_api_call_until_approved_again(trent, application, tokens, api):
    from thirdparty.services.registration import application_status_set

    url = reverse("thirdparty:developer_application", args=[application.pk])
    signed_in(trent, stepped_up=True).post(url, _details(application, redirect_uris="https://client.example.test/v2/callback"))
    headers = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    assert api.get("/espi/1_1/resource/ReadServiceStatus", **headers).status_code in (401, 403)
    application_status_set(application=application, status=ApplicationStatus.PRODUCTION, reason="change reviewed", actor=None)
    assert api.get("/espi/1_1/resource/ReadServiceStatus", **headers).status_code == 200
