"""Third-party device commands: verify the signed request, record it, hand it to the HAN command path (SO-C13, SO-C15).

The caller (the API view) has already checked the token, the live consent and its
data kind, and that the device sits at a consented premise. Here:

1. ``signed_request_verify`` checks the RFC 9421 signature against the application's
   registered key and claims its nonce. Either way the request and the verdict go into
   the audit trail (the signature, the signature base, the body's hash; never a token).
2. ``device_command_request`` queues the command through ``han.services.device_control``
   and binds it to the consent, so only that consent can read its outcome.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from amiportal.audit.services import audit_append
from han.models import CoordinatorCommand, Device, JobKind
from han.services.device_control import device_load_control_request, device_status_request
from thirdparty.api.signatures import MAX_AGE_SECONDS, MAX_SKEW_SECONDS, SignatureRefused, VerifiedSignature, request_verify
from thirdparty.models import Consent, DeviceCommandRequest, SignatureNonce


def _actor_label(consent: Consent) -> str:
    return f"thirdparty:{consent.application.client_id}"


def signed_request_verify(
    *, consent: Consent, method: str, target_uri: str, headers: dict[str, str], body: bytes, target: str
) -> tuple[VerifiedSignature, int]:
    """The verified signature and the audit entry recording it; ``SignatureRefused`` (also audited) otherwise."""
    application = consent.application
    try:
        verified = request_verify(
            method=method,
            target_uri=target_uri,
            headers=headers,
            body=body,
            public_key_pem=application.public_key_pem,
            expected_keyid=application.client_id,
            now=time.time(),
        )
        try:
            with transaction.atomic():
                SignatureNonce.objects.create(
                    application=application, nonce=verified.nonce, created=datetime.fromtimestamp(verified.created, UTC)
                )
        except IntegrityError:
            raise SignatureRefused("the nonce was already used (replay)", verified.evidence) from None
    except SignatureRefused as refused:
        audit_append(
            action="thirdparty.device_request_refused",
            actor_label=_actor_label(consent),
            target=target,
            customer_account_id=consent.account_id,
            payload={"consent_id": consent.pk, "reason": refused.reason, **refused.evidence},
        )
        raise
    entry = audit_append(
        action="thirdparty.device_request_verified",
        actor_label=_actor_label(consent),
        target=target,
        customer_account_id=consent.account_id,
        payload={
            "consent_id": consent.pk,
            **verified.evidence,
            "signature_base": verified.signature_base,
            "body": body.decode("utf-8", errors="replace")[:2000],
        },
    )
    return verified, entry.seq


@transaction.atomic
def device_command_request(
    *, consent: Consent, device: Device, kind: JobKind, audit_seq: int, event: dict[str, Any] | None = None
) -> CoordinatorCommand:
    """Queue a verified third-party command; ``ValidationError`` if the device cannot take it."""
    origin = {"consent_id": consent.pk, "signed_request_audit_seq": audit_seq}
    if kind == JobKind.LOAD_CONTROL:
        job = device_load_control_request(device=device, event=event or {}, actor_label=_actor_label(consent), origin=origin)
    elif kind == JobKind.STATUS_READ:
        job = device_status_request(device=device, actor_label=_actor_label(consent), origin=origin)
    else:  # the API offers only these two; any other kind is refused, never read as a status read
        raise ValidationError(f"Third parties cannot send {str(kind)[:40]!r} commands.")
    DeviceCommandRequest.objects.create(consent=consent, job=job, audit_seq=audit_seq)
    return job


def signature_nonces_prune(*, now: datetime | None = None) -> int:
    """Nonces older than the signature window can go: a request that old is refused as stale anyway."""
    horizon = (now or timezone.now()) - timedelta(seconds=MAX_AGE_SECONDS + MAX_SKEW_SECONDS + 60)
    deleted, _ = SignatureNonce.objects.filter(received_at__lt=horizon, created__lt=horizon).delete()
    return deleted
