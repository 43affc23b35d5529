"""Webhooks to third parties: authorization created/updated/revoked/expired, new data available.

Each POST carries ``AMI-Event-Id`` (stable across retries, for de-duplication) and
``AMI-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` under the
application's webhook secret, which is stored sealed (amiportal.crypto.envelope).
Delivery is at least once: a Celery task retries with backoff until it gets a 2xx.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from amiportal.crypto.sealed_columns import column_open, column_seal
from thirdparty.models import Consent, ThirdPartyApplication, WebhookEvent

EVENTS = ("authorization.created", "authorization.updated", "authorization.revoked", "authorization.expired", "data.available")
TIMEOUT_SECONDS = 10


class WebhookDeliveryError(Exception):
    """The receiver did not answer 2xx; the task retries."""


def webhook_secret_of(application: ThirdPartyApplication) -> str:
    return column_open(application, "webhook_secret_sealed").decode()


@transaction.atomic
def webhook_configure(*, application: ThirdPartyApplication, url: str, actor) -> str | None:
    """Set the webhook URL. Returns a new signing secret (shown once) when one is created, else None."""
    from amiportal.audit.services import audit_append

    new_secret = None
    application.webhook_url = url
    fields = ["webhook_url"]
    if url and not application.webhook_secret_sealed:
        new_secret = "whsec_" + secrets.token_urlsafe(32)
        application.webhook_secret_sealed = column_seal(application, "webhook_secret_sealed", new_secret.encode())
        fields.append("webhook_secret_sealed")
    application.save(update_fields=fields)
    audit_append(
        action="thirdparty.webhook_configured", actor=actor, target=f"thirdparty_application:{application.pk}", payload={"url": url}
    )
    return new_secret


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def signature_valid(secret: str, body: bytes, header: str, *, tolerance_seconds: int = 300, now: int | None = None) -> bool:
    """What a receiver does (and the developer guide shows): check the MAC and reject stale timestamps."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or int(time.time())) - timestamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(signature_header(secret, body, timestamp), f"t={timestamp},v1={parts.get('v1', '')}")


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
        application=application, event=event, consent=consent, payload=_payload(event, consent, extra or {})
    )
    from thirdparty.tasks import webhook_deliver_task

    transaction.on_commit(lambda: webhook_deliver_task.delay(str(record.pk)))
    return record


@dataclass
class _Response:
    status: int


def _post(url: str, body: bytes, headers: dict[str, str]) -> _Response:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (https or loopback, checked at registration)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return _Response(response.status)
    except urllib.error.HTTPError as error:
        return _Response(error.code)


def webhook_deliver(*, event_id: str, max_attempts: int) -> str:
    """Send one event. Idempotent by a conditional claim; raises WebhookDeliveryError to be retried."""
    claimed = WebhookEvent.objects.filter(pk=event_id, state=WebhookEvent.State.PENDING).update(state=WebhookEvent.State.SENDING)
    if not claimed:
        return "not pending"
    event = WebhookEvent.objects.select_related("application").get(pk=event_id)
    application = event.application
    body = json.dumps(
        {
            "id": str(event.pk),
            "type": event.event,
            "created": event.created_at.isoformat(),
            "client_id": application.client_id,
            "data": event.payload,
        },
        sort_keys=True,
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "AMI-Event-Id": str(event.pk),
        "AMI-Signature": signature_header(webhook_secret_of(application), body, int(time.time())),
        "User-Agent": "AMI-Portal-Webhooks/1",
    }
    attempts = event.attempts + 1
    try:
        status = _post(application.webhook_url, body, headers).status
        error = "" if 200 <= status < 300 else f"receiver answered {status}"
    except (OSError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    if not error:
        WebhookEvent.objects.filter(pk=event.pk).update(
            state=WebhookEvent.State.DELIVERED, attempts=attempts, delivered_at=timezone.now(), last_error=""
        )
        return "delivered"
    final = attempts >= max_attempts
    WebhookEvent.objects.filter(pk=event.pk).update(
        state=WebhookEvent.State.FAILED if final else WebhookEvent.State.PENDING, attempts=attempts, last_error=error
    )
    if final:
        return "failed"
    raise WebhookDeliveryError(error)


def data_available_notify(*, now=None) -> int:
    """Announce readings the utility received since the last announcement, per live consent with a webhook.

    Idempotent per consent by a conditional claim on its watermark. Returns the events emitted.
    """
    from billing.models import IngestBatch, IntervalReading
    from thirdparty.models import ConsentStatus
    from thirdparty.selectors import consent_meters

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
        arrived = IntervalReading.objects.filter(
            batch_id__in=[pk for pk, _ in batches], meter__in=consent_meters(consent=consent), is_current=True
        ).exists()
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
