"""Green Button import into a premise's meters (creating a meter for a service kind it lacks)."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from amiportal.audit.services import audit_append
from amiportal.premises.models import Meter, Premise
from billing.content_hash import summaries_content_sha256
from billing.formats.espi_read import MAX_FILE_BYTES, EspiReading, EspiSummary, parse_espi
from billing.meter_units import meter_stored_unit
from billing.models import IngestBatch, Source, UtilityBillSummary
from billing.services.ingest import IngestReport, RawReading, readings_ingest
from billing.units import convert, whole


@dataclass
class GreenButtonResult:
    imported: int
    skipped: int
    rejected: int
    reports: list[IngestReport]
    summaries_imported: int = 0  # new or revised billing-period summaries
    summaries_unchanged: int = 0  # already stored with the same figures


def _meter_for(premise: Premise, kind: str, first_day) -> Meter:
    meter = premise.meters.filter(kind=kind, removed_on__isnull=True).order_by("serial_number").first()
    if meter is None:
        serial = f"GB-{premise.service_point_id}-{kind}"[:40]
        meter, _ = Meter.objects.get_or_create(serial_number=serial, defaults={"premise": premise, "kind": kind, "installed_on": first_day})
    return meter


@transaction.atomic
def greenbutton_import(
    *, premise: Premise, data: bytes, filename: str = "", accept_valid: bool = True, actor=None, max_bytes: int = MAX_FILE_BYTES
) -> GreenButtonResult:
    """Import one file; raises EspiFormatError when the file as a whole is unreadable or unsafe."""
    usage_points = parse_espi(data, max_bytes=max_bytes)
    reports = []
    skipped_covered = 0
    summaries_imported = summaries_unchanged = 0
    for point in usage_points:
        if point.kind is None:
            reports.append(
                _rejected_only(point.rejected or [(point.ref, "usage point has no service kind and no readings")], filename, actor)
            )
            continue
        first_day = min((r.start for r in [*point.readings, *point.summaries]), default=timezone.now()).date()
        meter = _meter_for(premise, point.kind, first_day)
        kept, covered = _finest_readings(point.readings)
        skipped_covered += covered
        rows = [RawReading(r.ref, meter.serial_number, r.channel, r.start, r.seconds, r.value, r.unit, r.quality) for r in kept]
        reports.append(
            readings_ingest(
                readings=rows,
                pre_rejected=point.rejected,
                source=Source.GREEN_BUTTON,
                accept_valid=accept_valid,
                filename=filename,
                actor=actor,
                only_meters=[meter.pk],
            )
        )
        if point.summaries and reports[-1].status != IngestBatch.Status.REJECTED:
            _summary_consumption_in(meter_stored_unit(meter), point.summaries)
            imported, unchanged = _summaries_store(premise, meter, point.summaries, reports[-1].batch_id, actor)
            summaries_imported += imported
            summaries_unchanged += unchanged
    return GreenButtonResult(
        imported=sum(r.accepted + r.corrected for r in reports),
        skipped=sum(r.duplicates for r in reports) + skipped_covered,
        rejected=sum(r.rejected for r in reports),
        reports=reports,
        summaries_imported=summaries_imported,
        summaries_unchanged=summaries_unchanged,
    )


def _summary_consumption_in(stored: str, summaries: list[EspiSummary]) -> None:
    """Each summary's consumption in the meter's stored unit (None when it measures something else, e.g. energy for a meter read in m³)."""
    for summary in summaries:
        if summary.consumption is None or summary.consumption_unit is None:
            continue
        try:
            summary.consumption = whole(convert(summary.consumption, summary.consumption_unit, stored))
        except ValueError:
            summary.consumption = None
        summary.consumption_unit = stored


def _summaries_store(premise: Premise, meter: Meter, summaries: list[EspiSummary], batch_id: int | None, actor) -> tuple[int, int]:
    """Store the utility's billing-period summaries for ``meter``: (new or revised, unchanged).

    Keyed by meter and billing period (``one_summary_per_meter_period``), so importing the same
    file again stores nothing new; a concurrent import of the same period fails on that
    constraint rather than storing it twice.
    """
    imported = unchanged = 0
    written: list[dict] = []
    revised: list[dict] = []
    stored = {
        (row.period_start, row.period_seconds): row
        for row in UtilityBillSummary.objects.filter(meter=meter, period_start__in=[s.start for s in summaries])
    }
    for summary in summaries:
        figures = {
            "bill_amount": summary.bill_amount,
            "bill_to_date": summary.bill_to_date,
            "additional_charges": summary.additional_charges,
            "currency": summary.currency,
            "consumption": summary.consumption,
        }
        row = stored.get((summary.start, summary.seconds))
        if row is None:
            row = UtilityBillSummary.objects.create(
                premise=premise,
                meter=meter,
                period_start=summary.start,
                period_seconds=summary.seconds,
                source_ref=summary.ref[:500],
                batch_id=batch_id,
                **figures,
            )
            stored[(summary.start, summary.seconds)] = row
            imported += 1
        elif all(getattr(row, name) == value for name, value in figures.items()):
            unchanged += 1
            continue
        else:
            old = {name: getattr(row, name) for name in figures}
            for name, value in figures.items():
                setattr(row, name, value)
            row.source_ref, row.batch_id = summary.ref[:500], batch_id
            row.save()
            imported += 1
            revised.append({"period_start": summary.start.isoformat(), "old": old, "new": figures})
        written.append({"period_start": int(summary.start.timestamp()), "period_seconds": summary.seconds, **figures})
    if written:
        # A revised bill summary replaces the utility's old figures, so the entry keeps both.
        audit_append(
            action="billing.bill_summaries_stored",
            actor=actor,
            actor_label=None if actor else "system",
            target=f"meter:{meter.pk}",
            payload={
                "ingest_batch": batch_id,
                "written": len(written),
                "unchanged": unchanged,
                "revised": revised,
                "content_sha256": summaries_content_sha256(meter_id=meter.pk, rows=written),
            },
        )
    return imported, unchanged


_DST_HOUR, _DAY = 3600, 86400


def _finest_readings(readings: list[EspiReading]) -> tuple[list[EspiReading], int]:
    """Drop coarser readings (daily, billing-period) that cover times the file also has finer readings for.

    Utility exports often carry the same usage twice: 15-minute or hourly intervals and a
    daily or billing-period total. Only the finest is stored; a coarse reading for a period
    with no finer data is kept.
    """
    kept: list[EspiReading] = []
    covered = 0
    for channel in {r.channel for r in readings}:
        series = [r for r in readings if r.channel == channel]
        finest = min(r.seconds for r in series)
        fine = sorted((r.start.timestamp(), r.start.timestamp() + r.seconds) for r in series if r.seconds == finest)
        fine_starts = [start for start, _ in fine]
        for reading in series:
            if reading.seconds == finest:
                kept.append(reading)
                continue
            begin = reading.start.timestamp()
            end = begin + reading.seconds
            index = max(bisect_left(fine_starts, begin) - 1, 0)
            overlap = 0.0
            while index < len(fine) and fine[index][0] < end:
                overlap += max(0.0, min(end, fine[index][1]) - max(begin, fine[index][0]))
                index += 1
            # Finer readings inside it: covered. Between billing periods (or days), only the DST hour (a
            # neighbour whose boundary drifted, billing.services.ingest.dst_drift): kept, for the ingest to trim and report.
            if overlap > (_DST_HOUR if finest >= _DAY else 0):
                covered += 1
            else:
                kept.append(reading)
    return kept, covered


def _rejected_only(rejected, filename, actor) -> IngestReport:
    return readings_ingest(
        readings=[], pre_rejected=rejected, source=Source.GREEN_BUTTON, accept_valid=True, filename=filename, actor=actor
    )
