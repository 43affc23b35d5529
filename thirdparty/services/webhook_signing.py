"""How webhooks are signed: Standard Webhooks, and the older AMI-Signature beside it.

Standard Webhooks (https://www.standardwebhooks.com/, "Signature scheme"):
``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``,
a space-separated list of ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``,
one per valid secret; the key is the base64 text after the ``whsec_`` prefix.
Any of that specification's libraries verifies these deliveries.

``AMI-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` is kept for
the deprecation period in docs/thirdparty.md; during a secret rotation it also
carries one ``v1=`` per valid secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import time
from collections.abc import Mapping, Sequence

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 300


def webhook_secret_new() -> str:
    """A secret in the Standard Webhooks form: ``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(os.urandom(32)).decode()


def _standard_key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error:
        # Secrets issued before the Standard Webhooks headers were URL-safe base64 without padding.
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))


def standard_signature(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_standard_key(secret), signed, hashlib.sha256).digest()).decode()


def standard_headers(secrets: Sequence[str], *, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            standard_signature(secret, message_id=message_id, timestamp=timestamp, body=body) for secret in secrets
        ),
    }


def standard_signature_valid(
    secret: str, body: bytes, headers: Mapping[str, str], *, tolerance_seconds: int = TOLERANCE_SECONDS, now: int | None = None
) -> bool:
    """What a receiver does: check the timestamp's age, then compare against every listed v1 signature."""
    try:
        message_id, timestamp = headers["webhook-id"], int(headers["webhook-timestamp"])
        offered = headers["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    if abs((now or int(time.time())) - timestamp) > tolerance_seconds:
        return False
    expected = standard_signature(secret, message_id=message_id, timestamp=timestamp, body=body)
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


def _legacy_mac(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int, *, also: Sequence[str] = ()) -> str:
    """``AMI-Signature`` (deprecated): ``t=<t>,v1=<mac>``, with one more ``v1=`` per secret in ``also``."""
    return ",".join([f"t={timestamp}", *(f"v1={_legacy_mac(each, body, timestamp)}" for each in (secret, *also))])


def signature_valid(secret: str, body: bytes, header: str, *, tolerance_seconds: int = TOLERANCE_SECONDS, now: int | None = None) -> bool:
    """What a receiver of ``AMI-Signature`` does: reject stale timestamps, accept if any ``v1`` matches."""
    try:
        items = [item.split("=", 1) for item in header.split(",")]
        timestamps = [value for name, value in items if name == "t"]
        offered = [value for name, value in items if name == "v1"]
        timestamp = int(timestamps[0])
    except (ValueError, IndexError):
        return False
    if abs((now or int(time.time())) - timestamp) > tolerance_seconds:
        return False
    expected = _legacy_mac(secret, body, timestamp)
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)
