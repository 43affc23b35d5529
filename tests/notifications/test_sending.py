"""Sending: one row per natural key even under concurrent senders, refusals with reasons, failing channels retried (SO-U3)."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from amiportal.notifications.channels import ChannelError, email
from amiportal.notifications.kinds import Recipient, UnknownKind
from amiportal.notifications.models import Delivery, Notification
from amiportal.notifications.services.delivery import MAX_ATTEMPTS, deliveries_sweep, delivery_send
from amiportal.notifications.services.sending import notifications_send
from tests.notifications.world import home_of

FACTS = {"day": timezone.localdate(), "start_hour": 16, "end_hour": 19, "tariff": "Peak Saver"}


def _to(user) -> Recipient:
    return Recipient(user_id=user.pk, account_id=user.customer_account.pk, premise_id=home_of(user).pk, zone="America/Chicago")


def _send(*users, subject="critical_peak_event:1", **extra):
    return notifications_send(
        kind="critical_peak", subject=subject, period="declared", recipients=[_to(u) for u in users], facts=FACTS, **extra
    )


@pytest.mark.django_db
def test_an_unknown_kind_is_refused_with_the_reason_and_logged_once(alice, caplog):
    with caplog.at_level(logging.ERROR), pytest.raises(UnknownKind, match="'outage_made_up' is not a notification kind; known kinds: "):
        notifications_send(kind="outage_made_up", subject="x", period="y", recipients=[_to(alice)])
    known = "bill_to_date, consent_expiry, critical_peak, usage_spike"
    logged = [r.message for r in caplog.records if "outage_made_up" in r.message]
    assert logged == [f"notification refused: kind 'outage_made_up' is not in the registry (known: {known})"]
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_email_without_an_address_is_refused_with_the_reason_logged_once_and_the_inbox_still_gets_it(alice, bob, caplog):
    type(alice).objects.filter(pk=alice.pk).update(email="")  # sign-in is by email, but an imported account may lack one
    with caplog.at_level(logging.WARNING):
        result = _send(alice, bob)
    assert result.stored == 2 and result.queued == 1
    refused = Delivery.objects.get(channel="email", notification__user=alice)
    assert (refused.state, refused.last_error) == ("refused", "there is no email address on the account")
    assert Delivery.objects.filter(channel="inbox", state="delivered").count() == 2
    logged = [r.message for r in caplog.records if "not sent by email" in r.message]
    assert logged == ["notification critical_peak critical_peak_event:1: 1 not sent by email: there is no email address on the account"]


@pytest.mark.django_db
def test_a_second_send_of_the_same_key_is_a_no_op(alice, bob):
    first = _send(alice, bob)
    again = _send(alice, bob)
    assert (first.stored, first.queued) == (2, 2)
    assert (again.stored, again.queued) == (0, 0)
    assert Notification.objects.count() == 2 and Delivery.objects.count() == 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_key_at_once_store_it_once(alice, bob):
    barrier, results, errors = threading.Barrier(4), [], []

    def worker():
        try:
            barrier.wait()
            results.append(_send(alice, bob))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(r.stored for r in results) == 2 and sum(r.queued for r in results) == 2
    assert Notification.objects.count() == 2
    assert Delivery.objects.filter(channel="email").count() == 2


@pytest.mark.objective("SO-U3")
@pytest.mark.django_db
def test_a_failing_channel_retries_with_backoff_and_blocks_no_one_else(alice, bob, monkeypatch, mailoutbox):
    _send(alice, bob)
    real = email.deliver

    def broken_for_alice(notification):
        if notification.user_id == alice.pk:
            raise ChannelError("SMTPServerDisconnected: the relay hung up")
        real(notification)

    monkeypatch.setattr(email, "deliver", broken_for_alice)
    now = timezone.now()
    outcomes = [
        delivery_send(delivery_id=d.pk, now=now) for d in Delivery.objects.filter(channel="email").order_by("notification__user__email")
    ]
    assert outcomes == ["retry later", "delivered"]  # alice@, bob@
    assert [m.to for m in mailoutbox] == [[bob.email]]
    failing = Delivery.objects.get(channel="email", notification__user=alice)
    assert (failing.state, failing.attempts, failing.last_error) == ("pending", 1, "SMTPServerDisconnected: the relay hung up")
    assert now + timedelta(seconds=30) <= failing.next_attempt_at <= now + timedelta(seconds=38)
    assert Delivery.objects.get(channel="inbox", notification__user=alice).state == "delivered"
    # Not due yet: the sweeper leaves it; once due it is handed out again, and the relay is back.
    assert deliveries_sweep(now=now + timedelta(seconds=10)) == 0
    monkeypatch.setattr(email, "deliver", real)
    assert deliveries_sweep(now=now + timedelta(minutes=1)) == 1
    assert delivery_send(delivery_id=failing.pk) == "delivered"
    assert [m.to for m in mailoutbox] == [[bob.email], [alice.email]]


@pytest.mark.django_db
def test_a_channel_that_keeps_failing_gives_up_after_the_last_attempt(alice, monkeypatch):
    _send(alice)
    monkeypatch.setattr(email, "deliver", lambda notification: (_ for _ in ()).throw(ChannelError("mailbox full")))
    delivery = Delivery.objects.get(channel="email")
    for _ in range(MAX_ATTEMPTS):
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)
        delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("failed", MAX_ATTEMPTS)


@pytest.mark.objective("SO-U3")
@pytest.mark.django_db
def test_a_delivery_whose_worker_died_is_handed_out_again(alice):
    _send(alice)
    delivery = Delivery.objects.get(channel="email")
    Delivery.objects.filter(pk=delivery.pk).update(state="sending", lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert deliveries_sweep(now=timezone.now() + timedelta(minutes=5)) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("pending", 1)
    assert delivery_send(delivery_id=delivery.pk) == "delivered"


def test_beat_runs_every_notification_job_by_a_registered_task_name(settings):
    from amiportal.celery import app

    app.loader.import_default_modules()
    jobs = {name: entry["task"] for name, entry in settings.CELERY_BEAT_SCHEDULE.items() if "notifications" in entry["task"]}
    assert set(jobs) == {
        "notifications-deliveries-sweep",
        "notifications-critical-peak-morning",
        "notifications-usage-alerts",
        "thirdparty-consent-reminders",
    }
    assert all(task in app.tasks for task in jobs.values()), jobs
    assert settings.CELERY_BEAT_SCHEDULE["notifications-deliveries-sweep"]["schedule"] == timedelta(minutes=1)
