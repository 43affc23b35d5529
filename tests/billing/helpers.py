"""Small builders for billing tests: a few days of readings, never a year."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from billing.models import Channel, Source
from billing.services.ingest import RawReading, readings_ingest


def readings(
    serial: str,
    start: datetime,
    *,
    hours: int = 24,
    seconds: int = 900,
    value=lambda moment: 250,
    channel: int = Channel.DELIVERED,
    unit: str = "Wh",
):
    count = hours * 3600 // seconds
    out = []
    for index in range(count):
        moment = start + timedelta(seconds=index * seconds)
        out.append(RawReading(f"r{index}", serial, channel, moment, seconds, value(moment), unit))
    return out


def up_to_now(rows):
    """Only the readings that have ended by now: a head-end never delivers the future (ingest refuses it)."""
    now = datetime.now(UTC)
    return [row for row in rows if row.start + timedelta(seconds=row.seconds) <= now]


def ingest(rows, **kwargs):
    kwargs.setdefault("source", Source.HEAD_END)
    return readings_ingest(readings=rows, **kwargs)


def csv_text(rows) -> str:
    lines = ["meter,channel,start,seconds,value,unit,quality"]
    for row in rows:
        channel = "delivered" if row.channel == Channel.DELIVERED else "received"
        lines.append(f"{row.meter},{channel},{row.start.astimezone(UTC).isoformat()},{row.seconds},{row.value},{row.unit},actual")
    return "\n".join(lines) + "\n"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)
