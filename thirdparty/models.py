"""Third-party access: registrations, the data agreement, customer consents and their tokens, the access log.

A third party's OAuth client is django-oauth-toolkit's ``Application``; everything the
utility knows about the third party (organisation, stated use, review status, the
agreement it signed, its public key) lives on ``ThirdPartyApplication`` beside it.
A ``Consent`` is the customer's grant (ESPI Authorization); every token is bound to one.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, Grant

from amiportal.premises.models import CustomerAccount, Premise


class Agreement(models.Model):
    """A version of the data confidentiality and access agreement (SO-C11, SO-C12). The newest published is current."""

    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=200)
    body = models.TextField()
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"{self.title}, version {self.version}"


class AgreementAcceptance(models.Model):
    """A signature on one agreement version, for one application, on behalf of its organisation.

    Per application, not per developer: one developer may register applications for
    several organisations, each with its own signatory, and customers must be shown the
    company that actually signed for the application they are asked to trust.
    """

    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="acceptances")
    developer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    application = models.ForeignKey("ThirdPartyApplication", on_delete=models.PROTECT, null=True, blank=True, related_name="acceptances")
    organisation = models.CharField(max_length=200)
    signatory_name = models.CharField(max_length=200)
    accepted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-accepted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "application"],
                condition=models.Q(application__isnull=False),
                name="one_acceptance_per_version_and_app",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation} accepted version {self.agreement.version}"


class ApplicationStatus(models.TextChoices):
    """ESPI dataCustodianApplicationStatus: 1 Review, 2 Production, 3 On hold, 4 Revoked."""

    REVIEW = "review", "In review"
    PRODUCTION = "production", "Production"
    ON_HOLD = "on_hold", "On hold"
    REVOKED = "revoked", "Revoked"


ESPI_APPLICATION_STATUS = {
    ApplicationStatus.REVIEW: 1,
    ApplicationStatus.PRODUCTION: 2,
    ApplicationStatus.ON_HOLD: 3,
    ApplicationStatus.REVOKED: 4,
}


class ThirdPartyApplication(models.Model):
    developer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="thirdparty_applications")
    oauth_application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="thirdparty")
    organisation = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    stated_use = models.TextField(help_text="What the third party does with the data, in plain language.")
    requested_scopes = models.JSONField(default=list, help_text="The data kinds the application asks customers for.")
    redirect_uris = models.TextField()
    public_key_pem = models.TextField(blank=True, help_text="Ed25519 public key (PEM) for signing control requests.")
    status = models.CharField(max_length=12, choices=ApplicationStatus.choices, default=ApplicationStatus.REVIEW)
    status_reason = models.CharField(max_length=300, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    agreement_acceptance = models.ForeignKey(AgreementAcceptance, on_delete=models.PROTECT, related_name="+")
    webhook_url = models.URLField(blank=True, help_text="Where authorization and new-data events are POSTed (https).")
    webhook_secret_sealed = models.TextField(blank=True, help_text="HMAC signing secret, envelope-encrypted.")
    granted_utility_criticalities = models.JSONField(
        default=list,
        blank=True,
        help_text="Utility-only DRLC criticality levels (7-9) an admin granted this application; levels 1-6 need no grant.",
    )
    webhook_previous_secret_sealed = models.TextField(
        blank=True, help_text="The secret before the last rotation, envelope-encrypted; it also signs until the overlap ends."
    )
    webhook_previous_secret_until = models.DateTimeField(null=True, blank=True, help_text="End of the rotation overlap.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation})"

    @property
    def client_id(self) -> str:
        return self.oauth_application.client_id


class DataKind(models.TextChoices):
    """What a customer can share. The value is also the OAuth scope name."""

    INTERVAL_USAGE = "interval_usage", "Interval usage (meter readings every 15 minutes to 1 hour)"
    USAGE_SUMMARY = "usage_summary", "Usage summaries with cost"
    BILLING = "billing", "Billing (tariff and charges)"
    HAN_STATUS = "han_status", "Home-area-network device status"
    HAN_CONTROL = "han_control", "Control of home-area-network devices"


class ConsentStatus(models.TextChoices):
    """Only ``active`` is live. ``pending`` waits for the application to redeem its code; every other value has ended."""

    PENDING = "pending", "Waiting for the application"
    ACTIVE = "active", "Active"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"
    SUPERSEDED = "superseded", "Replaced by a newer authorization"
    SUSPENDED = "suspended", "Ended: the utility suspended the application"
    REPLAYED = "replayed", "Ended: a one-time code was used twice"


ENDED_CONSENT_STATUSES = frozenset(
    {ConsentStatus.REVOKED, ConsentStatus.EXPIRED, ConsentStatus.SUPERSEDED, ConsentStatus.SUSPENDED, ConsentStatus.REPLAYED}
)


class Consent(models.Model):
    """The customer's grant to one third party (ESPI Authorization): which premises, which data, how much history, until when."""

    application = models.ForeignKey(ThirdPartyApplication, on_delete=models.PROTECT, related_name="consents")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="thirdparty_consents")
    account = models.ForeignKey(CustomerAccount, on_delete=models.PROTECT, related_name="+")
    premises = models.ManyToManyField(Premise, related_name="+")
    data_kinds = models.JSONField(default=list)
    history_months = models.PositiveSmallIntegerField()
    agreement = models.ForeignKey(
        Agreement, on_delete=models.PROTECT, related_name="+", help_text="The version the third party had signed when the customer agreed."
    )
    granted_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=ConsentStatus.choices, default=ConsentStatus.ACTIVE)
    ended_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    data_notified_until = models.DateTimeField(
        null=True, blank=True, help_text="Readings received up to here were announced (data.available)."
    )

    class Meta:
        ordering = ["-granted_at"]
        indexes = [models.Index(fields=["status", "expires_at"], name="consent_status_expiry")]

    def __str__(self) -> str:
        return f"Consent {self.pk} for {self.application}"

    def is_live(self, now=None) -> bool:
        return self.status == ConsentStatus.ACTIVE and self.expires_at_in_future(now)

    def expires_at_in_future(self, now=None) -> bool:
        return self.expires_at > (now or timezone.now())

    def scope_text(self) -> str:
        return " ".join(sorted(self.data_kinds))


class ConsentGrant(models.Model):
    """Binds an authorization code to the consent it came from."""

    grant = models.OneToOneField(Grant, on_delete=models.CASCADE, related_name="consent_binding")
    consent = models.ForeignKey(Consent, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"Code under consent {self.consent_id}"


class ConsentToken(models.Model):
    """Binds an access token to its consent: revoking the consent deletes these tokens."""

    access_token = models.OneToOneField(AccessToken, on_delete=models.CASCADE, related_name="consent_binding")
    consent = models.ForeignKey(Consent, on_delete=models.CASCADE, related_name="token_bindings")

    def __str__(self) -> str:
        return f"Token under consent {self.consent_id}"


class RedeemedCode(models.Model):
    """An authorization code that was exchanged, kept as a keyed digest (never the code) to catch its replay.

    RFC 6749 section 4.1.2 and RFC 9700 section 4.5: when a used code comes back, the
    tokens issued from it are revoked. Each code belongs to exactly one consent.
    """

    code_digest = models.CharField(max_length=64, unique=True)
    consent = models.ForeignKey(Consent, on_delete=models.CASCADE, related_name="+")
    redeemed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["redeemed_at"], name="redeemed_code_at")]

    def __str__(self) -> str:
        return f"Code redeemed under consent {self.consent_id}"


class EndedToken(models.Model):
    """A keyed digest of an access token killed with its consent: a later call with it is logged for the customer.

    Only the digest is kept, never the token; rows go once the token would have expired anyway.
    """

    token_digest = models.CharField(max_length=64, unique=True)
    consent = models.ForeignKey(Consent, on_delete=models.CASCADE, related_name="+")
    token_expires = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["token_expires"], name="ended_token_expires")]

    def __str__(self) -> str:
        return f"Ended token of consent {self.consent_id}"


class AccessLogEntry(models.Model):
    """One third-party API request made under a consent: what the customer sees in their access log."""

    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="access_log")
    application = models.ForeignKey(ThirdPartyApplication, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    resource = models.CharField(max_length=300)
    premise = models.ForeignKey(Premise, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    items = models.PositiveIntegerField(default=0, help_text="Readings, summaries or records returned.")
    status_code = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["consent", "-at"], name="accesslog_consent_at"),
            models.Index(fields=["application", "-at"], name="accesslog_app_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.resource} ({self.status_code})"


class WebhookEvent(models.Model):
    """One event for one third party, delivered at least once; the id lets the receiver drop duplicates."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.ForeignKey(ThirdPartyApplication, on_delete=models.PROTECT, related_name="webhook_events")
    event = models.CharField(max_length=40)
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="While sending: when the claim lapses. While pending: by when a worker should have taken it "
        "(the hand-off). Past either, the sweeper hands the event out again.",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "lease_expires_at"], name="webhook_event_lease")]

    def __str__(self) -> str:
        return f"{self.event} {self.pk}"


class SignatureNonce(models.Model):
    """A nonce from a verified request signature: each is accepted once per application (replay protection)."""

    application = models.ForeignKey(ThirdPartyApplication, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=128)
    created = models.DateTimeField(help_text="The signature's created parameter.")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["application", "nonce"], name="signature_nonce_once_per_application")]
        indexes = [models.Index(fields=["received_at"], name="signature_nonce_received")]

    def __str__(self) -> str:
        return f"nonce {self.nonce}"


class DeviceCommandRequest(models.Model):
    """A signed device command a third party made under a consent; only that consent can read its outcome."""

    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="device_commands")
    job = models.OneToOneField("han.CoordinatorCommand", on_delete=models.PROTECT, related_name="thirdparty_request")
    requested_at = models.DateTimeField(default=timezone.now)
    audit_seq = models.PositiveBigIntegerField(help_text="The audit entry holding the signed request and its verification.")

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"Device command {self.job_id} under consent {self.consent_id}"
