"""Readings for third-party API tests, through billing's own ingest service."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta

from billing.models import Channel, Source
from billing.services.ingest import RawReading, readings_ingest


def local_midnight(day: date, zone_name: str) -> datetime:
    return datetime.combine(day, datetime.min.time(), zoneinfo.ZoneInfo(zone_name))


def day_of_readings(meter, day: date, *, value: int = 250, channel: int = Channel.DELIVERED, seconds: int = 900):
    start = local_midnight(day, meter.premise.timezone)
    rows = [
        RawReading(f"r{i}", meter.serial_number, channel, start + timedelta(seconds=i * seconds), seconds, value, "Wh")
        for i in range(86400 // seconds)
    ]
    report = readings_ingest(readings=rows, source=Source.HEAD_END)
    assert report.accepted == len(rows), report.as_dict()
    return rows
