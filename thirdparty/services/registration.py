"""Registering third parties: the agreement, the application, its credentials and its review status."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import Application

from amiportal.audit.services import audit_append
from amiportal.crypto.secret_hash import secret_digest
from thirdparty import scopes
from thirdparty.api.signatures import key_fingerprint
from thirdparty.models import Agreement, AgreementAcceptance, ApplicationStatus, ThirdPartyApplication
from thirdparty.oauth import SECRET_PREFIX, SECRET_PURPOSE
from thirdparty.selectors import agreement_current
from thirdparty.services.consent import consents_suspend_for_application
from thirdparty.services.tokens import tokens_revoke_for_application


def _new_secret() -> tuple[str, str]:
    secret = secrets.token_urlsafe(32)
    return secret, SECRET_PREFIX + secret_digest(secret, purpose=SECRET_PURPOSE)


def _current_version(agreement_version: int) -> Agreement:
    current = agreement_current()
    if current is None or current.version != agreement_version:
        raise ValidationError("The agreement has changed since the page was loaded: read the current version and accept it.")
    return current


def _acceptance_record(*, developer, agreement: Agreement, application, organisation: str, signatory_name: str) -> AgreementAcceptance:
    acceptance = AgreementAcceptance.objects.create(
        agreement=agreement, developer=developer, application=application, organisation=organisation, signatory_name=signatory_name
    )
    audit_append(
        action="thirdparty.agreement_accepted",
        actor=developer,
        target=f"agreement:{agreement.version}",
        payload={
            "organisation": organisation,
            "signatory_name": signatory_name,
            "acceptance_id": acceptance.pk,
            "application_id": application.pk if application else None,
        },
    )
    return acceptance


@transaction.atomic
def agreement_accept(*, developer, application: ThirdPartyApplication, agreement_version: int, signatory_name: str) -> AgreementAcceptance:
    """Sign the *current* version for one of the developer's applications, on behalf of that application's organisation.

    An outdated version cannot be signed; signing twice for the same version and
    application keeps the first signature.
    """
    if application.developer_id != developer.pk:
        raise ValidationError("Choose one of your own applications.")
    current = _current_version(agreement_version)
    existing = AgreementAcceptance.objects.filter(agreement=current, application=application).first()
    if existing is not None:
        return existing
    acceptance = _acceptance_record(
        developer=developer,
        agreement=current,
        application=application,
        organisation=application.organisation,
        signatory_name=signatory_name,
    )
    ThirdPartyApplication.objects.filter(pk=application.pk).update(agreement_acceptance=acceptance)
    return acceptance


@transaction.atomic
def agreement_publish(*, version: int, title: str, body: str, actor=None) -> Agreement:
    """A new version: every developer must accept it again before new consents are granted to their applications."""
    agreement = Agreement.objects.create(version=version, title=title, body=body)
    audit_append(action="thirdparty.agreement_published", actor=actor, target=f"agreement:{version}", payload={"title": title})
    return agreement


@transaction.atomic
def application_register(
    *,
    developer,
    organisation: str,
    name: str,
    stated_use: str,
    requested_scopes: list[str],
    redirect_uris: list[str],
    public_key_pem: str,
    agreement_version: int,
    signatory_name: str,
) -> tuple[ThirdPartyApplication, str]:
    """Register an application in review. Returns it and its client secret, which is never stored in the clear."""
    if not requested_scopes or not set(requested_scopes) <= scopes.OFFERED_KINDS:
        raise ValidationError("Ask for at least one kind of data that the API serves.")
    if set(requested_scopes) & scopes.DEVICE_KINDS and not public_key_pem.strip():
        raise ValidationError("Device status and control requests are signed: register your Ed25519 public key to ask for them.")
    # The application's own signature: its organisation, its signatory (never another application's).
    acceptance = _acceptance_record(
        developer=developer,
        agreement=_current_version(agreement_version),
        application=None,
        organisation=organisation,
        signatory_name=signatory_name,
    )
    secret, digest = _new_secret()
    oauth_application = Application.objects.create(
        user=developer,
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(redirect_uris),
        hash_client_secret=False,  # we store our own keyed digest (amiportal.crypto.secret_hash)
        client_secret=digest,
        algorithm="",
    )
    application = ThirdPartyApplication.objects.create(
        developer=developer,
        oauth_application=oauth_application,
        organisation=organisation,
        name=name,
        stated_use=stated_use,
        requested_scopes=sorted(requested_scopes),
        redirect_uris="\n".join(redirect_uris),
        public_key_pem=public_key_pem,
        agreement_acceptance=acceptance,
    )
    AgreementAcceptance.objects.filter(pk=acceptance.pk).update(application=application)
    audit_append(
        action="thirdparty.application_registered",
        actor=developer,
        target=f"thirdparty_application:{application.pk}",
        payload={"client_id": oauth_application.client_id, "scopes": application.requested_scopes, "redirect_uris": redirect_uris},
    )
    return application, secret


# A changed callback or signing key is a new trust decision: a production application goes back to
# review, so its API calls and new consents wait until an operator approves the change. Existing
# consents and tokens are kept (customers need not consent again) and work again once approved.
REVIEW_AGAIN_REASON = "Redirect URIs or signing key changed: back in review until the utility approves the change."


def _fingerprint(pem: str) -> str | None:
    return key_fingerprint(pem) if pem.strip() else None


@transaction.atomic
def application_update(
    *, application: ThirdPartyApplication, actor, redirect_uris: list[str], public_key_pem: str, stated_use: str
) -> ThirdPartyApplication:
    """Save the developer's changes. The audit says what changed: old and new URIs, old and new key fingerprints."""
    application = ThirdPartyApplication.objects.select_for_update(no_key=True).get(pk=application.pk)
    old_uris = application.redirect_uris.split()
    old_key, new_key = _fingerprint(application.public_key_pem), _fingerprint(public_key_pem)
    trust_changed = old_uris != list(redirect_uris) or old_key != new_key
    stated_use_changed = application.stated_use != stated_use
    application.redirect_uris = "\n".join(redirect_uris)
    application.public_key_pem = public_key_pem
    application.stated_use = stated_use
    application.save(update_fields=["redirect_uris", "public_key_pem", "stated_use"])
    Application.objects.filter(pk=application.oauth_application_id).update(redirect_uris=" ".join(redirect_uris))
    changes: dict = {}
    if old_uris != list(redirect_uris):
        changes["redirect_uris"] = {"old": old_uris, "new": list(redirect_uris)}
    if old_key != new_key:
        changes["public_key_sha256"] = {"old": old_key, "new": new_key}
    audit_append(
        action="thirdparty.application_updated",
        actor=actor,
        target=f"thirdparty_application:{application.pk}",
        payload={"changes": changes, "stated_use_changed": stated_use_changed},
    )
    if trust_changed and application.status == ApplicationStatus.PRODUCTION:
        _status_change(application=application, status=ApplicationStatus.REVIEW, reason=REVIEW_AGAIN_REASON, actor=actor)
    return application


@transaction.atomic
def application_secret_rotate(*, application: ThirdPartyApplication, actor) -> str:
    """A new client secret, shown once; the old one stops working at once."""
    secret, digest = _new_secret()
    Application.objects.filter(pk=application.oauth_application_id).update(client_secret=digest)
    audit_append(action="thirdparty.client_secret_rotated", actor=actor, target=f"thirdparty_application:{application.pk}")
    return secret


_ALLOWED_TRANSITIONS = {
    ApplicationStatus.REVIEW: {ApplicationStatus.PRODUCTION, ApplicationStatus.ON_HOLD, ApplicationStatus.REVOKED},
    ApplicationStatus.PRODUCTION: {ApplicationStatus.ON_HOLD, ApplicationStatus.REVOKED},
    ApplicationStatus.ON_HOLD: {ApplicationStatus.PRODUCTION, ApplicationStatus.REVOKED},
    ApplicationStatus.REVOKED: set(),
}


@transaction.atomic
def application_status_set(*, application: ThirdPartyApplication, status: str, reason: str, actor) -> ThirdPartyApplication:
    """Operator review. Putting an application on hold or revoking it kills all its tokens at once."""
    application = ThirdPartyApplication.objects.select_for_update(no_key=True).get(pk=application.pk)
    if status not in _ALLOWED_TRANSITIONS[ApplicationStatus(application.status)]:
        raise ValidationError(
            f"An application that is {application.get_status_display().lower()} cannot become {ApplicationStatus(status).label.lower()}."
        )
    return _status_change(application=application, status=status, reason=reason, actor=actor)


def _status_change(*, application: ThirdPartyApplication, status: str, reason: str, actor) -> ThirdPartyApplication:
    """Write the new status and audit it; callers hold the row lock and have checked the transition."""
    previous = application.status
    application.status = status
    application.status_reason = reason
    application.status_changed_at = timezone.now()
    application.save(update_fields=["status", "status_reason", "status_changed_at"])
    revoked = consents_ended = 0
    if status in (ApplicationStatus.ON_HOLD, ApplicationStatus.REVOKED):
        # Its customers' consents end with its tokens: back in production, each customer decides again.
        consents_ended = consents_suspend_for_application(application=application, actor=actor, reason=reason)
        revoked = tokens_revoke_for_application(application=application)
    audit_append(
        action="thirdparty.application_status_changed",
        actor=actor,
        target=f"thirdparty_application:{application.pk}",
        payload={"from": previous, "to": status, "reason": reason, "access_ended": revoked, "consents_ended": consents_ended},
    )
    return application
