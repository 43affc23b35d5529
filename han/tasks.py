"""Celery tasks of the HAN relay: thin, id-taking, idempotent (see ``han.services.relay``)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError

from han.services.relay import job_relay, report_record, reports_record
from han.services.sweeper import han_commands_sweep

_TRANSIENT = (OperationalError, BrokerOperationalError, ConnectionError, TimeoutError)


@shared_task(
    name="han.tasks.han_job_relay_task", acks_late=True, autoretry_for=_TRANSIENT, retry_backoff=True, retry_jitter=True, max_retries=8
)
def han_job_relay_task(job_id: int) -> str:
    """Send one job's signed command to its coordinator. Returns a status word, never key material."""
    return job_relay(job_id=job_id)


@shared_task(
    name="han.tasks.han_jobs_relay_task", acks_late=True, autoretry_for=_TRANSIENT, retry_backoff=True, retry_jitter=True, max_retries=8
)
def han_jobs_relay_task(job_ids: list) -> str:
    """Send several jobs' commands (created together, ``jobs_task_send``); a job another runner took along is skipped."""
    outcomes = [job_relay(job_id=int(job_id)) for job_id in job_ids]
    return f"{outcomes.count('relayed')} of {len(outcomes)} relayed here"


@shared_task(
    name="han.tasks.han_report_record_task", acks_late=True, autoretry_for=_TRANSIENT, retry_backoff=True, retry_jitter=True, max_retries=8
)
def han_report_record_task(report: dict) -> str:
    """Apply one signed report (it carries no key material).

    Coordinators now send batches (``han_reports_record_task``); this stays registered so
    that reports queued by a coordinator of the previous release are still applied.
    """
    return report_record(report=report)


@shared_task(
    name="han.tasks.han_reports_record_task", acks_late=True, autoretry_for=_TRANSIENT, retry_backoff=True, retry_jitter=True, max_retries=8
)
def han_reports_record_task(reports: list) -> str:
    """Apply a batch of signed reports from one coordinator process, in one transaction."""
    outcomes = reports_record(reports=reports)
    return f"{len(outcomes)} reports"


@shared_task(name="han.tasks.han_commands_sweep_task")
def han_commands_sweep_task() -> dict[str, int]:
    """Beat, every few seconds: the head-end's command deadlines (``han.services.sweeper``). Counts only."""
    return han_commands_sweep()
