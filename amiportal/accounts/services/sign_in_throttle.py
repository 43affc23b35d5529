"""Who must wait before their password is even checked (SO-C4).

Three limits. The first is django-axes' lock on the (account, address) pair; the other two
follow "smart lockout" designs, so that throttling slows attackers without handing them a
way to keep the owner out:

1. **The pair** (account, address) locks after ``AMI_LOGIN_MAX_FAILURES`` failures in a row,
   doubling up to ``AMI_LOGIN_LOCKOUT_MAX_SECONDS``. A success clears it. Guessing one
   account from one address stops here.
2. **The address** has a leaky bucket of ``AMI_LOGIN_ADDRESS_BURST`` failures that forgets
   one every ``AMI_LOGIN_ADDRESS_LEAK_SECONDS``: spraying many accounts from one address is
   slowed to that rate, and the address is free again once the traffic stops. A success
   does not empty it, or one valid account would buy unlimited guesses at the others.
3. **The account**: after ``ACCOUNT_FREE_FAILURES`` recent failures from anywhere, each pair
   waits a delay doubling up to ``AMI_LOGIN_ACCOUNT_DELAY_MAX_SECONDS`` before each try. The
   wait is counted from the pair's own first blocked try or last failure, so failures from
   other addresses can make it longer only up to the cap: the owner always gets a try.

A pair that signed in within ``KNOWN_PAIR_DAYS`` (the owner's good history) skips 2 and 3.
Every limit is keyed on what was typed, so an unknown account is throttled exactly like a
known one and the answer never tells which.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from amiportal.accounts.models import AuthThrottle, KnownSignInPair
from amiportal.accounts.services.throttle import (
    bucket_add,
    bucket_level,
    bucket_wait_seconds,
    throttle_fail,
    throttle_key,
    throttle_reset,
    throttle_wait_seconds,
)

# Failures on an account, from anywhere, before its progressive delay starts.
ACCOUNT_FREE_FAILURES = 3
# One remembered account failure is forgotten every so often: an attack that stops cools down.
ACCOUNT_LEAK_SECONDS = 300
KNOWN_PAIR_DAYS = 90


@dataclass(frozen=True)
class SignInWait:
    seconds: int
    limit: str  # "pair", "address" or "account": for the audit trail, never shown


@dataclass(frozen=True)
class _Keys:
    pair: str
    address: str
    account: str


def _keys(email: str, address: str) -> _Keys:
    email = email.strip().lower()
    return _Keys(
        pair=throttle_key("login-pair", f"{email}|{address}"),
        address=throttle_key("login-ip", address),
        account=throttle_key("login-email", email),
    )


def account_delay_seconds(*, failures: float) -> int:
    """The wait before each try on an account with this many recent failures."""
    excess = math.floor(failures) - ACCOUNT_FREE_FAILURES
    if excess < 0:
        return 0
    return min(2 ** min(excess, 16), settings.AMI_LOGIN_ACCOUNT_DELAY_MAX_SECONDS)


def _known_pair(key: str) -> bool:
    since = timezone.now() - timedelta(days=KNOWN_PAIR_DAYS)
    return KnownSignInPair.objects.filter(key=key, last_success_at__gte=since).exists()


@transaction.atomic
def _pair_delay_remaining(*, key: str, delay: int) -> int:
    now = timezone.now()
    row, _ = AuthThrottle.objects.select_for_update(no_key=True).get_or_create(key=key)
    if row.delay_from is None:
        row.delay_from = now
        row.save(update_fields=["delay_from"])
    remaining = (row.delay_from + timedelta(seconds=delay) - now).total_seconds()
    return math.ceil(remaining) if remaining > 0 else 0


def sign_in_wait(*, email: str, address: str) -> SignInWait | None:
    """The wait this (account, address) must sit out before its password is checked, if any."""
    keys = _keys(email, address)
    pair_wait = throttle_wait_seconds(keys=[keys.pair])
    if pair_wait:
        return SignInWait(pair_wait, "pair")
    if _known_pair(keys.pair):
        return None
    address_wait = bucket_wait_seconds(
        key=keys.address, capacity=settings.AMI_LOGIN_ADDRESS_BURST, leak_seconds=settings.AMI_LOGIN_ADDRESS_LEAK_SECONDS
    )
    if address_wait:
        return SignInWait(address_wait, "address")
    delay = account_delay_seconds(failures=bucket_level(key=keys.account, leak_seconds=ACCOUNT_LEAK_SECONDS))
    if delay:
        remaining = _pair_delay_remaining(key=keys.pair, delay=delay)
        if remaining:
            return SignInWait(remaining, "account")
    return None


def sign_in_failed(*, email: str, address: str) -> None:
    keys = _keys(email, address)
    throttle_fail(keys=[keys.pair])
    AuthThrottle.objects.filter(key=keys.pair).update(delay_from=timezone.now())
    bucket_add(key=keys.address, leak_seconds=settings.AMI_LOGIN_ADDRESS_LEAK_SECONDS)
    bucket_add(key=keys.account, leak_seconds=ACCOUNT_LEAK_SECONDS)


def sign_in_succeeded(*, email: str, address: str) -> None:
    """Clear the pair's counters and remember it as the owner's good history."""
    keys = _keys(email, address)
    throttle_reset(keys=[keys.pair])
    KnownSignInPair.objects.update_or_create(key=keys.pair, defaults={"last_success_at": timezone.now()})


def sign_in_audit_target(*, email: str) -> str:
    """The hashed account key, for audit entries about attempts on an account that may not exist."""
    return _keys(email, "").account


# A row quiet this long holds nothing any limit still uses: locks last at most
# AMI_LOGIN_LOCKOUT_MAX_SECONDS, and a bucket forgets its level well within a day.
QUIET_ROW_DAYS = 2


def throttle_rows_prune(*, now=None) -> int:
    """Delete throttle rows nobody has touched for QUIET_ROW_DAYS and known pairs past KNOWN_PAIR_DAYS.

    Keeps the table from growing without bound under a spray of invented emails. A pair's
    failure count starts again from zero after such a quiet spell.
    """
    now = now or timezone.now()
    quiet = now - timedelta(days=QUIET_ROW_DAYS)
    stale = (
        AuthThrottle.objects.exclude(locked_until__gte=quiet)
        .exclude(last_failure_at__gte=quiet)
        .exclude(level_at__gte=quiet)
        .exclude(delay_from__gte=quiet)
    )
    deleted, _ = stale.delete()
    forgotten, _ = KnownSignInPair.objects.filter(last_success_at__lt=now - timedelta(days=KNOWN_PAIR_DAYS)).delete()
    return deleted + forgotten
