from celery import shared_task

from thirdparty.services.consent import consents_expire_due
from thirdparty.services.device_control import signature_nonces_prune
from thirdparty.services.tokens import token_records_prune
from thirdparty.services.webhooks import (
    MAX_ATTEMPTS,
    RETRY_BACKOFF,
    RETRY_BACKOFF_MAX,
    WebhookDeliveryError,
    data_available_notify,
    webhook_deliver,
    webhook_leases_sweep,
)


@shared_task(
    acks_late=True,
    autoretry_for=(WebhookDeliveryError,),
    retry_backoff=RETRY_BACKOFF,
    retry_backoff_max=RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=MAX_ATTEMPTS - 1,
)
def webhook_deliver_task(event_id: str) -> str:
    return webhook_deliver(event_id=event_id, max_attempts=MAX_ATTEMPTS)


@shared_task(acks_late=True)
def webhook_leases_sweep_task() -> dict[str, int]:
    """Beat: events whose sending worker died (lease expired), or that no worker got, are enqueued again."""
    result = webhook_leases_sweep()
    return {"returned": len(result.returned), "stranded": len(result.stranded), "failed": len(result.failed)}


@shared_task(acks_late=True)
def consents_expire_task() -> int:
    """Beat: end consents past their date (tokens die, authorization.expired is sent)."""
    return consents_expire_due()


@shared_task(acks_late=True)
def data_available_task() -> int:
    """Beat: tell third parties with a webhook that new readings arrived for their customers."""
    return data_available_notify()


@shared_task(acks_late=True)
def signature_nonces_prune_task() -> int:
    """Beat: forget request-signature nonces older than the signature window (those requests are stale anyway)."""
    return signature_nonces_prune()


@shared_task(acks_late=True)
def token_records_prune_task() -> int:
    """Beat: forget digests of dead tokens and redeemed codes once they can no longer matter."""
    return token_records_prune()
