"""Webhooks to third parties: authorization created/updated/revoked/expired, new data available.

Each POST carries the Standard Webhooks headers (``webhook-id``, stable across
retries for de-duplication, ``webhook-timestamp``, ``webhook-signature``) and, for
the deprecation period in docs/thirdparty.md, ``AMI-Event-Id`` and ``AMI-Signature``
(``thirdparty/services/webhook_signing.py``), all under the application's webhook
secret, stored sealed; after a rotation the previous secret signs too until the
overlap ends. Destinations are checked at registration and at every send
(``webhook_destinations.py``); redirects are never followed.

Delivery is at least once: a Celery task claims the event with a lease
(``amiportal.leases``) and retries with backoff until it gets a 2xx; an event
whose worker died is handed out again by the lease sweeper. A pending event
carries a hand-off deadline (its next attempt's latest start plus one lease):
one that no worker has claimed by then, because the broker was unreachable when
it was enqueued or lost the message, is enqueued again by the same sweeper.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from amiportal.audit.services import audit_append
from amiportal.crypto.sealed_columns import column_open, column_seal
from amiportal.leases import Lease, LeasedQueue, SweepResult, lease_claim, lease_handoff_deadline, lease_release, lease_sweep
from thirdparty.models import Consent, ThirdPartyApplication, WebhookEvent
from thirdparty.services.webhook_destinations import CheckedDestination, WebhookDestinationError, webhook_destination_check
from thirdparty.services.webhook_signing import signature_header, signature_valid, standard_headers, webhook_secret_new

__all__ = ["WebhookDestinationError", "signature_header", "signature_valid"]

EVENTS = ("authorization.created", "authorization.updated", "authorization.revoked", "authorization.expired", "data.available")
TIMEOUT_SECONDS = 10
MAX_ATTEMPTS = 9
# The delivery task's backoff (thirdparty/tasks.py): the wait before a retry is at most
# RETRY_BACKOFF * 2**(attempts - 1) seconds, capped at RETRY_BACKOFF_MAX.
RETRY_BACKOFF = 5
RETRY_BACKOFF_MAX = 3600
_RESPONSE_READ_LIMIT = 64 * 1024


class WebhookDeliveryError(Exception):
    """The receiver did not answer 2xx; the task retries."""


def webhook_queue() -> LeasedQueue:
    return LeasedQueue(
        model=WebhookEvent,
        pending=WebhookEvent.State.PENDING,
        claimed=WebhookEvent.State.SENDING,
        failed=WebhookEvent.State.FAILED,
        lease_seconds=settings.AMI_WEBHOOK_LEASE_SECONDS,
        max_attempts=MAX_ATTEMPTS,
        handoff_seconds=settings.AMI_WEBHOOK_LEASE_SECONDS,
    )


def _retry_wait_at_most(attempts: int) -> int:
    return min(RETRY_BACKOFF_MAX, RETRY_BACKOFF * 2 ** max(attempts - 1, 0))


def _enqueue(event_id: str) -> None:
    """Send the event to a worker once the transaction commits.

    If the broker is unreachable the request or job that emitted the event still succeeds
    (``robust``: the error is logged); the sweeper sends it once its hand-off lapses.
    """
    from thirdparty.tasks import webhook_deliver_task

    transaction.on_commit(lambda: webhook_deliver_task.delay(event_id), robust=True)


def webhook_secret_of(application: ThirdPartyApplication) -> str:
    return column_open(application, "webhook_secret_sealed").decode()


def webhook_previous_secret_signs_until(application: ThirdPartyApplication, *, now: datetime | None = None) -> datetime | None:
    """When the rotation overlap ends, or None when the previous secret no longer signs."""
    until = application.webhook_previous_secret_until
    if application.webhook_previous_secret_sealed and until and until > (now or timezone.now()):
        return until
    return None


def webhook_secrets_signing(application: ThirdPartyApplication, *, now: datetime | None = None) -> list[str]:
    """The current secret, then the previous one while the rotation overlap lasts."""
    secrets_ = [webhook_secret_of(application)]
    if webhook_previous_secret_signs_until(application, now=now):
        secrets_.append(column_open(application, "webhook_previous_secret_sealed").decode())
    return secrets_


def _refuse(*, application: ThirdPartyApplication, url: str, error: WebhookDestinationError, actor=None, actor_label=None) -> None:
    audit_append(
        action="thirdparty.webhook_destination_refused",
        actor=actor,
        actor_label=actor_label,
        target=f"thirdparty_application:{application.pk}",
        payload={"url": url, "reason": str(error)},
    )


def webhook_configure(*, application: ThirdPartyApplication, url: str, actor) -> str | None:
    """Set the webhook URL. Returns a new signing secret (shown once) when one is created, else None.

    A destination that is not a public address raises ``WebhookDestinationError``
    and changes nothing; the attempt is audited.
    """
    if url:
        try:
            webhook_destination_check(url)
        except WebhookDestinationError as error:
            _refuse(application=application, url=url, error=error, actor=actor)
            raise
    with transaction.atomic():
        new_secret = None
        application.webhook_url = url
        fields = ["webhook_url"]
        if url and not application.webhook_secret_sealed:
            new_secret = webhook_secret_new()
            application.webhook_secret_sealed = column_seal(application, "webhook_secret_sealed", new_secret.encode())
            fields.append("webhook_secret_sealed")
        application.save(update_fields=fields)
        audit_append(
            action="thirdparty.webhook_configured", actor=actor, target=f"thirdparty_application:{application.pk}", payload={"url": url}
        )
    return new_secret


@transaction.atomic
def webhook_secret_rotate(*, application: ThirdPartyApplication, actor, now: datetime | None = None) -> str:
    """Issue a new signing secret (returned once); the old one keeps signing until the overlap ends."""
    application = ThirdPartyApplication.objects.select_for_update(no_key=True).get(pk=application.pk)
    if not application.webhook_secret_sealed:
        raise ValueError("Set a webhook URL first: it creates the first signing secret.")
    now = now or timezone.now()
    previous = webhook_secret_of(application)
    new_secret = webhook_secret_new()
    application.webhook_previous_secret_sealed = column_seal(application, "webhook_previous_secret_sealed", previous.encode())
    application.webhook_previous_secret_until = now + timedelta(hours=settings.AMI_WEBHOOK_SECRET_OVERLAP_HOURS)
    application.webhook_secret_sealed = column_seal(application, "webhook_secret_sealed", new_secret.encode())
    application.save(update_fields=["webhook_secret_sealed", "webhook_previous_secret_sealed", "webhook_previous_secret_until"])
    audit_append(
        action="thirdparty.webhook_secret_rotated",
        actor=actor,
        target=f"thirdparty_application:{application.pk}",
        payload={"previous_signs_until": application.webhook_previous_secret_until.isoformat()},
    )
    return new_secret


def _payload(event: str, consent: Consent | None, extra: dict) -> dict:
    data = dict(extra)
    if consent is not None:
        data.update(
            {
                "authorization_id": consent.pk,
                "status": consent.status,
                "scope": consent.scope_text(),
                "expires_at": consent.expires_at.isoformat(),
                "resource_uri": f"/espi/1_1/resource/Authorization/{consent.pk}",
                "subscription_uri": f"/espi/1_1/resource/Subscription/{consent.pk}",
            }
        )
    return data


def webhook_event_emit(
    *, application: ThirdPartyApplication, event: str, consent: Consent | None = None, extra: dict | None = None
) -> WebhookEvent | None:
    """Record the event and send it after the surrounding transaction commits. Nothing when no webhook is set."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    if not application.webhook_url:
        return None
    record = WebhookEvent.objects.create(
        application=application,
        event=event,
        consent=consent,
        payload=_payload(event, consent, extra or {}),
        lease_expires_at=lease_handoff_deadline(webhook_queue()),
    )
    _enqueue(str(record.pk))
    return record


def _post(destination: CheckedDestination, body: bytes, headers: dict[str, str]) -> int:
    """POST to the checked address (never re-resolved), TLS verified against the URL's host; no redirects."""
    if destination.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            destination.host, destination.port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(destination.host, destination.port, timeout=TIMEOUT_SECONDS)
    connection._create_connection = lambda address, *args, **kwargs: socket.create_connection(  # type: ignore[attr-defined]
        (destination.address, address[1]), *args, **kwargs
    )
    try:
        connection.request("POST", destination.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(_RESPONSE_READ_LIMIT)
        return response.status
    finally:
        connection.close()


def _body(event: WebhookEvent) -> bytes:
    return json.dumps(
        {
            "id": str(event.pk),
            "type": event.event,
            "created": event.created_at.isoformat(),
            "client_id": event.application.client_id,
            "data": event.payload,
        },
        sort_keys=True,
    ).encode()


def _send(event: WebhookEvent) -> str:
    """One attempt; returns "" on a 2xx, else what went wrong."""
    application = event.application
    try:
        destination = webhook_destination_check(application.webhook_url)
    except WebhookDestinationError as error:
        _refuse(application=application, url=application.webhook_url, error=error, actor_label="webhook_deliver")
        return str(error)
    body = _body(event)
    timestamp = int(time.time())
    secrets_ = webhook_secrets_signing(application)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "AMI-Portal-Webhooks/1",
        **standard_headers(secrets_, message_id=str(event.pk), timestamp=timestamp, body=body),
        "AMI-Event-Id": str(event.pk),
        "AMI-Signature": signature_header(secrets_[0], body, timestamp, also=secrets_[1:]),
    }
    try:
        status = _post(destination, body, headers)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if 200 <= status < 300:
        return ""
    if 300 <= status < 400:
        return f"receiver answered {status}; redirects are not followed"
    return f"receiver answered {status}"


def webhook_deliver(*, event_id: str, max_attempts: int = MAX_ATTEMPTS) -> str:
    """Send one event. Idempotent by a leased claim; raises WebhookDeliveryError to be retried."""
    queue = webhook_queue()
    lease: Lease | None = lease_claim(queue, pk=event_id)
    if lease is None:
        return "not pending"
    event = WebhookEvent.objects.select_related("application__oauth_application").get(pk=event_id)
    attempts = event.attempts + 1
    error = _send(event)[:300]
    if not error:
        lease_release(queue, lease=lease, state=WebhookEvent.State.DELIVERED, attempts=attempts, delivered_at=timezone.now(), last_error="")
        return "delivered"
    final = attempts >= max_attempts
    state = WebhookEvent.State.FAILED if final else WebhookEvent.State.PENDING
    handoff = None if final else lease_handoff_deadline(queue, wait_seconds=_retry_wait_at_most(attempts))
    if not lease_release(queue, lease=lease, state=state, attempts=attempts, last_error=error, lease_expires_at=handoff):
        return "lease lost"  # swept meanwhile: the sweeper counted this attempt and handed the event out again
    if final:
        return "failed"
    raise WebhookDeliveryError(error)


def webhook_leases_sweep(*, now: datetime | None = None) -> SweepResult:
    """Hand out again the events whose sending worker died (lease expired) or that no worker got (hand-off lapsed).

    Gives up after the last attempt.
    """
    with transaction.atomic():
        result = lease_sweep(webhook_queue(), now=now)
        for event_id in result.to_enqueue:
            _enqueue(str(event_id))
    return result


def _arrived_in_consent_windows(*, consent: Consent, batch_ids: list[int], now) -> bool:
    """Whether the batches hold current readings the consent may serve: its meters, inside the grantor's occupancy and history.

    A reading after the customer moved out is the next occupant's: announcing it would tell the third
    party that someone lives there now, though the reading itself is never served (SO-C7).
    """
    from billing.models import IntervalReading
    from thirdparty.selectors import consent_meters, consent_windows

    for meter in consent_meters(consent=consent).select_related("premise"):
        in_windows = Q()
        for window in consent_windows(consent=consent, premise=meter.premise, now=now):
            in_windows |= Q(start__gte=window.start, start__lt=window.end)
        if in_windows and IntervalReading.objects.filter(in_windows, batch_id__in=batch_ids, meter=meter, is_current=True).exists():
            return True
    return False


def data_available_notify(*, now=None) -> int:
    """Announce readings the utility received since the last announcement, per live consent with a webhook.

    Idempotent per consent by a conditional claim on its watermark. Returns the events emitted.
    """
    from billing.models import IngestBatch
    from thirdparty.models import ConsentStatus

    now = now or timezone.now()
    emitted = 0
    live = (
        Consent.objects.filter(status=ConsentStatus.ACTIVE, expires_at__gt=now)
        .exclude(application__webhook_url="")
        .select_related("application")
    )
    for consent in live:
        since = consent.data_notified_until or consent.granted_at
        batches = list(IngestBatch.objects.filter(received_at__gt=since, received_at__lte=now).values_list("pk", "received_at"))
        if not batches:
            continue
        latest = max(received for _, received in batches)
        arrived = _arrived_in_consent_windows(consent=consent, batch_ids=[pk for pk, _ in batches], now=now)
        with transaction.atomic():
            claimed = Consent.objects.filter(pk=consent.pk, data_notified_until=consent.data_notified_until).update(
                data_notified_until=latest
            )
            if claimed and arrived:
                webhook_event_emit(
                    application=consent.application,
                    event="data.available",
                    consent=consent,
                    extra={"received_after": since.isoformat(), "received_until": latest.isoformat()},
                )
                emitted += 1
    return emitted
