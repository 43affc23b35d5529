"""Enrolling and using second factors (django-otp devices)."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp import devices_for_user
from django_otp import login as otp_login

from amiportal.accounts.models import BackupCode, BackupCodeDevice, SealedTOTPDevice
from amiportal.accounts.selectors import second_factor_facts_forget
from amiportal.accounts.services.authentication import audit_user_event, logout_current
from amiportal.accounts.services.throttle import throttle_fail, throttle_key, throttle_reset, throttle_wait_seconds
from amiportal.crypto.secret_hash import secret_digest

SESSION_STEP_UP_AT = "_ami_step_up_at"
SESSION_PENDING_TOTP = "_ami_pending_totp"
BACKUP_CODE_COUNT = 10
_BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (0/o, 1/l/i)


def totp_enrolment_start(*, request) -> SealedTOTPDevice:
    """Create (or reuse, within this session) an unconfirmed authenticator."""
    user = request.user
    pending_id = request.session.get(SESSION_PENDING_TOTP)
    device = SealedTOTPDevice.objects.filter(pk=pending_id, user=user, confirmed=False).first() if pending_id else None
    if device is None:
        device = SealedTOTPDevice(user=user, name="Authenticator app", confirmed=False)
        device.set_key(secrets.token_bytes(20))
        device.save()
        request.session[SESSION_PENDING_TOTP] = device.pk
    return device


@transaction.atomic
def totp_enrolment_confirm(*, request, device: SealedTOTPDevice, token: str) -> list[str] | None:
    """Confirm the authenticator with a first code. Returns new backup codes, or None if the code was wrong."""
    if not device.verify_token(token):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    second_factor_facts_forget(user=request.user)
    request.session.pop(SESSION_PENDING_TOTP, None)
    SealedTOTPDevice.objects.filter(user=request.user, confirmed=False).delete()
    audit_user_event(user=request.user, action="two_factor.enrolled", payload={"device": "totp", "device_id": device.pk})
    otp_login(request, device)
    step_up_mark_fresh(request=request)
    codes = backup_codes_generate(user=request.user)
    return codes


@transaction.atomic
def backup_codes_generate(*, user) -> list[str]:
    """Replace the user's backup codes; the plaintext exists only in the returned list."""
    device, _ = BackupCodeDevice.objects.get_or_create(user=user, defaults={"name": "Backup codes", "confirmed": True})
    device.codes.all().delete()
    codes = ["".join(secrets.choice(_BACKUP_ALPHABET) for _ in range(10)) for _ in range(BACKUP_CODE_COUNT)]
    BackupCode.objects.bulk_create(BackupCode(device=device, digest=secret_digest(code, purpose="backup-code")) for code in codes)
    second_factor_facts_forget(user=user)
    audit_user_event(user=user, action="two_factor.backup_codes_generated", payload={"count": len(codes)})
    return [f"{code[:5]}-{code[5:]}" for code in codes]


@dataclass(frozen=True)
class TwoFactorOutcome:
    verified: bool
    signed_out: bool = False
    # The device's retry delay after a wrong code: the code was not even tried.
    wait_seconds: int = 0


def devices_retry_wait_seconds(*, user) -> int:
    """Seconds until the user's devices take a code again after a wrong one (django-otp's 1, 2, 4 ... s); 0 if now.

    A code sent before then is not checked, so a right code must not be called wrong: the
    caller says "wait", and the try is not counted as a failure either.
    """
    now = timezone.now()
    wait = 0
    for device in devices_for_user(user, confirmed=True):
        allowed, data = device.verify_is_allowed()
        if not allowed and data and data.get("locked_until"):
            wait = max(wait, math.ceil((data["locked_until"] - now).total_seconds()))
    return wait


def _devices_throttle_reset(*, user) -> None:
    """The user proved themselves: a backup code also tried against the authenticator app leaves no delay behind."""
    for device in devices_for_user(user, confirmed=True):
        if device.throttling_failure_count:
            device.throttle_reset(commit=True)


def two_factor_verify(*, request, token: str) -> TwoFactorOutcome:
    """Check a code against the user's confirmed devices.

    Too many failures in a row end the session, on top of each device's own
    exponential throttling.
    """
    user = request.user
    keys = [throttle_key("otp-user", str(user.pk))]
    if throttle_wait_seconds(keys=keys):
        logout_current(request=request, reason="two_factor_locked")
        return TwoFactorOutcome(verified=False, signed_out=True)
    wait = devices_retry_wait_seconds(user=user)
    if wait:
        return TwoFactorOutcome(verified=False, wait_seconds=wait)
    for device in devices_for_user(user, confirmed=True):
        if device.verify_token(token):
            throttle_reset(keys=keys)
            _devices_throttle_reset(user=user)
            otp_login(request, device)
            step_up_mark_fresh(request=request)
            kind = "backup_code" if isinstance(device, BackupCodeDevice) else "totp"
            audit_user_event(user=user, action="two_factor.verified", payload={"device": kind})
            return TwoFactorOutcome(verified=True)
    throttle_fail(keys=keys, max_failures=settings.AMI_OTP_MAX_FAILURES)
    audit_user_event(user=user, action="two_factor.failed")
    if throttle_wait_seconds(keys=keys):
        logout_current(request=request, reason="two_factor_locked")
        return TwoFactorOutcome(verified=False, signed_out=True)
    return TwoFactorOutcome(verified=False)


@transaction.atomic
def totp_device_remove(*, request, device_id: int) -> bool:
    deleted, _ = SealedTOTPDevice.objects.filter(user=request.user, pk=device_id).delete()
    second_factor_facts_forget(user=request.user)
    if deleted:
        audit_user_event(user=request.user, action="two_factor.removed", payload={"device_id": device_id})
    return bool(deleted)


def step_up_verify(*, request, secret: str) -> bool:
    """Re-verify a signed-in user: a one-time code if they have a device, else their password.

    Failures share the lockout of sign-in: a hijacked session cannot be used to
    guess the password or code behind the step-up.
    """
    user = request.user
    from amiportal.accounts.selectors import user_has_confirmed_device

    keys = [throttle_key("step-up-user", str(user.pk))]
    if throttle_wait_seconds(keys=keys):
        logout_current(request=request, reason="step_up_locked")
        return False
    if user_has_confirmed_device(user=user):
        ok = any(device.verify_token(secret) for device in devices_for_user(user, confirmed=True))
        method = "otp"
    else:
        ok = user.check_password(secret)
        method = "password"
    audit_user_event(user=user, action="auth.step_up_succeeded" if ok else "auth.step_up_failed", payload={"method": method})
    if ok:
        throttle_reset(keys=keys)
        step_up_mark_fresh(request=request)
    else:
        throttle_fail(keys=keys, max_failures=settings.AMI_OTP_MAX_FAILURES)
    return ok


def step_up_mark_fresh(*, request) -> None:
    """The user just proved who they are (a code, or their password): sensitive actions open for a few minutes."""
    request.session[SESSION_STEP_UP_AT] = timezone.now().timestamp()


def step_up_is_fresh(*, request, minutes: int | None = None) -> bool:
    minutes = minutes or settings.AMI_STEP_UP_MINUTES
    at = request.session.get(SESSION_STEP_UP_AT)
    return at is not None and timezone.now().timestamp() - at <= minutes * 60
