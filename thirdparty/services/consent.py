"""The customer's consent to one third party (SO-T1, SO-C15): granting, re-consenting, revoking, expiry."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from amiportal.audit.services import audit_append
from amiportal.premises.models import Premise
from amiportal.premises.selectors import customer_account_for_user, premises_for_customer, premises_occupied_now
from amiportal.url_redaction import url_without_credentials
from thirdparty.models import AccessLogEntry, Consent, ConsentStatus, DataKind, ThirdPartyApplication
from thirdparty.scopes import DEVICE_KINDS, MAX_HISTORY_MONTHS
from thirdparty.selectors import agreement_current, application_may_obtain_consent
from thirdparty.services.tokens import tokens_revoke_for_consent


def consent_latest_end(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(days=settings.AMI_TP_CONSENT_MAX_DAYS)


def _check_end(expires_at: datetime, now: datetime) -> None:
    if expires_at <= now:
        raise ValidationError("The end date must be in the future.")
    if expires_at > consent_latest_end(now) + timedelta(days=1):
        raise ValidationError(f"Access can be granted for at most {settings.AMI_TP_CONSENT_MAX_DAYS} days.")


def _audit(consent: Consent, action: str, actor, **payload) -> None:
    audit_append(
        action=f"thirdparty.consent_{action}",
        actor=actor,
        target=f"consent:{consent.pk}",
        customer_account_id=consent.account_id,
        payload={"application_id": consent.application_id, **payload},
    )


def _consent_create(
    *,
    application: ThirdPartyApplication,
    customer,
    premises: list[Premise],
    data_kinds: list[str],
    history_months: int,
    expires_at: datetime,
    status: str,
) -> Consent:
    now = timezone.now()
    if not application_may_obtain_consent(application=application):
        raise ValidationError("This application may not receive new authorizations now.")
    account = customer_account_for_user(user=customer)
    if account is None:
        raise ValidationError("Only customers with an account can grant access.")
    own = set(premises_for_customer(user=customer).values_list("pk", flat=True))
    if not premises or any(p.pk not in own for p in premises):
        raise ValidationError("Choose at least one of your own premises.")
    kinds = set(data_kinds)
    if not kinds or not kinds <= set(DataKind.values) or not kinds <= set(application.requested_scopes):
        raise ValidationError("Choose at least one kind of data that the application asked for.")
    if kinds & DEVICE_KINDS:
        current = set(premises_occupied_now(user=customer).values_list("pk", flat=True))
        if any(p.pk not in current for p in premises):
            raise ValidationError("Device status and control can be shared only for a home you live in now.")
    if not 1 <= history_months <= MAX_HISTORY_MONTHS:
        raise ValidationError(f"History is limited to {MAX_HISTORY_MONTHS} months.")
    _check_end(expires_at, now)
    consent = Consent.objects.create(
        application=application,
        customer=customer,
        account=account,
        data_kinds=sorted(kinds),
        history_months=history_months,
        agreement=agreement_current(),
        granted_at=now,
        updated_at=now,
        expires_at=expires_at,
        status=status,
    )
    consent.premises.set(premises)
    _audit(
        consent,
        "granted",
        customer,
        data_kinds=consent.data_kinds,
        premise_ids=sorted(p.pk for p in premises),
        history_months=history_months,
        expires_at=expires_at.isoformat(),
    )
    return consent


@transaction.atomic
def consent_propose(**grant) -> Consent:
    """The customer said yes on the consent screen: a ``pending`` consent, live only once its code is redeemed.

    Takes ``consent_grant``'s arguments. A code the application never exchanges leaves
    nothing live behind: the consent stays pending (not shown as access, never mints a
    token) and the customer's earlier consent, if any, is untouched.
    """
    return _consent_create(**grant, status=ConsentStatus.PENDING)


@transaction.atomic
def consent_activate(*, consent_id: int) -> Consent | None:
    """The application redeemed the code: the consent goes live and replaces the customer's earlier one.

    One live consent per customer and application. Every other live or pending consent
    of the pair becomes ``superseded`` (kept in the history) and its tokens die.
    None if the consent was no longer pending.
    """
    consent = Consent.objects.select_for_update(no_key=True).filter(pk=consent_id, status=ConsentStatus.PENDING).first()
    if consent is None:
        return None
    consent.status = ConsentStatus.ACTIVE
    consent.updated_at = timezone.now()
    consent.save(update_fields=["status", "updated_at"])
    _supersede_others(consent)
    _audit(consent, "activated", None)
    _emit(consent, "authorization.created")
    return consent


def _supersede_others(consent: Consent) -> None:
    earlier = Consent.objects.select_for_update(no_key=True).filter(
        application_id=consent.application_id,
        customer_id=consent.customer_id,
        status__in=[ConsentStatus.ACTIVE, ConsentStatus.PENDING],
    )
    for old in earlier.exclude(pk=consent.pk):
        _end(old, ConsentStatus.SUPERSEDED, actor=None, action="superseded", superseded_by=consent.pk)


def _end(consent: Consent, status: str, *, actor, action: str, webhook: bool = True, **payload) -> int:
    """End a consent (already locked) with ``status``: its tokens and unused codes die. Returns the access tokens killed."""
    was_live = consent.status == ConsentStatus.ACTIVE
    consent.status = status
    consent.ended_at = timezone.now()
    consent.save(update_fields=["status", "ended_at"])
    killed = tokens_revoke_for_consent(consent=consent)
    _audit(consent, action, actor, access_ended=killed, **payload)
    if webhook and was_live:
        _emit(consent, "authorization.revoked")
    return killed


@transaction.atomic
def consent_grant(
    *,
    application: ThirdPartyApplication,
    customer,
    premises: list[Premise],
    data_kinds: list[str],
    history_months: int,
    expires_at: datetime,
) -> Consent:
    """A consent that is live at once (demo data, operator tooling, tests); the consent screen uses ``consent_propose``."""
    consent = _consent_create(
        application=application,
        customer=customer,
        premises=premises,
        data_kinds=data_kinds,
        history_months=history_months,
        expires_at=expires_at,
        status=ConsentStatus.PENDING,
    )
    return consent_activate(consent_id=consent.pk)


@transaction.atomic
def consent_release(*, consent_id: int) -> bool:
    """The application revoked its own tokens (RFC 7009): the authorization ends as revoked. False if it was not live."""
    consent = Consent.objects.select_for_update(no_key=True).filter(pk=consent_id, status=ConsentStatus.ACTIVE).first()
    if consent is None:
        return False
    _end(consent, ConsentStatus.REVOKED, actor=None, action="released_by_application")
    return True


@transaction.atomic
def consent_end_for_code_replay(*, consent_id: int) -> bool:
    """A redeemed code came back: whoever holds it may have stolen it, so every token issued from it dies.

    RFC 6749 section 4.1.2, RFC 9700 section 4.5. The consent ends too (status
    ``replayed``): the customer sees why, and the application must ask again.
    False if the consent had already ended.
    """
    consent = Consent.objects.select_for_update(no_key=True).filter(pk=consent_id).first()
    if consent is None or consent.status not in (ConsentStatus.ACTIVE, ConsentStatus.PENDING):
        return False
    _end(consent, ConsentStatus.REPLAYED, actor=None, action="code_replayed")
    return True


@transaction.atomic
def consents_suspend_for_application(*, application: ThirdPartyApplication, actor, reason: str) -> int:
    """The utility put the application on hold or revoked it: every live or pending consent of it ends.

    They do not come back when the application returns to production: each customer
    decides again on the consent screen, under the agreement then in force.
    """
    live = [ConsentStatus.ACTIVE, ConsentStatus.PENDING]
    consents = Consent.objects.select_for_update(no_key=True).filter(application=application, status__in=live)
    ended = 0
    for consent in consents:
        _end(consent, ConsentStatus.SUSPENDED, actor=actor, action="suspended", webhook=False, reason=reason)
        ended += 1
    return ended


@transaction.atomic
def consent_extend(*, consent: Consent, actor, expires_at: datetime) -> Consent:
    """Re-consent: the customer keeps the same access for longer. Only a live consent can be extended."""
    consent = Consent.objects.select_for_update(no_key=True).get(pk=consent.pk)
    now = timezone.now()
    if not consent.is_live(now):
        raise ValidationError("This access has already ended; the third party must ask again.")
    if not application_may_obtain_consent(application=consent.application):
        raise ValidationError("This application may not receive new authorizations now.")
    _check_end(expires_at, now)
    consent.expires_at = expires_at
    consent.updated_at = now
    consent.reminder_sent_at = None
    consent.save(update_fields=["expires_at", "updated_at", "reminder_sent_at"])
    _audit(consent, "extended", actor, expires_at=expires_at.isoformat())
    _emit(consent, "authorization.updated")
    return consent


@transaction.atomic
def consent_revoke(*, consent: Consent, actor) -> Consent:
    """One click: the consent ends now and every token bound to it dies with it."""
    consent = Consent.objects.select_for_update(no_key=True).get(pk=consent.pk)
    if consent.status != ConsentStatus.ACTIVE:
        return consent
    _end(consent, ConsentStatus.REVOKED, actor=actor, action="revoked")
    return consent


@transaction.atomic
def consent_expire(*, consent_id: int, now: datetime | None = None) -> bool:
    """Mark a consent past its end as expired and kill its tokens. False if it was not due (or already ended)."""
    now = now or timezone.now()
    consent = Consent.objects.select_for_update(no_key=True).filter(pk=consent_id, status=ConsentStatus.ACTIVE, expires_at__lte=now).first()
    if consent is None:
        return False
    consent.status = ConsentStatus.EXPIRED
    consent.ended_at = now
    consent.save(update_fields=["status", "ended_at"])
    killed = tokens_revoke_for_consent(consent=consent)
    _audit(consent, "expired", None, access_ended=killed)
    _emit(consent, "authorization.expired")
    return True


def consents_expire_due(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    due = Consent.objects.filter(status=ConsentStatus.ACTIVE, expires_at__lte=now).values_list("pk", flat=True)
    return sum(consent_expire(consent_id=pk, now=now) for pk in list(due))


def _access_log_insert() -> str:
    names = ("consent", "application", "at", "resource", "premise", "items", "status_code")
    fields = [AccessLogEntry._meta.get_field(name) for name in names]
    columns = ", ".join(f'"{field.column}"' for field in fields)
    # Only the model's own table and column names go into the text; every value is a bound parameter.
    return f'INSERT INTO "{AccessLogEntry._meta.db_table}" ({columns}) VALUES ({", ".join(["%s"] * len(fields))}) RETURNING "id"'  # noqa: S608


_ACCESS_LOG_INSERT = _access_log_insert()


def access_log_record(*, consent: Consent, resource: str, premise: Premise | None, items: int, status_code: int) -> int:
    """Write one access-log row and return its id. Synchronous and committed before the response goes out.

    One plain INSERT: the customer's access log is written on every API request, so it
    skips the ORM's model instance and per-call SQL compilation, not the write itself.
    """
    # A credential a client put in the URL never reaches the log (the request itself is refused).
    resource = url_without_credentials(resource)[:300]
    with connection.cursor() as cursor:
        cursor.execute(
            _ACCESS_LOG_INSERT,
            [consent.pk, consent.application_id, timezone.now(), resource, premise.pk if premise else None, items, status_code],
        )
        return cursor.fetchone()[0]


def access_log_items_set(*, entry_id: int, items: int) -> None:
    """The number of readings a streamed response sent, known only once it has been sent."""
    AccessLogEntry.objects.filter(pk=entry_id).update(items=items)


def consent_premises_refused(*, customer, application: ThirdPartyApplication, premise_ids: list[str]) -> None:
    """A consent asked for premises the screen did not offer (not theirs, or a past home for device access): on record."""
    account = customer_account_for_user(user=customer)
    audit_append(
        action="thirdparty.consent_refused",
        actor=customer,
        target=f"application:{application.pk}",
        customer_account_id=account.pk if account else None,
        payload={"application_id": application.pk, "premise_ids": [str(value)[:20] for value in premise_ids[:20]]},
    )


def _emit(consent: Consent, event: str) -> None:
    from thirdparty.services.webhooks import webhook_event_emit

    webhook_event_emit(application=consent.application, event=event, consent=consent)
