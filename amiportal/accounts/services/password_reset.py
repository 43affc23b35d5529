"""Password-reset requests, throttled per address and per account (SO-C4).

Each request fills two leaky buckets, one for the client address and one for the email
typed, whether or not an account has that email:
- a full address bucket is answered "wait": it says nothing about any account;
- a full account bucket sends no mail but is answered exactly like a sent one, so the
  answer never tells whether the account exists, and nobody can flood its owner's inbox.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from amiportal.accounts.services.throttle import bucket_add, bucket_wait_seconds, throttle_key
from amiportal.audit.services import audit_append


@dataclass(frozen=True)
class ResetDecision:
    send: bool
    wait_seconds: int = 0


def _audit_throttled(*, email_key: str, address: str, limit: str, wait: int) -> None:
    audit_append(
        action="auth.password_reset_throttled",
        actor_label="anonymous",
        target=email_key,
        payload={"ip": address, "limit": limit, "wait_seconds": wait},
    )


def password_reset_request(*, email: str, address: str) -> ResetDecision:
    """Count a reset request and decide whether its mail may go out."""
    address_key = throttle_key("reset-ip", address)
    email_key = throttle_key("reset-email", email.strip().lower())
    address_leak = 3600 / settings.AMI_PASSWORD_RESET_PER_ADDRESS_HOURLY
    account_leak = 3600 / settings.AMI_PASSWORD_RESET_PER_ACCOUNT_HOURLY
    wait = bucket_wait_seconds(key=address_key, capacity=settings.AMI_PASSWORD_RESET_PER_ADDRESS_HOURLY, leak_seconds=address_leak)
    if wait:
        _audit_throttled(email_key=email_key, address=address, limit="address", wait=wait)
        return ResetDecision(send=False, wait_seconds=wait)
    bucket_add(key=address_key, leak_seconds=address_leak)
    wait = bucket_wait_seconds(key=email_key, capacity=settings.AMI_PASSWORD_RESET_PER_ACCOUNT_HOURLY, leak_seconds=account_leak)
    if wait:
        _audit_throttled(email_key=email_key, address=address, limit="account", wait=wait)
        return ResetDecision(send=False)
    bucket_add(key=email_key, leak_seconds=account_leak)
    return ResetDecision(send=True)
