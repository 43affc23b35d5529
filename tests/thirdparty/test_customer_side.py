"""The customer's side: who has access to what until when, one-click revoke, re-consent (SO-T1) (reminders: tests/notifications)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from amiportal.audit.models import AuditEntry
from tests.conftest import signed_in
from tests.thirdparty import world
from thirdparty.models import Consent, ConsentStatus
from thirdparty.services.consent import consents_expire_due

pytestmark = pytest.mark.django_db


def test_overview_shows_who_sees_what_where_until_when(alice, application):
    consent = world.grant(application, alice, history_months=6)
    html = signed_in(alice).get("/customer/access/").content.decode()
    assert "Energy Insights" in html and "Insights Ltd" in html
    assert "Interval usage" in html and "Usage summaries with cost" in html
    assert world.premise_of(alice).address_line in html
    assert "Up to 6 months back" in html
    assert f"{consent.expires_at:%-d %b %Y}" in html


def test_bob_sees_nothing_of_alices_consents(alice, bob, application):
    consent = world.grant(application, alice)
    assert "Energy Insights" not in signed_in(bob).get("/customer/access/").content.decode()
    assert signed_in(bob).post(f"/customer/access/{consent.pk}/revoke/").status_code == 404
    assert signed_in(bob).get(f"/customer/access/{consent.pk}/extend/").status_code == 404
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.ACTIVE


@pytest.mark.objective("SO-T1")
def test_confirmed_revoke_is_recorded_in_the_audit_trail(alice, application):
    consent = world.grant(application, alice)
    client = signed_in(alice)
    response = client.post(f"/customer/access/{consent.pk}/revoke/", {"confirm": "yes"}, follow=True)
    assert "no longer has access" in response.content.decode()
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.REVOKED and consent.ended_at
    entry = AuditEntry.objects.get(action="thirdparty.consent_revoked")
    assert entry.actor_id == alice.pk and entry.customer_account_id == alice.customer_account.pk
    assert "Ended" in client.get("/customer/access/").content.decode()


def test_reminder_banner_and_re_consent_extend_the_end_date(alice, application, api):
    tokens = world.obtain_tokens(signed_in(alice), api, application, alice)
    consent = Consent.objects.get()
    Consent.objects.filter(pk=consent.pk).update(expires_at=timezone.now() + timedelta(days=5))
    client = signed_in(alice)
    assert "Keep it for longer" in client.get("/customer/access/").content.decode()
    new_end = timezone.localdate() + timedelta(days=200)
    response = client.post(f"/customer/access/{consent.pk}/extend/", {"end_date": new_end.isoformat()})
    assert response.status_code == 302
    consent.refresh_from_db()
    assert timezone.localdate(consent.expires_at) == new_end
    # The same tokens keep working: re-consent changes the end, not the grant.
    assert api.get("/espi/1_1/resource/ReadServiceStatus", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").status_code == 200


def test_re_consent_cannot_pass_the_maximum(alice, application, settings):
    settings.AMI_TP_CONSENT_MAX_DAYS = 100
    consent = world.grant(application, alice, days=50)
    response = signed_in(alice).post(
        f"/customer/access/{consent.pk}/extend/", {"end_date": (timezone.localdate() + timedelta(days=150)).isoformat()}
    )
    assert response.status_code == 200
    consent.refresh_from_db()
    assert consent.expires_at < timezone.now() + timedelta(days=51)


def test_expiry_sweep_ends_consents_and_their_tokens(alice, application, api):
    tokens = world.obtain_tokens(signed_in(alice), api, application, alice)
    Consent.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert consents_expire_due() == 1
    assert Consent.objects.get().status == ConsentStatus.EXPIRED
    assert api.get("/espi/1_1/resource/ReadServiceStatus", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").status_code == 401
