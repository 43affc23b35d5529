from __future__ import annotations

from django_otp import devices_for_user

from amiportal.accounts.models import BackupCodeDevice, SealedTOTPDevice


def user_has_confirmed_device(*, user) -> bool:
    return any(True for _ in devices_for_user(user, confirmed=True))


def totp_devices_for_user(*, user):
    return SealedTOTPDevice.objects.filter(user=user, confirmed=True).order_by("created_at")


def backup_codes_remaining(*, user) -> int:
    device = BackupCodeDevice.objects.filter(user=user, confirmed=True).first()
    return device.remaining() if device else 0
