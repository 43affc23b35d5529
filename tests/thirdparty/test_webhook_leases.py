"""Claim with a lease (amiportal/leases.py): no row stays claimed after its worker dies (SO-U3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from amiportal.leases import lease_claim, lease_release, lease_renew, lease_sweep
from tests.thirdparty import world
from thirdparty.models import WebhookEvent
from thirdparty.services.webhooks import MAX_ATTEMPTS, webhook_configure, webhook_deliver, webhook_queue

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(trent, alice, receiver):
    application = world.register(trent)
    webhook_configure(application=application, url=f"http://127.0.0.1:{receiver[0].server_port}/hook", actor=trent)
    world.grant(application, alice)
    return WebhookEvent.objects.get()


@pytest.mark.objective("SO-U3")
def test_a_claim_whose_worker_died_goes_back_to_pending_once_its_lease_lapses(event, receiver):
    queue = webhook_queue()
    now = timezone.now()
    lease = lease_claim(queue, pk=event.pk, now=now)
    assert lease is not None and lease_claim(queue, pk=event.pk, now=now) is None  # one claimant only
    # The worker dies here: nothing releases the row.
    assert webhook_deliver(event_id=str(event.pk)) == "not pending"
    assert lease_sweep(queue, now=now + timedelta(seconds=queue.lease_seconds - 1)).returned == []
    swept = lease_sweep(queue, now=now + timedelta(seconds=queue.lease_seconds + 1))
    assert swept.returned == [event.pk] and swept.failed == []
    event.refresh_from_db()
    assert (event.state, event.attempts, event.lease_expires_at) == (WebhookEvent.State.PENDING, 1, None)
    assert webhook_deliver(event_id=str(event.pk)) == "delivered"
    assert len(receiver[1].received) == 1


@pytest.mark.objective("SO-U3")
def test_a_claim_that_keeps_dying_is_given_up_after_the_last_attempt(event):
    queue = webhook_queue()
    WebhookEvent.objects.filter(pk=event.pk).update(attempts=MAX_ATTEMPTS - 1)
    now = timezone.now()
    lease_claim(queue, pk=event.pk, now=now)
    swept = lease_sweep(queue, now=now + timedelta(seconds=queue.lease_seconds + 1))
    assert swept.failed == [event.pk] and swept.returned == []
    event.refresh_from_db()
    assert (event.state, event.attempts) == (WebhookEvent.State.FAILED, MAX_ATTEMPTS)


@pytest.mark.objective("SO-U3")
def test_a_worker_that_lost_its_lease_cannot_overwrite_the_next_claim(event):
    queue = webhook_queue()
    now = timezone.now()
    stale = lease_claim(queue, pk=event.pk, now=now)
    later = now + timedelta(seconds=queue.lease_seconds + 1)
    lease_sweep(queue, now=later)
    current = lease_claim(queue, pk=event.pk, now=later)
    assert lease_renew(queue, lease=stale) is None
    assert not lease_release(queue, lease=stale, state=WebhookEvent.State.DELIVERED)
    renewed = lease_renew(queue, lease=current, now=later + timedelta(seconds=5))
    assert renewed is not None and renewed.expires_at > current.expires_at
    assert lease_release(queue, lease=renewed, state=WebhookEvent.State.DELIVERED)
    event.refresh_from_db()
    assert (event.state, event.lease_expires_at) == (WebhookEvent.State.DELIVERED, None)


def test_beat_runs_the_webhook_lease_sweeper_every_minute():
    from amiportal.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["thirdparty-webhook-leases-sweep"]
    assert entry["schedule"] <= timedelta(minutes=1)
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks


@pytest.mark.objective("SO-U3")
def test_the_sweeper_task_enqueues_the_returned_events_again(event, monkeypatch, django_capture_on_commit_callbacks):
    from thirdparty import tasks

    queued = []
    monkeypatch.setattr(tasks.webhook_deliver_task, "delay", queued.append)
    past = timezone.now() - timedelta(hours=1)
    lease_claim(webhook_queue(), pk=event.pk, now=past)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.webhook_leases_sweep_task() == {"returned": 1, "failed": 0}
    assert queued == [str(event.pk)]
