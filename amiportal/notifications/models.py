"""Notifications to customers, one delivery per channel, and each customer's choices.

A notification's natural key is (kind, subject, premise, period): the same key sent
twice, even by two workers at once, is stored once (the unique constraints below, used
by INSERT ... ON CONFLICT DO NOTHING), and so delivered once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from amiportal.premises.models import CustomerAccount, Premise


class Notification(models.Model):
    kind = models.CharField(max_length=40)
    subject = models.CharField(max_length=80, help_text="What it is about, e.g. critical_peak_event:12.")
    premise = models.ForeignKey(Premise, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    period = models.CharField(max_length=40, help_text="Which sending of the subject: a day, a billing cycle, 'declared'.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notifications")
    account = models.ForeignKey(CustomerAccount, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    title = models.CharField(max_length=200)
    body = models.TextField()
    display_text = models.CharField(max_length=64, help_text="Short text for an in-home display.")
    link = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    batch = models.UUIDField(db_index=True, help_text="The send call that stored it (tells a sender which rows it won).")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject", "premise", "period"], condition=Q(premise__isnull=False), name="notification_natural_key"
            ),
            models.UniqueConstraint(
                fields=["kind", "subject", "period"], condition=Q(premise__isnull=True), name="notification_natural_key_no_premise"
            ),
        ]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject} {self.period}"

    @property
    def body_paragraphs(self) -> list[str]:
        return self.body.split("\n\n")


class Delivery(models.Model):
    """One channel's delivery of one notification: a leased queue (amiportal/leases.py)."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Could not be delivered"
        REFUSED = "refused", "Not sent"

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=20)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["notification_id", "channel"]
        constraints = [models.UniqueConstraint(fields=["notification", "channel"], name="one_delivery_per_channel")]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.channel} delivery of {self.notification_id}: {self.state}"

    @property
    def channel_label(self) -> str:
        from amiportal.notifications.channels import CHANNELS

        channel = CHANNELS.get(self.channel)
        return channel.LABEL if channel else self.channel


class Preference(models.Model):
    """A customer's choice for one kind on one channel; without a row, the kind's default holds."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    channel = models.CharField(max_length=20)
    enabled = models.BooleanField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind", "channel"], name="one_preference_per_kind_channel")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.channel}: {'on' if self.enabled else 'off'}"


class AlertThresholds(models.Model):
    """The customer's own limits for the bill-to-date and high-usage alerts."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    bill_to_date_dollars = models.PositiveIntegerField(null=True, blank=True, help_text="Alert when the bill so far passes this.")
    usage_multiple = models.DecimalField(
        max_digits=3, decimal_places=1, default=2, help_text="Alert when today's use passes this many times the usual."
    )

    def __str__(self) -> str:
        return f"thresholds of user {self.user_id}"
