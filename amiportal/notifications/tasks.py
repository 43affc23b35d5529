"""Celery tasks of the notification centre: thin, by ids, each calling one service."""

from __future__ import annotations

from celery import shared_task

from amiportal.notifications.kinds import bill_to_date, consent_expiry, critical_peak, usage_spike
from amiportal.notifications.services.delivery import deliveries_sweep, delivery_send


@shared_task(acks_late=True)
def deliveries_send_task(delivery_ids: list[int]) -> dict[str, int]:
    """Send a chunk of deliveries, each on its own lease; a failure is retried later by the sweeper, not here."""
    outcomes: dict[str, int] = {}
    for delivery_id in delivery_ids:
        outcome = delivery_send(delivery_id=delivery_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


@shared_task(acks_late=True)
def deliveries_sweep_task() -> int:
    """Beat: deliveries whose worker died or whose retry time has come are handed out again."""
    return deliveries_sweep()


@shared_task(acks_late=True)
def critical_peak_declared_task(event_id: int) -> int:
    """After an operator declares a critical-peak event: tell the customers on its tariff."""
    return critical_peak.declared_send(event_id=event_id).stored


@shared_task(acks_late=True)
def critical_peak_morning_task() -> int:
    """Beat: the morning of an event day, in each premise's zone."""
    return critical_peak.morning_send()


@shared_task(acks_late=True)
def usage_alerts_task() -> dict[str, int]:
    """Beat: bill to date above the customer's amount; usage today above N times the usual."""
    return {"bill_to_date": bill_to_date.alerts_send(), "usage_spike": usage_spike.alerts_send()}


@shared_task(acks_late=True)
def consent_reminders_task() -> int:
    """Beat: remind customers before a third party's access ends (re-consent)."""
    return consent_expiry.reminders_send()
