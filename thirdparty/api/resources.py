"""ESPI resources under a consent, built by the one ESPI writer (``billing.formats.espi_write``).

Only what the consent allows goes in: its premises, its data kinds, readings inside
``consent_windows`` (the customer's occupancy, the history length, up to now) read through
``billing.selectors.interval_readings``. Entries are the writer's dicts, so the Atom renderer
and the JSON renderer share one shape, and Download My Data has the same ids.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from functools import partial

from django.http import Http404
from django.utils import timezone

from amiportal.premises.models import Meter, MeterKind, Premise
from billing.formats.espi_write import (
    ROOT,
    Paths,
    block_id,
    channels_for,
    collection,
    entry,
    feed,
    interval_block_entry,
    local_time_parameters_entry,
    member,
    meter_reading_entry,
    reading_type_entry,
    readings_by_day,
    ts,
    usage_point_entry,
)
from billing.selectors import clip, electric_meter, interval_days_count, interval_readings, interval_seconds_first, period_cost
from billing.tariff_engine import NoTariff
from thirdparty.api.filters import EspiQuery
from thirdparty.models import Consent, ConsentStatus, ThirdPartyApplication
from thirdparty.selectors import consent_meters, consent_premises, consent_windows

__all__ = ["ROOT", "feed", "ts"]

AUTHORIZATION_STATUS = {ConsentStatus.ACTIVE: 1, ConsentStatus.REVOKED: 0, ConsentStatus.EXPIRED: 0}
USD = 840
# ESPI costs are in hundred-thousandths of the currency; ours are cents.
COST_SCALE = 1000
# ApplicationInformation must carry client_secret and registration_access_token (ESPI 4.0 requires
# both elements). Neither is ever served: the client secret is stored only as a keyed digest, and
# it was shown once at registration. The elements carry this documented placeholder instead.
SECRET_PLACEHOLDER = "not-served-see-docs-thirdparty"
DATA_CUSTODIAN_ID = "AMI Portal"


def paths_for(consent: Consent) -> Paths:
    return Paths(f"Subscription/{consent.pk}")


# --- Service status and the authorization itself ------------------------------------------


def service_status_entry() -> dict:
    return entry(
        "ServiceStatus", f"{ROOT}/ReadServiceStatus", "Data custodian service status", {"currentStatus": 1}, up=f"{ROOT}/ReadServiceStatus"
    )


def published_period(consent: Consent, now: datetime | None = None) -> dict:
    """The span of readings the consent serves now: the history length back from now, within the customer's occupancy.

    The same windows the data routes serve (``consent_windows``), from the earliest start
    to the latest end; nothing at all (an ended consent, no occupancy left in reach) is an
    empty period starting now.
    """
    now = now or timezone.now()
    windows = [w for premise in consent_premises(consent=consent) for w in consent_windows(consent=consent, premise=premise, now=now)]
    if not consent.is_live(now) or not windows:
        return {"duration": 0, "start": int(now.timestamp())}
    start, end = min(w.start for w in windows), max(w.end for w in windows)
    return {"duration": int((end - start).total_seconds()), "start": int(start.timestamp())}


def authorization_entry(consent: Consent) -> dict:
    path = f"{ROOT}/Authorization/{consent.pk}"
    content = {
        "authorizedPeriod": {
            "duration": int((consent.expires_at - consent.granted_at).total_seconds()),
            "start": int(consent.granted_at.timestamp()),
        },
        "publishedPeriod": published_period(consent),
        # Active only while it is live: one past its end reads 0 even before the expiry sweep has marked it.
        "status": AUTHORIZATION_STATUS[ConsentStatus(consent.status)] if consent.is_live() else 0,
        "expires_at": int(consent.expires_at.timestamp()),
        "scope": consent.scope_text(),
        "token_type": "Bearer",
        "resourceURI": f"{ROOT}/Subscription/{consent.pk}",
        "authorizationURI": path,
    }
    return entry(
        "Authorization",
        path,
        f"Authorization by the customer for {consent.application.name}",
        content,
        up=f"{ROOT}/Authorization",
        related=[(content["resourceURI"], collection("Subscription")), (paths_for(consent).usage_points, collection("UsagePoint"))],
        moment=consent.updated_at,
    )


def application_information_entry(registration: ThirdPartyApplication, *, base: str) -> dict:
    """The third party's registration as ESPI ApplicationInformation: never its client secret (a documented placeholder)."""
    path = f"{ROOT}/ApplicationInformation/{registration.pk}"
    content = {
        "dataCustodianId": DATA_CUSTODIAN_ID,
        "dataCustodianApplicationStatus": 2 if registration.status == "production" else 1,
        "thirdPartyApplicationDescription": registration.stated_use[:256],
        "thirdPartyApplicationStatus": 3 if registration.status == "production" else 1,
        "thirdPartyApplicationType": 1,
        "thirdPartyApplicationUse": 1,
        "authorizationServerUri": base,
        "thirdPartyNotifyUri": registration.webhook_url or f"{base}/developer/",
        "authorizationServerAuthorizationEndpoint": f"{base}/oauth/authorize/",
        "authorizationServerTokenEndpoint": f"{base}/oauth/token/",
        "dataCustodianBulkRequestURI": f"{base}{ROOT}/Batch/Bulk",
        "dataCustodianResourceEndpoint": f"{base}{ROOT}",
        "client_secret": SECRET_PLACEHOLDER,
        "client_name": registration.name[:256],
        "redirect_uri": registration.redirect_uris.split() or [f"{base}/"],
        "client_id": registration.client_id,
        "software_id": f"{registration.organisation} {registration.name}"[:256],
        "software_version": "1",
        "client_id_issued_at": int(registration.created_at.timestamp()),
        "client_secret_expires_at": 0,
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": registration.requested_scopes and " ".join(registration.requested_scopes) or "none",
        "grant_types": ["authorization_code", "client_credentials", "refresh_token"],
        "response_types": "code",
        "registration_client_uri": f"{base}{path}",
        "registration_access_token": SECRET_PLACEHOLDER,
    }
    return entry(
        "ApplicationInformation",
        path,
        f"Registration of {registration.name}",
        content,
        up=f"{ROOT}/ApplicationInformation",
        identity=(registration.pk,),
    )


# --- Usage points, meter readings, reading types ---------------------------------------------


def channel_get(meter: Meter, reading_id: int) -> int:
    if reading_id not in channels_for(meter):
        raise Http404("No such meter reading.")
    return reading_id


def _windows(consent: Consent, meter: Meter, query: EspiQuery):
    return clip(consent_windows(consent=consent, premise=meter.premise), start=query.published_min, end=query.published_max)


def consent_reading_type_entry(consent: Consent, meter: Meter, channel: int) -> dict:
    seconds = interval_seconds_first(meter=meter, windows=consent_windows(consent=consent, premise=meter.premise), channel=channel)
    return reading_type_entry(meter, channel, seconds or 900)


def reading_types(consent: Consent) -> list[dict]:
    return [
        consent_reading_type_entry(consent, meter, channel) for meter in consent_meters(consent=consent) for channel in channels_for(meter)
    ]


# --- Local time: one per consented premise --------------------------------------------------------


def local_time_parameters(consent: Consent) -> list[dict]:
    return [e for e in (local_time_parameters_entry(premise) for premise in consent_premises(consent=consent)) if e is not None]


def local_time_parameters_get(consent: Consent, premise_id: int) -> tuple[dict, Premise]:
    premise = next((p for p in consent_premises(consent=consent) if p.pk == premise_id), None)
    found = local_time_parameters_entry(premise) if premise is not None else None
    if found is None:
        raise Http404("No such local time parameters.")
    return found, premise


# --- Interval blocks: one per premise-local day --------------------------------------------


def _days(consent: Consent, meter: Meter, channel: int, query: EspiQuery) -> Iterator[tuple[date, list[tuple]]]:
    rows = interval_readings(
        meter=meter,
        windows=_windows(consent, meter, query),
        channels=(channel,),
        received_from=query.updated_min,
        received_until=query.updated_max,
    )
    return readings_by_day(rows, zoneinfo.ZoneInfo(meter.premise.timezone))


def _days_count(consent: Consent, meter: Meter, channel: int, query: EspiQuery) -> int:
    return interval_days_count(
        meter=meter,
        windows=_windows(consent, meter, query),
        channel=channel,
        zone=meter.premise.timezone,
        received_from=query.updated_min,
        received_until=query.updated_max,
    )


def interval_blocks(consent: Consent, meter: Meter, channel: int, query: EspiQuery) -> tuple[list[dict], int, int]:
    """A page of blocks, the number of blocks in all, and the readings on the page.

    Only the page's days are kept: the days before and after it are counted, not held.
    """
    first = query.start_index - 1
    total, entries, readings = 0, [], 0
    for day, rows in _days(consent, meter, channel, query):
        if first <= total < first + query.max_results:
            entries.append(interval_block_entry(paths_for(consent), meter, channel, day, rows))
            readings += len(rows)
        total += 1
    return entries, total, readings


def interval_block_get(consent: Consent, meter: Meter, channel: int, block: int) -> tuple[dict, int]:
    try:
        day = datetime.strptime(str(block), "%Y%m%d").date()
    except ValueError:
        raise Http404("No such interval block.") from None
    zone = zoneinfo.ZoneInfo(meter.premise.timezone)
    start = datetime.combine(day, datetime.min.time(), zone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
    rows = [row for _, day_rows in _days(consent, meter, channel, EspiQuery(published_min=start, published_max=end)) for row in day_rows]
    if not rows:
        raise Http404("No such interval block.")
    return interval_block_entry(paths_for(consent), meter, channel, day, rows), len(rows)


# --- Usage summaries with cost, per calendar month -----------------------------------------------


def _months(consent: Consent, meter: Meter, query: EspiQuery) -> list[date]:
    if meter.kind != MeterKind.ELECTRIC or electric_meter(meter.premise) is None:
        return []
    zone = zoneinfo.ZoneInfo(meter.premise.timezone)
    windows = consent_windows(consent=consent, premise=meter.premise)
    if not windows:
        return []
    first = windows[0].start.astimezone(zone).date().replace(day=1)
    last = windows[-1].end.astimezone(zone).date()
    months, cursor = [], first
    while cursor <= last:
        months.append(cursor)
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    low = query.published_min.astimezone(zone).date() if query.published_min else None
    high = query.published_max.astimezone(zone).date() if query.published_max else None
    return [m for m in months if (not low or (m + timedelta(days=32)).replace(day=1) > low) and (not high or m <= high)]


def usage_summary_entry(consent: Consent, meter: Meter, month: date) -> dict:
    premise = meter.premise
    zone = zoneinfo.ZoneInfo(premise.timezone)
    windows = consent_windows(consent=consent, premise=premise)
    last = windows[-1].end.astimezone(zone).date() if windows else month
    month_end = min((month + timedelta(days=32)).replace(day=1) - timedelta(days=1), last)
    try:
        summary = period_cost(premise=premise, meter=meter, first_day=month, last_day=month_end, windows=windows)
        cost, delivered = int(summary.total * COST_SCALE), summary.delivered_wh
    except NoTariff:
        cost, delivered = None, None
    start = datetime.combine(month, datetime.min.time(), zone)
    stop = datetime.combine(month_end + timedelta(days=1), datetime.min.time(), zone)
    content: dict = {"billingPeriod": {"duration": int((stop - start).total_seconds()), "start": int(start.timestamp())}}
    if cost is not None:
        content["billLastPeriod"] = cost
    content["currency"] = USD
    if delivered is not None:
        content["overallConsumptionLastPeriod"] = {"powerOfTenMultiplier": 0, "uom": 72, "value": delivered}
    content["statusTimeStamp"] = int(timezone.now().timestamp())
    content["commodity"] = 1
    summaries = paths_for(consent).usage_summaries(meter)
    summary_id = block_id(month) // 100
    return entry(
        "UsageSummary",
        f"{summaries}/{summary_id}",
        f"Usage and cost for {month:%B %Y}",
        content,
        up=summaries,
        related=[(paths_for(consent).usage_point(meter), member("UsagePoint"))],
        identity=(meter.pk, summary_id),
    )


def usage_summaries(consent: Consent, meter: Meter, query: EspiQuery) -> tuple[list[dict], int]:
    months = _months(consent, meter, query)
    return [usage_summary_entry(consent, meter, month) for month in query.page(months)], len(months)


def usage_summary_get(consent: Consent, meter: Meter, summary_id: int) -> dict:
    """One month's summary, id YYYYMM; 404 outside what the consent serves."""
    month = next((m for m in _months(consent, meter, EspiQuery()) if block_id(m) // 100 == summary_id), None)
    if month is None:
        raise Http404("No such usage summary.")
    return usage_summary_entry(consent, meter, month)


# --- Batch/Subscription: everything the consent allows, paged and streamed ----------------------


def _batch_items(consent: Consent, meters: list[Meter], query: EspiQuery, summaries: bool, counter: list[int]) -> Iterator[Callable]:
    """Builders of the entries in feed order; a builder not called costs nothing but the reading it skips past."""
    paths = paths_for(consent)
    premises = list({meter.premise_id: meter.premise for meter in meters}.values())
    for premise in premises:
        if local_time_parameters_entry(premise) is not None:
            yield partial(local_time_parameters_entry, premise)
    for meter in meters:
        yield partial(usage_point_entry, paths, meter, with_summary=summaries)
        for channel in channels_for(meter):
            yield partial(meter_reading_entry, paths, meter, channel)
            yield partial(consent_reading_type_entry, consent, meter, channel)
            for day, rows in _days(consent, meter, channel, query):
                yield partial(_counted_block, paths, meter, channel, day, rows, counter)
        if summaries:
            for month in _months(consent, meter, query):
                yield partial(usage_summary_entry, consent, meter, month)


def _counted_block(paths: Paths, meter: Meter, channel: int, day: date, rows: list[tuple], counter: list[int]) -> dict:
    counter[0] += len(rows)
    return interval_block_entry(paths, meter, channel, day, rows)


def batch_total(consent: Consent, meters: list[Meter], query: EspiQuery, summaries: bool) -> int:
    """How many entries the whole Batch has (the feed's total_results), counted without reading the readings."""
    premises = list({meter.premise_id: meter.premise for meter in meters}.values())
    total = sum(1 for premise in premises if local_time_parameters_entry(premise) is not None)
    for meter in meters:
        total += 1
        for channel in channels_for(meter):
            total += 2 + _days_count(consent, meter, channel, query)
        if summaries:
            total += len(_months(consent, meter, query))
    return total


def batch_entries(consent: Consent, meters: list[Meter], query: EspiQuery, counter: list[int], *, summaries: bool) -> Iterator[dict]:
    """The page ``query`` asks for, one entry at a time; a day of readings is the most held in memory.

    ``counter[0]`` counts the readings served. Reading stops once the page is full.
    """
    first, stop = query.start_index - 1, query.start_index - 1 + query.max_results
    for index, build in enumerate(_batch_items(consent, meters, query, summaries, counter)):
        if index >= stop:
            return
        if index >= first:
            yield build()
