from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django import forms
from django.conf import settings
from django.utils import timezone

from thirdparty.models import ApplicationStatus, DataKind
from thirdparty.scopes import HISTORY_CHOICES, offered_choices

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def validate_redirect_uri(uri: str) -> str:
    """https only, except http on the loopback interface outside production; no fragments, no wildcards."""
    parts = urlsplit(uri)
    if parts.fragment or "*" in uri or not parts.hostname:
        raise forms.ValidationError(f"{uri!r} is not an absolute URI without a fragment.")
    if parts.scheme == "https":
        return uri
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS and not settings.IS_PRODUCTION:
        return uri
    raise forms.ValidationError(f"{uri!r} must use https (plain http is allowed only for 127.0.0.1 or localhost).")


def validate_ed25519_pem(pem: str) -> str:
    try:
        key = load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        raise forms.ValidationError("This is not a PEM public key (-----BEGIN PUBLIC KEY-----).") from None
    if not isinstance(key, Ed25519PublicKey):
        raise forms.ValidationError("The signing key must be an Ed25519 public key.")
    return pem.strip() + "\n"


class RedirectUrisField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3})

    def clean(self, value):
        text = super().clean(value)
        uris = [line.strip() for line in (text or "").splitlines() if line.strip()]
        if not uris:
            raise forms.ValidationError("Give at least one redirect URI.")
        if len(uris) > 10:
            raise forms.ValidationError("Give at most 10 redirect URIs.")
        return [validate_redirect_uri(uri) for uri in uris]


class ApplicationDetailsForm(forms.Form):
    redirect_uris = RedirectUrisField(
        label="Redirect URIs", help_text="One per line. https only; http://127.0.0.1 or http://localhost for development."
    )
    stated_use = forms.CharField(label="What you do with the data", widget=forms.Textarea(attrs={"rows": 4}), max_length=2000)
    public_key_pem = forms.CharField(
        label="Public key for signed device requests",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=(
            "Ed25519, PEM (-----BEGIN PUBLIC KEY-----). Needed to ask for device status or control:"
            " every request to a device is signed with the matching private key (RFC 9421; see the developer guide)."
        ),
    )

    def clean_public_key_pem(self):
        pem = self.cleaned_data["public_key_pem"].strip()
        return validate_ed25519_pem(pem) if pem else ""


class ApplicationRegisterForm(ApplicationDetailsForm):
    organisation = forms.CharField(max_length=200)
    name = forms.CharField(label="Application name", max_length=200)
    requested_scopes = forms.MultipleChoiceField(
        label="Data you will ask customers for", choices=offered_choices, widget=forms.CheckboxSelectMultiple
    )
    signatory_name = forms.CharField(label="Your full name, as signatory", max_length=200)
    accept_agreement = forms.BooleanField(label="I accept the agreement above on behalf of the organisation")
    agreement_version = forms.IntegerField(widget=forms.HiddenInput)

    field_order = [
        "organisation",
        "name",
        "stated_use",
        "requested_scopes",
        "redirect_uris",
        "public_key_pem",
        "signatory_name",
        "accept_agreement",
    ]


class AgreementAcceptForm(forms.Form):
    """Sign the current version for one application, on behalf of the organisation it was registered for."""

    application = forms.TypedChoiceField(coerce=int, label="For the application")
    signatory_name = forms.CharField(label="Your full name, as signatory", max_length=200)
    accept_agreement = forms.BooleanField(label="I accept this version on behalf of the application's organisation")
    agreement_version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, applications, **kwargs):
        super().__init__(*args, **kwargs)
        self.applications = {application.pk: application for application in applications}
        self.fields["application"].choices = [(pk, f"{a.name} ({a.organisation})") for pk, a in self.applications.items()]

    def clean_application(self):
        return self.applications[self.cleaned_data["application"]]


class WebhookForm(forms.Form):
    webhook_url = forms.URLField(label="Webhook URL", required=False, assume_scheme="https", help_text="Leave empty to stop webhooks.")

    def clean_webhook_url(self):
        url = self.cleaned_data["webhook_url"]
        return validate_redirect_uri(url) if url else ""


class ApplicationStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ApplicationStatus.choices)
    reason = forms.CharField(max_length=300, help_text="Recorded in the audit trail and shown to the developer.")


class CriticalityGrantForm(forms.Form):
    levels = forms.TypedMultipleChoiceField(
        label="Utility-only levels this application may send",
        choices=[(7, "7 · emergency"), (8, "8 · planned outage"), (9, "9 · service disconnect")],
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to withdraw every grant. Levels 1 to 6 need no grant.",
    )
    reason = forms.CharField(max_length=300, help_text="Why the utility lets this company speak for it; recorded in the audit trail.")


def default_end_date() -> date:
    return timezone.localdate() + timedelta(days=settings.AMI_TP_CONSENT_DEFAULT_DAYS)


def latest_end_date() -> date:
    return timezone.localdate() + timedelta(days=settings.AMI_TP_CONSENT_MAX_DAYS)


class EndDateMixin:
    def clean_end_date(self):
        end = self.cleaned_data["end_date"]
        if end <= timezone.localdate():
            raise forms.ValidationError("Choose a date after today.")
        if end > latest_end_date():
            raise forms.ValidationError(f"Access can last at most until {latest_end_date():%B %-d, %Y}.")
        return end


class ConsentForm(EndDateMixin, forms.Form):
    premises = forms.ModelMultipleChoiceField(queryset=None, widget=forms.CheckboxSelectMultiple, label="Which of your premises")
    data_kinds = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, label="Which data")
    history_months = forms.TypedChoiceField(coerce=int, label="How far back", help_text="Older data is never shared.")
    end_date = forms.DateField(
        label="Until", widget=forms.DateInput(attrs={"type": "date"}), help_text="You can revoke access at any time before then."
    )

    def __init__(self, *args, premises, kinds: list[str], max_history: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["premises"].queryset = premises
        self.fields["data_kinds"].choices = [(k, DataKind(k).label) for k in DataKind.values if k in kinds]
        if DataKind.HAN_CONTROL in kinds:
            self.fields["data_kinds"].help_text = (
                "Device control lets the company send load-control events to your home's devices, such as a thermostat or water heater."
                " You confirm it with your second factor; every command is signed by the company and shown in your access log."
            )
        history = [m for m in HISTORY_CHOICES if m <= max_history] or [max_history]
        self.fields["history_months"].choices = [(m, f"{m} month{'s' if m > 1 else ''}") for m in history]
        self.fields["end_date"].widget.attrs["max"] = latest_end_date().isoformat()
        if not self.is_bound:
            self.initial.setdefault("premises", list(premises.values_list("pk", flat=True))[:1])
            self.initial.setdefault("data_kinds", [k for k in kinds if k != DataKind.HAN_CONTROL])
            self.initial.setdefault("history_months", history[-1])
            self.initial.setdefault("end_date", min(default_end_date(), latest_end_date()))


class ConsentExtendForm(EndDateMixin, forms.Form):
    end_date = forms.DateField(label="New end date", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["end_date"].widget.attrs["max"] = latest_end_date().isoformat()
        if not self.is_bound:
            self.initial.setdefault("end_date", min(default_end_date(), latest_end_date()))
