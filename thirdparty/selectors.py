"""Reads for third-party access. The access rule per object type lives here.

- Developers see only their own registrations (others: 404).
- Customers see only their own consents and access log (others: 404).
- Third parties see only what a live consent allows: its premises, its data kinds,
  no data older than its history length, none outside the customer's occupancy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from amiportal.premises.models import Meter, Premise
from amiportal.premises.selectors import occupancies_for, premises_for_customer
from billing.formats.espi_write import Window
from billing.selectors import window_for_dates
from han.models import CommissioningJob, Device, DeviceState
from thirdparty.models import (
    AccessLogEntry,
    Agreement,
    AgreementAcceptance,
    ApplicationStatus,
    Consent,
    ConsentStatus,
    DeviceCommandRequest,
    ThirdPartyApplication,
)

_MONTH = timedelta(days=30)


# --- Agreement and registrations -----------------------------------------------------------


def agreement_current() -> Agreement | None:
    return Agreement.objects.filter(published_at__lte=timezone.now()).order_by("-version").first()


def acceptance_current_for(*, developer) -> AgreementAcceptance | None:
    current = agreement_current()
    if current is None:
        return None
    return AgreementAcceptance.objects.filter(developer=developer, agreement=current).first()


def application_may_obtain_consent(*, application: ThirdPartyApplication) -> bool:
    """In production, and its developer has signed the current agreement version (SO-C11, SO-C12)."""
    return application.status == ApplicationStatus.PRODUCTION and acceptance_current_for(developer=application.developer) is not None


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
    return Consent.objects.filter(customer=customer).select_related("application", "agreement").prefetch_related("premises")


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


def customer_premises_for_consent(*, customer) -> QuerySet[Premise]:
    return premises_for_customer(user=customer)


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
        span = window_for_dates(premise, occupancy.start, occupancy.end or timezone.localdate(now, timezone=_zone(premise)))
        start, end = max(span.start, earliest), min(span.end, now)
        if start < end:
            windows.append(Window(start, end))
    return windows


def _zone(premise: Premise):
    import zoneinfo

    return zoneinfo.ZoneInfo(premise.timezone)


def clip_windows(windows: list[Window], *, start: datetime | None, end: datetime | None) -> list[Window]:
    out = []
    for window in windows:
        first = max(window.start, start) if start else window.start
        last = min(window.end, end) if end else window.end
        if first < last:
            out.append(Window(first, last))
    return out


# --- HAN devices under a consent ----------------------------------------------------------------


def consent_devices(*, consent: Consent, meter: Meter) -> QuerySet[Device]:
    """The verified HAN devices at a consented meter's premise (the caller got ``meter`` through the consent)."""
    return Device.objects.filter(network__premise_id=meter.premise_id, state=DeviceState.VERIFIED).order_by("created_at")


def consent_device_get(*, consent: Consent, meter: Meter, device_uid) -> Device:
    device = consent_devices(consent=consent, meter=meter).select_related("network__coordinator").filter(uid=device_uid).first()
    if device is None:
        raise Http404("No such device.")
    return device


def consent_device_command_get(*, consent: Consent, device: Device, command_id) -> CommissioningJob:
    """A command this consent asked for on this device; any other is 404, whoever asked for it."""
    request = (
        DeviceCommandRequest.objects.select_related("job").filter(consent=consent, job__device=device, job__command_id=command_id).first()
    )
    if request is None:
        raise Http404("No such command.")
    return request.job
