"""Head-end CSV: one reading per row, ``meter,channel,start,seconds,value,unit[,quality]``.

``start`` is ISO 8601 with a UTC offset; ``value`` a number in ``unit``, any unit
``billing.units`` knows (Wh, kWh, therm, m3, ft3, ccf, L, gal, ...): a whole number as
it is, a decimal one (a gas register read of 1.234 m³) as a whole number of the unit's
finer unit (1,234 L), exactly. Rows that cannot be understood come back as (ref,
reason) rejections, never as exceptions.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal

from billing.models import Channel, Quality
from billing.services.ingest import RawReading
from billing.units import FINE_UNIT, convert, whole

COLUMNS = ["meter", "channel", "start", "seconds", "value", "unit", "quality"]
REQUIRED = COLUMNS[:6]
CHANNELS = {"delivered": Channel.DELIVERED, "received": Channel.RECEIVED}
QUALITIES = {"actual": Quality.ACTUAL, "estimated": Quality.ESTIMATED, "validated": Quality.VALIDATED}
MAX_FIELD = 64
# ASCII digits only: int() would also take "1_000", other scripts' digits and surrounding spaces.
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,18}")
# A decimal value: at most 18 digits before the point and 9 after (a meter's register resolution).
_DECIMAL_NUMBER = re.compile(r"[+-]?[0-9]{1,18}\.[0-9]{1,9}")


class CsvFormatError(ValueError):
    """The file as a whole is not a readings CSV (no usable header)."""


def parse_readings_csv(lines: Iterable[str]) -> tuple[list[RawReading], list[tuple[str, str]]]:
    readings, rejected = [], []
    for item in iter_readings_csv(lines):
        if isinstance(item, RawReading):
            readings.append(item)
        else:
            rejected.append(item)
    return readings, rejected


def iter_readings_csv(lines: Iterable[str]) -> Iterator[RawReading | tuple[str, str]]:
    reader = csv.reader(lines)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise CsvFormatError("the file is empty") from None
    except csv.Error as error:
        raise CsvFormatError(f"unreadable header: {error}") from None
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise CsvFormatError(f"the header lacks {', '.join(missing)} (expected {','.join(COLUMNS)})")
    where = {name: header.index(name) for name in COLUMNS if name in header}
    quality_at = where.get("quality")
    width = len(header)
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            line += 1
            yield (f"row {line}", f"malformed CSV: {error}")
            continue
        line += 1
        ref = f"row {line}"
        if not row:
            continue
        if len(row) != width:
            yield (ref, f"expected {width} fields, found {len(row)}")
            continue
        if any(len(value) > MAX_FIELD for value in row):
            yield (ref, "a field is too long")
            continue
        channel = CHANNELS.get(row[where["channel"]].strip().lower())
        if channel is None:
            yield (ref, f"channel must be delivered or received, not {row[where['channel']]!r}")
            continue
        try:
            start = datetime.fromisoformat(row[where["start"]].strip())
        except ValueError:
            yield (ref, f"start {row[where['start']]!r} is not an ISO 8601 date and time")
            continue
        if start.tzinfo is None:
            yield (ref, "start has no UTC offset")
            continue
        seconds_text, value_text = row[where["seconds"]].strip(), row[where["value"]].strip()
        unit = row[where["unit"]].strip()
        if _WHOLE_NUMBER.fullmatch(seconds_text) and _DECIMAL_NUMBER.fullmatch(value_text):
            fine = FINE_UNIT.get(unit)
            if fine is None:
                yield (ref, f"a decimal value needs a unit this portal knows, not {unit!r}")
                continue
            exact = convert(Decimal(value_text), unit, fine)
            if exact != exact.to_integral_value():  # never round a reading: 5.5 Wh is not a whole Wh
                yield (ref, f"seconds and value must be whole numbers of at most 18 digits (a decimal value must be whole {fine})")
                continue
            seconds, value, unit = int(seconds_text), whole(exact), fine
        elif not (_WHOLE_NUMBER.fullmatch(seconds_text) and _WHOLE_NUMBER.fullmatch(value_text)):
            yield (ref, "seconds and value must be whole numbers of at most 18 digits")
            continue
        else:
            seconds, value = int(seconds_text), int(value_text)
        quality = Quality.ACTUAL
        if quality_at is not None and row[quality_at].strip():
            quality = QUALITIES.get(row[quality_at].strip().lower())
            if quality is None:
                yield (ref, f"quality must be actual, estimated or validated, not {row[quality_at]!r}")
                continue
        yield RawReading(ref, row[where["meter"]].strip(), channel, start, seconds, value, unit, quality)


def text_lines(binary: io.BufferedIOBase | bytes) -> io.TextIOWrapper | io.StringIO:
    """Decode an uploaded file as UTF-8 (with or without BOM), line by line."""
    if isinstance(binary, bytes):
        return io.StringIO(binary.decode("utf-8-sig"), newline="")
    return io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
