"""Celery tasks of the HAN relay: thin, id-taking, idempotent (see ``han.services.relay``)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError

from han.services.relay import job_relay, report_record

_TRANSIENT = (OperationalError, BrokerOperationalError, ConnectionError, TimeoutError)


@shared_task(
    name="han.tasks.han_job_relay_task", acks_late=True, autoretry_for=_TRANSIENT, retry_backoff=True, retry_jitter=True, max_retries=8
)
def han_job_relay_task(job_id: int) -> str:
    """Send one job's signed command to its coordinator. Returns a status word, never key material."""
    return job_relay(job_id=job_id)


@shared_task(
    name="han.tasks.han_report_record_task", acks_late=True, autoretry_for=_TRANSIENT, retry_backoff=True, retry_jitter=True, max_retries=8
)
def han_report_record_task(report: dict) -> str:
    """Apply a coordinator's signed report (it carries no key material)."""
    return report_record(report=report)
