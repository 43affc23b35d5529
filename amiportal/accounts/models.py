from __future__ import annotations

import time
import uuid
from base64 import b32encode
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from amiportal.crypto.sealed_columns import column_open, column_seal
from amiportal.crypto.secret_hash import secret_matches


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May use the Django admin (two-factor always required).")
    date_joined = models.DateTimeField(default=timezone.now)
    # Bumped by "log out everywhere": it is part of the session auth hash, so
    # every session created before the bump stops validating.
    session_generation = models.PositiveIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        permissions = [
            ("use_customer_portal", "Can use the customer portal for own premises"),
            ("commission_han_devices", "Can commission HAN devices on assigned work orders"),
            ("operate_utility", "Can use the operator console"),
            ("view_customer_data", "Can open a customer's data, giving a reason"),
            ("develop_third_party_apps", "Can register third-party applications"),
        ]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    def get_session_auth_hash(self) -> str:
        from django.utils.crypto import salted_hmac

        return salted_hmac(
            "amiportal.accounts.session",
            f"{self.password}|{self.session_generation}",
            algorithm="sha256",
        ).hexdigest()


class SealedTOTPDevice(TimestampMixin, ThrottlingMixin, Device):
    """A TOTP authenticator whose secret is stored envelope-encrypted.

    django-otp's own TOTPDevice keeps the secret as plain hex in the table;
    this keeps the same verification (django_otp.oath.TOTP, drift, replay
    guard via last_t, exponential throttling) with the secret sealed to this
    row (SO-C4, SO-U1).
    """

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    key_sealed = models.TextField()
    step = models.PositiveSmallIntegerField(default=30)
    digits = models.PositiveSmallIntegerField(default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = "TOTP authenticator"

    def set_key(self, raw: bytes) -> None:
        self.key_sealed = column_seal(self, "key_sealed", raw)

    @property
    def bin_key(self) -> bytes:
        return column_open(self, "key_sealed")

    def get_throttle_factor(self) -> int:
        return 1

    def verify_token(self, token) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        try:
            number = int(str(token).replace(" ", ""))
        except ValueError:
            self.throttle_increment(commit=True)
            return False
        totp = TOTP(self.bin_key, self.step, 0, self.digits, self.drift)
        totp.time = time.time()
        if totp.verify(number, self.tolerance, self.last_t + 1):
            self.last_t = totp.t()
            self.drift = totp.drift
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save()
            return True
        self.throttle_increment(commit=True)
        return False

    @property
    def config_url(self) -> str:
        issuer = str(settings.OTP_TOTP_ISSUER).replace(":", "")
        label = f"{issuer}:{self.user.get_username()}"
        params = urlencode({"secret": b32encode(self.bin_key).decode().rstrip("="), "digits": self.digits, "period": self.step})
        return f"otpauth://totp/{quote(label)}?{params}&issuer={quote(issuer)}"


class BackupCodeDevice(ThrottlingMixin, Device):
    """Single-use backup codes, kept only as keyed hashes."""

    class Meta(Device.Meta):
        verbose_name = "backup code set"

    def get_throttle_factor(self) -> int:
        return 1

    def verify_token(self, token) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        candidate = str(token).strip().lower().replace("-", "").replace(" ", "")
        for code in self.codes.filter(used_at__isnull=True):
            if secret_matches(candidate, code.digest, purpose="backup-code"):
                updated = BackupCode.objects.filter(pk=code.pk, used_at__isnull=True).update(used_at=timezone.now())
                if updated:
                    self.throttle_reset(commit=True)
                    return True
        self.throttle_increment(commit=True)
        return False

    def remaining(self) -> int:
        return self.codes.filter(used_at__isnull=True).count()


class BackupCode(models.Model):
    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"backup code {self.pk} ({'used' if self.used_at else 'unused'})"


class AuthThrottle(models.Model):
    """Throttling state for sign-in, one-time codes and password reset (SO-C4).

    Keys are hashed (``throttle_key``): no email or address is stored in clear. Kept in the
    database so every web process shares them. A row is used as one of:
    - a lock (``failures``, ``locked_until``): the (account, address) pair, one-time codes;
    - a leaky bucket (``level`` as of ``level_at``): per address, per account, forgetting
      failures over time;
    - a pair's progressive delay (``delay_from``): when its current wait started.
    """

    key = models.CharField(max_length=128, unique=True)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True)
    locked_until = models.DateTimeField(null=True)
    level = models.FloatField(default=0)
    level_at = models.DateTimeField(null=True)
    delay_from = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.failures} failures"


class KnownSignInPair(models.Model):
    """An (account, address) pair that signed in successfully: the owner's good history.

    Such a pair is not slowed by failures other addresses cause on the account, so a
    stranger cannot keep the owner out (SO-C4). The key is hashed like a throttle key.
    """

    key = models.CharField(max_length=128, unique=True)
    last_success_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key}: last success {self.last_success_at:%Y-%m-%d}"
