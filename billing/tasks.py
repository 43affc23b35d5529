"""Billing's periodic work, run by Celery beat (``CELERY_BEAT_SCHEDULE`` in the settings)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from billing.services.similar_homes import similar_homes_due_day, similar_homes_refresh


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, retry_jitter=True, max_retries=5)
def similar_homes_refresh_task() -> int | None:
    """Rank the homes of each class for the newest day that has ended everywhere (beat runs this hourly).

    Idempotent: the day is claimed by the service, so only the first run after the day is over
    does the work and the others return None.
    """
    return similar_homes_refresh(as_of=similar_homes_due_day())


@shared_task(acks_late=True, ignore_result=True)
def demo_readings_append_task() -> int:
    """The demo's simulated meters, up to now (beat runs this only when ``AMI_DEMO_LIVE_READINGS`` is on, as `make run` sets it).

    Refuses to run without the setting, so a stray message in production writes nothing.
    Idempotent and one run at a time (``demo_readings_append``); a missed run is caught up by the next.
    """
    if not settings.AMI_DEMO_LIVE_READINGS:
        return 0
    from billing.demo import demo_readings_append

    return demo_readings_append()
