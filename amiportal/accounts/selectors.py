from __future__ import annotations

from amiportal.accounts.models import BackupCodeDevice, SealedTOTPDevice


def user_has_confirmed_device(*, user) -> bool:
    """Whether the user has a confirmed second factor: one query over both device tables (it runs on every page)."""
    if not user.is_authenticated:
        return False
    totp = SealedTOTPDevice.objects.filter(user=user, confirmed=True).values("pk")
    return BackupCodeDevice.objects.filter(user=user, confirmed=True).values("pk").union(totp, all=True).exists()


def totp_devices_for_user(*, user):
    return SealedTOTPDevice.objects.filter(user=user, confirmed=True).order_by("created_at")


def backup_codes_remaining(*, user) -> int:
    device = BackupCodeDevice.objects.filter(user=user, confirmed=True).first()
    return device.remaining() if device else 0
