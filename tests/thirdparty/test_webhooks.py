"""Webhooks: signed with HMAC and a timestamp, delivered at least once with event ids, retried on failure."""

from __future__ import annotations

import json

import pytest

from tests.conftest import signed_in
from tests.thirdparty import world
from thirdparty.models import WebhookEvent
from thirdparty.services.consent import consent_revoke
from thirdparty.services.webhooks import WebhookDeliveryError, signature_header, signature_valid, webhook_deliver, webhook_secret_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def hooked_application(trent, receiver):
    application = world.register(trent)
    response = signed_in(trent, stepped_up=True).post(
        f"/developer/applications/{application.pk}/webhook/", {"webhook_url": f"http://127.0.0.1:{receiver[0].server_port}/hook"}
    )
    assert response.status_code == 200
    application.refresh_from_db()
    return application, response.context["secret"]


def test_webhook_secret_is_shown_once_and_stored_sealed(hooked_application):
    application, secret = hooked_application
    assert secret.startswith("whsec_") and secret not in application.webhook_secret_sealed
    assert webhook_secret_of(application) == secret


def test_webhook_url_must_be_https_or_loopback(trent):
    application = world.register(trent)
    signed_in(trent, stepped_up=True).post(
        f"/developer/applications/{application.pk}/webhook/", {"webhook_url": "http://hooks.example.test/x"}
    )
    application.refresh_from_db()
    assert application.webhook_url == ""


def test_authorization_events_are_signed_and_delivered(alice, hooked_application, receiver):
    application, secret = hooked_application
    consent = world.grant(application, alice)
    consent_revoke(consent=consent, actor=alice)
    events = list(WebhookEvent.objects.order_by("created_at"))
    assert [e.event for e in events] == ["authorization.created", "authorization.revoked"]
    for event in events:
        assert webhook_deliver(event_id=str(event.pk), max_attempts=3) == "delivered"
    _, handler = receiver
    assert len(handler.received) == 2
    headers, body = handler.received[1]
    assert headers["AMI-Event-Id"] == str(events[1].pk)
    assert signature_valid(secret, body, headers["AMI-Signature"])
    assert not signature_valid("whsec_wrong", body, headers["AMI-Signature"])
    payload = json.loads(body)
    assert payload["type"] == "authorization.revoked" and payload["data"]["authorization_id"] == consent.pk
    assert WebhookEvent.objects.filter(state=WebhookEvent.State.DELIVERED).count() == 2


def test_delivery_is_idempotent(alice, hooked_application, receiver):
    application, _ = hooked_application
    world.grant(application, alice)
    event = WebhookEvent.objects.get()
    webhook_deliver(event_id=str(event.pk), max_attempts=3)
    assert webhook_deliver(event_id=str(event.pk), max_attempts=3) == "not pending"
    assert len(receiver[1].received) == 1


def test_failed_delivery_is_retried_then_given_up(alice, hooked_application, receiver):
    application, _ = hooked_application
    world.grant(application, alice)
    event = WebhookEvent.objects.get()
    receiver[1].answer = 503
    with pytest.raises(WebhookDeliveryError):
        webhook_deliver(event_id=str(event.pk), max_attempts=2)
    event.refresh_from_db()
    assert event.state == WebhookEvent.State.PENDING and event.attempts == 1 and "503" in event.last_error
    assert webhook_deliver(event_id=str(event.pk), max_attempts=2) == "failed"
    receiver[1].answer = 200
    event.refresh_from_db()
    assert event.state == WebhookEvent.State.FAILED and event.attempts == 2


def test_stale_signatures_are_rejected():
    body = b'{"id": "x"}'
    header = signature_header("whsec_k", body, 1_000_000)
    assert signature_valid("whsec_k", body, header, now=1_000_100)
    assert not signature_valid("whsec_k", body, header, now=1_000_000 + 301)
    assert not signature_valid("whsec_k", body + b" ", header, now=1_000_100)
    assert not signature_valid("whsec_k", body, "garbage", now=1_000_100)


def test_events_are_queued_for_celery_after_commit(alice, hooked_application, django_capture_on_commit_callbacks, monkeypatch):
    application, _ = hooked_application
    queued = []
    from thirdparty import tasks

    monkeypatch.setattr(tasks.webhook_deliver_task, "delay", lambda event_id: queued.append(event_id))
    with django_capture_on_commit_callbacks(execute=True):
        world.grant(application, alice)
    assert queued == [str(WebhookEvent.objects.get().pk)]


def test_new_readings_are_announced_once_per_consent(alice, bob, hooked_application):
    from datetime import timedelta

    from django.utils import timezone

    from tests.thirdparty.data import day_of_readings
    from thirdparty.services.webhooks import data_available_notify

    application, _ = hooked_application
    consent = world.grant(application, alice)
    world.grant(application, bob)
    WebhookEvent.objects.all().delete()
    day_of_readings(world.premise_of(alice).meters.get(), timezone.localdate() - timedelta(days=1))
    assert data_available_notify() == 1
    event = WebhookEvent.objects.get()
    assert event.event == "data.available" and event.consent == consent
    assert data_available_notify() == 0


@pytest.mark.objective("SO-C7")
def test_readings_after_the_customer_moved_out_are_not_announced(alice, hooked_application):
    """The next occupant's readings are never served under Alice's consent, and their arrival is not announced either:
    it would tell the third party that someone lives there now."""
    from datetime import timedelta

    from django.utils import timezone

    from amiportal.premises.services import agreement_move_out
    from tests.thirdparty.data import day_of_readings
    from thirdparty.services.webhooks import data_available_notify

    application, _ = hooked_application
    world.grant(application, alice)
    today = timezone.localdate()
    agreement_move_out(agreement=alice.customer_account.agreements.get(), move_out=today - timedelta(days=10))
    WebhookEvent.objects.all().delete()
    meter = world.premise_of(alice).meters.get()
    day_of_readings(meter, today - timedelta(days=2))  # after her move-out
    assert data_available_notify() == 0 and not WebhookEvent.objects.exists()
    day_of_readings(meter, today - timedelta(days=12))  # a late delivery for her own period
    assert data_available_notify() == 1
