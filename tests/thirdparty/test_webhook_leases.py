"""Claim with a lease (amiportal/leases.py): no row stays claimed after its worker dies (SO-U3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from amiportal.leases import lease_claim, lease_release, lease_renew, lease_sweep
from tests.thirdparty import world
from thirdparty.models import WebhookEvent
from thirdparty.services.webhooks import MAX_ATTEMPTS, WebhookDeliveryError, webhook_configure, webhook_deliver, webhook_queue

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
    swept_at = now + timedelta(seconds=queue.lease_seconds + 1)
    swept = lease_sweep(queue, now=swept_at)
    assert swept.returned == [event.pk] and swept.failed == []
    event.refresh_from_db()
    # Back to pending with a new hand-off deadline: if no worker takes it by then, the next sweep sends it again.
    handoff = swept_at + timedelta(seconds=queue.handoff_seconds)
    assert (event.state, event.attempts, event.lease_expires_at) == (WebhookEvent.State.PENDING, 1, handoff)
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
        assert tasks.webhook_leases_sweep_task() == {"returned": 1, "stranded": 0, "failed": 0}
    assert queued == [str(event.pk)]


@pytest.mark.objective("SO-U3")
def test_an_event_no_worker_got_is_enqueued_again_once_its_hand_off_lapses(trent, alice, receiver):
    """The broker was down when the event was enqueued: the sweeper sends it when its hand-off lapses, once per lapse."""
    application = world.register(trent)
    webhook_configure(application=application, url=f"http://127.0.0.1:{receiver[0].server_port}/hook", actor=trent)
    world.grant(application, alice)  # its enqueue never reaches a broker (on_commit does not run in this test)
    event = WebhookEvent.objects.get()
    queue = webhook_queue()
    assert event.state == WebhookEvent.State.PENDING and event.lease_expires_at > timezone.now()
    assert lease_sweep(queue).stranded == []  # within its hand-off: a worker may still be about to take it

    lapsed = event.lease_expires_at + timedelta(seconds=1)
    swept = lease_sweep(queue, now=lapsed)
    assert (swept.stranded, swept.returned, swept.failed) == ([event.pk], [], [])
    event.refresh_from_db()
    assert (event.state, event.attempts) == (WebhookEvent.State.PENDING, 0)  # no attempt was made, none is counted
    assert lease_sweep(queue, now=lapsed).stranded == []  # handed out once per lapse, not at every sweep
    assert webhook_deliver(event_id=str(event.pk)) == "delivered"
    assert len(receiver[1].received) == 1


@pytest.mark.objective("SO-U3")
def test_a_failed_attempt_waiting_for_its_retry_is_not_handed_out_early(event, receiver):
    receiver[1].answer = 503
    with pytest.raises(WebhookDeliveryError):
        webhook_deliver(event_id=str(event.pk))
    event.refresh_from_db()
    assert event.state == WebhookEvent.State.PENDING and event.attempts == 1
    # The retry waits at most 5 s after the first attempt; the hand-off allows that plus one lease.
    assert event.lease_expires_at >= timezone.now() + timedelta(seconds=webhook_queue().handoff_seconds)
    assert lease_sweep(webhook_queue()).stranded == []
