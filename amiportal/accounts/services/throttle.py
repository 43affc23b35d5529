"""Lockout with exponential backoff for login and one-time codes (SO-C4).

Counters are kept per account key and per client address, so one attacker
cannot grind one account, nor spray many accounts from one address. The same
lockout applies whether or not the account exists: no enumeration.
"""

from __future__ import annotations

import hashlib
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
        wait = max(wait, int((row.locked_until - now).total_seconds()) + 1)
    return wait


@transaction.atomic
def throttle_fail(*, keys: list[str], max_failures: int | None = None) -> None:
    max_failures = max_failures or settings.AMI_LOGIN_MAX_FAILURES
    now = timezone.now()
    for key in keys:
        row, _ = AuthThrottle.objects.select_for_update().get_or_create(key=key)
        AuthThrottle.objects.filter(pk=row.pk).update(failures=F("failures") + 1, last_failure_at=now)
        row.refresh_from_db()
        if row.failures >= max_failures:
            # Each failure past the limit doubles the lockout, up to the cap.
            exponent = min(row.failures - max_failures, 16)
            seconds = min(settings.AMI_LOGIN_LOCKOUT_BASE_SECONDS * (2**exponent), settings.AMI_LOGIN_LOCKOUT_MAX_SECONDS)
            AuthThrottle.objects.filter(pk=row.pk).update(locked_until=now + timedelta(seconds=seconds))


def throttle_reset(*, keys: list[str]) -> None:
    AuthThrottle.objects.filter(key__in=keys).delete()
