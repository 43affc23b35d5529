"""``readings_ingest``: one batch from parsed readings to a stored, audited report."""

from __future__ import annotations

import gc
from collections.abc import Iterable
from contextlib import contextmanager

from django.db import transaction

from amiportal.audit.services import audit_append
from amiportal.premises.models import Meter
from billing.content_hash import readings_content_sha256
from billing.models import IngestBatch, MeterUnit
from billing.services.ingest.dst_drift import dst_drift_trim
from billing.services.ingest.meter_units import meter_stored_units
from billing.services.ingest.plan import _Plan, _plan_series
from billing.services.ingest.report import IngestReport, RawReading
from billing.services.ingest.validation import _METER, _validated_series
from billing.services.ingest.write import _write


@transaction.atomic
def readings_ingest(
    *,
    readings: Iterable[RawReading],
    source: int,
    pre_rejected: Iterable[tuple[str, str]] = (),
    accept_valid: bool = False,
    filename: str = "",
    actor=None,
    only_meters: Iterable[int] | None = None,
) -> IngestReport:
    """Validate and store one batch. ``pre_rejected`` carries the parser's own (ref, reason) rejections.

    ``only_meters`` (ids) restricts the batch to those meters: a Green Button import for one
    premise must never write to another premise's meter.
    """
    with _cyclic_gc_paused():
        return _ingest(
            readings=readings,
            source=source,
            pre_rejected=pre_rejected,
            accept_valid=accept_valid,
            filename=filename,
            actor=actor,
            only_meters=only_meters,
        )


@contextmanager
def _cyclic_gc_paused():
    """Hold off the cyclic garbage collector while a batch is planned and written.

    A meter-year allocates about 100,000 acyclic tuples, and each allocation burst made the
    collector walk every live object of the process again (measured: a quarter of the ingest
    time). Nothing here creates reference cycles that need prompt collection; reference counting
    still frees everything, and the collector runs as usual once the batch is done.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _ingest(
    *,
    readings: Iterable[RawReading],
    source: int,
    pre_rejected: Iterable[tuple[str, str]],
    accept_valid: bool,
    filename: str,
    actor,
    only_meters: Iterable[int] | None,
) -> IngestReport:
    report = IngestReport()
    for ref, reason in pre_rejected:
        report.reject(ref, reason)
    rows = list(readings)
    serials = set(map(_METER, rows))
    meters = {m.serial_number: m for m in Meter.objects.filter(serial_number__in=serials).select_related("premise")}
    allowed = set(only_meters) if only_meters is not None else None
    if meters:
        # Serialize ingest per meter so concurrent batches cannot both "correct" the same interval.
        list(Meter.objects.select_for_update(no_key=True).filter(pk__in=[m.pk for m in meters.values()]).values_list("pk", flat=True))

    stored, adopted = meter_stored_units(meters, rows)
    by_series = _validated_series(rows, meters, allowed, report, stored)

    plan = _Plan()
    zones = {meter.pk: meter.premise.timezone for meter in meters.values()}
    for (meter_id, channel), series in by_series.items():
        dst_drift_trim(meter_id, channel, series, zones[meter_id], report)
        _plan_series(meter_id, channel, series, plan, report)

    if report.rejected and not accept_valid:
        report.status = IngestBatch.Status.REJECTED
        report.accepted = report.corrected = report.duplicates = 0
        batch = _batch_record(report, source, filename, actor)
        audit_append(
            action="billing.ingest_rejected",
            actor=actor,
            actor_label=None if actor else "system",
            target=f"ingest:{batch.pk}",
            payload={"rejected": report.rejected, "filename": filename},
        )
        return report
    if report.rejected:
        report.status = IngestBatch.Status.PARTIAL
    for meter_id, (serial, unit, symbol) in adopted.items():
        if any(run[0] == meter_id for run in plan.runs):
            MeterUnit.objects.create(meter_id=meter_id, unit=unit)
            report.note(serial, f"meter {serial} had no readings and this file measures it in {symbol}: it is read in {symbol} from now on")
    batch = _batch_record(report, source, filename, actor)
    _write(plan, batch.pk, source, {meter.pk: meter for meter in meters.values()})
    audit_append(
        action="billing.ingest",
        actor=actor,
        actor_label=None if actor else "system",
        target=f"ingest:{batch.pk}",
        payload={
            "accepted": report.accepted,
            "corrected": report.corrected,
            "duplicates": report.duplicates,
            "rejected": report.rejected,
            "filename": filename,
            "written": len(plan),
            "superseded": len(plan.supersede),
            # What exactly went in (billing/content_hash.py); recomputable from the stored rows.
            "content_sha256": readings_content_sha256(
                batch_id=batch.pk,
                source=source,
                series=(
                    (meter_id, channel, *(column[begin:end] for column in plan.columns())) for meter_id, channel, begin, end in plan.runs
                ),
            ),
        },
    )
    return report


def _batch_record(report: IngestReport, source: int, filename: str, actor) -> IngestBatch:
    batch = IngestBatch.objects.create(
        source=source,
        filename=filename[:255],
        submitted_by=actor if getattr(actor, "pk", None) else None,
        status=report.status,
        accepted=report.accepted,
        corrected=report.corrected,
        duplicates=report.duplicates,
        rejected=report.rejected,
        errors=report.errors,
        notes=report.notes,
    )
    report.batch_id = batch.pk
    return batch
