from celery import shared_task

from amiportal.audit.services import audit_checkpoint_create


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def audit_checkpoint_task() -> int | None:
    """Sign the chain head (beat runs this hourly). Idempotent: an unchanged head signs nothing."""
    checkpoint = audit_checkpoint_create()
    return checkpoint.seq if checkpoint else None
