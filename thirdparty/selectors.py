"""Reads for third-party access. The access rule per object type lives here.

- Developers see only their own registrations (others: 404).
- Customers see only their own consents and access log (others: 404).
- Third parties see only what a live consent allows: its premises, its data kinds,
  no data older than its history length, none outside the customer's occupancy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone
from oauth2_provider.models import AccessToken

from amiportal.crypto.secret_hash import secret_digest
from amiportal.premises.models import Meter, Premise
from amiportal.premises.selectors import (
    occupancies_for,
    premise_local_date,
    premise_occupied_now_by,
    premises_for_customer,
    premises_occupied_now,
)
from billing.selectors.windows import Window, window_for_dates
from han.models import CoordinatorCommand, Device, DeviceState
from thirdparty.models import (
    AccessLogEntry,
    Agreement,
    AgreementAcceptance,
    ApplicationStatus,
    Consent,
    ConsentStatus,
    ConsentToken,
    DeviceCommandRequest,
    EndedToken,
    ThirdPartyApplication,
)
from thirdparty.scopes import DEVICE_KINDS

_MONTH = timedelta(days=30)


# --- Agreement and registrations -----------------------------------------------------------


def agreement_current() -> Agreement | None:
    return Agreement.objects.filter(published_at__lte=timezone.now()).order_by("-version").first()


def acceptance_current_for(*, application: ThirdPartyApplication) -> AgreementAcceptance | None:
    """The signature on the current agreement version for this application (its organisation, its signatory)."""
    current = agreement_current()
    if current is None:
        return None
    return AgreementAcceptance.objects.filter(application=application, agreement=current).select_related("agreement").first()


def applications_awaiting_acceptance(*, developer) -> list[ThirdPartyApplication]:
    """The developer's applications not yet signed for under the current agreement version."""
    current = agreement_current()
    if current is None:
        return []
    return list(applications_for_developer(developer=developer).exclude(acceptances__agreement=current))


def application_may_obtain_consent(*, application: ThirdPartyApplication) -> bool:
    """In production, and signed for under the current agreement version (SO-C11, SO-C12)."""
    return application.status == ApplicationStatus.PRODUCTION and acceptance_current_for(application=application) is not None


def applications_for_developer(*, developer) -> QuerySet[ThirdPartyApplication]:
    return ThirdPartyApplication.objects.filter(developer=developer).select_related("oauth_application", "agreement_acceptance__agreement")


def application_get_for_developer(*, developer, application_id: int) -> ThirdPartyApplication:
    application = applications_for_developer(developer=developer).filter(pk=application_id).first()
    if application is None:
        raise Http404("No such application.")
    return application


def applications_registry() -> QuerySet[ThirdPartyApplication]:
    return (
        ThirdPartyApplication.objects.select_related("developer", "oauth_application", "agreement_acceptance__agreement")
        .annotate(
            active_consents=Count("consents", filter=Q(consents__status=ConsentStatus.ACTIVE, consents__expires_at__gt=timezone.now()))
        )
        .order_by("status", "organisation", "name")
    )


def application_get_for_operator(*, application_id: int) -> ThirdPartyApplication:
    application = applications_registry().filter(pk=application_id).first()
    if application is None:
        raise Http404("No such application.")
    return application


def application_for_client_id(*, client_id: str) -> ThirdPartyApplication | None:
    return (
        ThirdPartyApplication.objects.select_related("oauth_application", "developer")
        .filter(oauth_application__client_id=client_id)
        .first()
    )


@dataclass(frozen=True)
class AccessStatistics:
    requests_24h: int
    requests_30d: int
    items_30d: int
    refused_30d: int


def access_statistics(*, application: ThirdPartyApplication, now: datetime | None = None) -> AccessStatistics:
    now = now or timezone.now()
    log = AccessLogEntry.objects.filter(application=application)
    month = log.filter(at__gte=now - timedelta(days=30)).aggregate(
        n=Count("id"), items=Sum("items"), refused=Count("id", filter=Q(status_code__gte=400))
    )
    return AccessStatistics(
        requests_24h=log.filter(at__gte=now - timedelta(hours=24)).count(),
        requests_30d=month["n"] or 0,
        items_30d=month["items"] or 0,
        refused_30d=month["refused"] or 0,
    )


# --- The customer's side ----------------------------------------------------------------


def consents_for_customer(*, customer) -> QuerySet[Consent]:
    """The customer's authorizations, live and ended. A pending one (its code not yet redeemed) grants nothing yet: not listed."""
    return (
        Consent.objects.filter(customer=customer)
        .exclude(status=ConsentStatus.PENDING)
        .select_related("application", "agreement")
        .prefetch_related("premises")
    )


def consent_get_for_customer(*, customer, consent_id: int) -> Consent:
    consent = consents_for_customer(customer=customer).filter(pk=consent_id).first()
    if consent is None:
        raise Http404("No such authorization.")
    return consent


def consents_expiring_soon(*, customer, within: timedelta, now: datetime | None = None) -> QuerySet[Consent]:
    now = now or timezone.now()
    return consents_for_customer(customer=customer).filter(status=ConsentStatus.ACTIVE, expires_at__gt=now, expires_at__lte=now + within)


def access_log_for_customer(*, customer) -> QuerySet[AccessLogEntry]:
    return AccessLogEntry.objects.filter(consent__customer=customer).select_related("application", "premise")


def customer_premises_for_consent(*, customer, kinds) -> QuerySet[Premise]:
    """What the consent screen offers: for data, every home the customer lived in (their own period
    only is ever served); when device status or control is asked for, only the homes they occupy now."""
    if DEVICE_KINDS & set(kinds):
        return premises_occupied_now(user=customer)
    return premises_for_customer(user=customer)


# --- Who is calling the API: the bearer token with everything it is checked against -------------


@dataclass(frozen=True)
class BearerToken:
    """An access token as stored, its application's registration, its user and the consent it is bound to (if any)."""

    token: AccessToken
    registration: ThirdPartyApplication
    user: object | None
    consent: Consent | None


def _select(model, alias: str, *, only: tuple[str, ...] | None = None) -> tuple[list, str]:
    fields = [f for f in model._meta.concrete_fields if only is None or f.attname in only]
    return fields, ", ".join(f'{alias}."{f.column}"' for f in fields)


def _bearer_query():
    from django.contrib.auth import get_user_model

    # What the checks and the views use; any other field is loaded on first access, as with ``only()``.
    parts = [
        (AccessToken, "a", ("id", "user_id", "application_id", "expires", "scope", "resource")),
        (ThirdPartyApplication, "t", ("id", "developer_id", "oauth_application_id", "organisation", "name", "status")),
        (get_user_model(), "u", ("id", "email", "full_name", "is_active")),
        (Consent, "c", None),
    ]
    selected = [(model, *_select(model, alias, only=only)) for model, alias, only in parts]
    # Only table and column names from the models go into the text; the checksum is a bound parameter.
    sql = (
        f"SELECT {', '.join(columns for _, _, columns in selected)} "  # noqa: S608
        f'FROM "{AccessToken._meta.db_table}" a '
        f'JOIN "{ThirdPartyApplication._meta.db_table}" t ON t."oauth_application_id" = a."application_id" '
        f'LEFT JOIN "{get_user_model()._meta.db_table}" u ON u."id" = a."user_id" '
        f'LEFT JOIN "{ConsentToken._meta.db_table}" b ON b."access_token_id" = a."id" '
        f'LEFT JOIN "{Consent._meta.db_table}" c ON c."id" = b."consent_id" '
        'WHERE a."token_checksum" = %s'
    )
    return sql, [(model, fields) for model, fields, _ in selected]


def _converters(fields: list, connection) -> list:
    """What the ORM's compiler would apply to each column read (JSON decoding, for one)."""
    return [connection.ops.get_db_converters(f.get_col(f.model._meta.db_table)) + f.get_db_converters(connection) for f in fields]


def _hydrate(model, fields: list, converters: list, values: tuple, connection):
    converted = []
    for field, field_converters, value in zip(fields, converters, values, strict=True):
        for converter in field_converters:
            value = converter(value, field, connection)
        converted.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


_BEARER_QUERY: tuple | None = None


def bearer_token_load(*, token: str) -> BearerToken | None:
    """The token, its registration, user and consent in one query on the token's checksum; None if no such token.

    The API checks all of them on every request, so they are read together in a single
    round trip with SQL built once per process (no ORM compilation on the hot path).
    What is checked is up to the caller (``thirdparty.api.auth``): nothing here is cached.
    """
    global _BEARER_QUERY
    if _BEARER_QUERY is None:
        sql, models_fields = _bearer_query()
        _BEARER_QUERY = sql, [(model, fields, _converters(fields, connection)) for model, fields in models_fields]
    sql, models_fields = _BEARER_QUERY
    checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(sql, [checksum])
        row = cursor.fetchone()
    if row is None:
        return None
    loaded, offset = [], 0
    for model, fields, converters in models_fields:
        values = row[offset : offset + len(fields)]
        offset += len(fields)
        loaded.append(None if values[0] is None else _hydrate(model, fields, converters, values, connection))
    access_token, registration, user, consent = loaded
    # The same rows the ORM would have fetched separately: no second read when they are used.
    access_token.user = user
    if consent is not None:
        if consent.application_id == registration.pk:
            consent.application = registration
        if user is not None and consent.customer_id == user.pk:
            consent.customer = user
    return BearerToken(token=access_token, registration=registration, user=user, consent=consent)


ENDED_TOKEN_PURPOSE = "ended-access-token"


def ended_token_digest(token_checksum: str) -> str:
    """The keyed digest of an access token's SHA-256 checksum: recognises a dead token without keeping it."""
    return secret_digest(token_checksum, purpose=ENDED_TOKEN_PURPOSE)


def consent_of_ended_token(*, token: str) -> Consent | None:
    """The consent a token died with (revoked, expired, replaced...), while the token would still have been valid."""
    checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
    ended = (
        EndedToken.objects.filter(token_digest=ended_token_digest(checksum), token_expires__gt=timezone.now())
        .select_related("consent")
        .first()
    )
    return ended.consent if ended else None


# --- What a third party may read with client access (client_credentials) -------------------------


def _client_authorizations(*, registration: ThirdPartyApplication) -> QuerySet[Consent]:
    """Every authorization customers gave this third party, live or ended: its own, never another's.

    A pending one is not an authorization yet (the code was never redeemed).
    """
    return (
        Consent.objects.filter(application=registration).exclude(status=ConsentStatus.PENDING).select_related("application").order_by("pk")
    )


def authorizations_list(*, registration: ThirdPartyApplication, consent: Consent | None, query) -> tuple[list[Consent], int]:
    """A page (max-results, start-index) of the Authorization collection and its size.

    All of the client's authorizations with client access, else only the token's own.
    """
    consents = _client_authorizations(registration=registration)
    if consent is not None:
        consents = consents.filter(pk=consent.pk)
    first = query.start_index - 1
    return list(consents[first : first + query.max_results]), consents.count()


def authorization_get_for_client(*, registration: ThirdPartyApplication, authorization_id: int) -> Consent:
    if not 0 < authorization_id < 2**63:
        raise Http404("No such authorization.")
    consent = _client_authorizations(registration=registration).filter(pk=authorization_id).first()
    if consent is None:
        raise Http404("No such authorization.")
    return consent


# --- What a third party may read under a consent -------------------------------------------


def consent_premises(*, consent: Consent) -> list[Premise]:
    return list(consent.premises.order_by("service_point_id"))


def consent_meters(*, consent: Consent) -> QuerySet[Meter]:
    return (
        Meter.objects.filter(premise__in=consent.premises.all())
        .select_related("premise")
        .order_by("premise__service_point_id", "kind", "serial_number")
    )


def meter_get_for_consent(*, consent: Consent, meter_id: int) -> Meter:
    """The meter if it sits at a consented premise; 404 otherwise, whether or not it exists."""
    if not 0 < meter_id < 2**63:
        raise Http404("No such usage point.")
    meter = consent_meters(consent=consent).filter(pk=meter_id).first()
    if meter is None:
        raise Http404("No such usage point.")
    return meter


def consent_windows(*, consent: Consent, premise: Premise, now: datetime | None = None) -> list[Window]:
    """UTC windows of readings the third party may see at ``premise``: the customer's occupancy, the history length, up to now."""
    now = now or timezone.now()
    earliest = now - consent.history_months * _MONTH
    windows = []
    for occupancy in occupancies_for(user=consent.customer, premise=premise):
        span = window_for_dates(premise, occupancy.start, occupancy.end or premise_local_date(zone=premise.timezone, now=now))
        start, end = max(span.start, earliest), min(span.end, now)
        if start < end:
            windows.append(Window(start, end))
    return windows


# --- HAN devices under a consent ----------------------------------------------------------------


def consent_devices(*, consent: Consent, meter: Meter) -> QuerySet[Device]:
    """The verified HAN devices at a consented meter's premise while the grantor occupies it now; none otherwise.

    The caller got ``meter`` through the consent. Devices follow occupancy: once the
    grantor has moved out, the equipment is the next occupant's, whatever the consent says.
    """
    if not premise_occupied_now_by(user=consent.customer, premise_id=meter.premise_id):
        return Device.objects.none()
    return Device.objects.filter(network__premise_id=meter.premise_id, state=DeviceState.VERIFIED).order_by("created_at")


def consent_device_get(*, consent: Consent, meter: Meter, device_uid) -> Device:
    device = consent_devices(consent=consent, meter=meter).select_related("network__coordinator").filter(uid=device_uid).first()
    if device is None:
        raise Http404("No such device.")
    return device


def consent_device_command_get(*, consent: Consent, device: Device, command_id) -> CoordinatorCommand:
    """A command this consent asked for on this device; any other is 404, whoever asked for it."""
    request = (
        DeviceCommandRequest.objects.select_related("job").filter(consent=consent, job__device=device, job__command_id=command_id).first()
    )
    if request is None:
        raise Http404("No such command.")
    return request.job
