"""Throttling primitives for sign-in, one-time codes and password reset (SO-C4).

Two shapes, both kept in ``AuthThrottle`` rows so every web process shares them:

- a **lock** with exponential backoff: after ``max_failures`` in a row the key is locked,
  each further failure doubling the lock up to the cap. Used for the (account, address)
  pair and for one-time codes, where a success proves the owner and clears it.
- a **leaky bucket**: each event adds one, and one leaks away every ``leak_seconds``. Full
  means wait until one has leaked. Used per address and per account, where nothing should
  stay locked once the traffic stops.

Keys are hashed, so no email or address sits in the table in clear. Whether an account
exists never changes the answer: keys are made from what was typed.
"""

from __future__ import annotations

import hashlib
import math
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from amiportal.accounts.models import AuthThrottle


def throttle_key(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.strip().lower().encode()).hexdigest()[:40]}"


def throttle_wait_seconds(*, keys: list[str]) -> int:
    """Seconds until every key is unlocked; 0 when none is locked."""
    now = timezone.now()
    wait = 0
    for row in AuthThrottle.objects.filter(key__in=keys, locked_until__gt=now):
        wait = max(wait, math.ceil((row.locked_until - now).total_seconds()))
    return wait


@transaction.atomic
def throttle_fail(*, keys: list[str], max_failures: int | None = None) -> None:
    max_failures = max_failures or settings.AMI_LOGIN_MAX_FAILURES
    now = timezone.now()
    for key in keys:
        row, _ = AuthThrottle.objects.select_for_update(no_key=True).get_or_create(key=key)
        AuthThrottle.objects.filter(pk=row.pk).update(failures=F("failures") + 1, last_failure_at=now)
        row.refresh_from_db()
        if row.failures >= max_failures:
            # Each failure past the limit doubles the lockout, up to the cap.
            exponent = min(row.failures - max_failures, 16)
            seconds = min(settings.AMI_LOGIN_LOCKOUT_BASE_SECONDS * (2**exponent), settings.AMI_LOGIN_LOCKOUT_MAX_SECONDS)
            AuthThrottle.objects.filter(pk=row.pk).update(locked_until=now + timedelta(seconds=seconds))


def throttle_reset(*, keys: list[str]) -> None:
    AuthThrottle.objects.filter(key__in=keys).delete()


def _level_now(row: AuthThrottle | None, *, leak_seconds: float, now) -> float:
    if row is None or row.level_at is None:
        return 0.0
    leaked = (now - row.level_at).total_seconds() / leak_seconds
    return max(0.0, row.level - leaked)


def bucket_level(*, key: str, leak_seconds: float) -> float:
    """How many events the bucket still remembers (fractional: it leaks continuously)."""
    return _level_now(AuthThrottle.objects.filter(key=key).first(), leak_seconds=leak_seconds, now=timezone.now())


def bucket_wait_seconds(*, key: str, capacity: int, leak_seconds: float) -> int:
    """Seconds until the bucket has room for one more event; 0 when it has room now."""
    level = bucket_level(key=key, leak_seconds=leak_seconds)
    overflow = level + 1 - capacity
    return math.ceil(overflow * leak_seconds) if overflow > 0 else 0


@transaction.atomic
def bucket_add(*, key: str, leak_seconds: float) -> float:
    """Add one event to the bucket; returns the new level."""
    now = timezone.now()
    row, _ = AuthThrottle.objects.select_for_update(no_key=True).get_or_create(key=key)
    row.level = _level_now(row, leak_seconds=leak_seconds, now=now) + 1
    row.level_at = now
    row.save(update_fields=["level", "level_at"])
    return row.level
