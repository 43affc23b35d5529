"""Where premises sit on the grid: set one premise's location, or load many from the utility's CSV file.

A location is a path substation → feeder → transformer. Commands (and, later, outages)
target areas by it through ``amiportal.premises.grid_selectors``. Every write is audited
with the old and new path; a file is checked whole before anything is written, so a bad
line leaves the grid as it was.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from amiportal.audit.services import audit_append
from amiportal.premises.models import Feeder, Premise, Substation, Transformer, grid_code_validator

REQUIRED_COLUMNS = ("service_point_id", "substation", "feeder", "transformer")
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
MAX_ERRORS_SHOWN = 20


@dataclass(frozen=True)
class GridPath:
    substation: str
    feeder: str
    transformer: str

    def __str__(self) -> str:
        return f"{self.substation} / {self.feeder} / {self.transformer}"

    @classmethod
    def of(cls, transformer: Transformer | None) -> GridPath | None:
        if transformer is None:
            return None
        return cls(transformer.feeder.substation.code, transformer.feeder.code, transformer.code)


@dataclass
class GridImportReport:
    rows: int = 0
    changed: int = 0
    unchanged: int = 0
    areas_created: int = 0
    sha256: str = ""
    lines: list[str] = field(default_factory=list)  # one per quirk accepted (a BOM, UTF-16, blank lines)

    def summary(self) -> str:
        return (
            f"{self.rows} premises in the file: {self.changed} moved or placed, {self.unchanged} already there;"
            f" {self.areas_created} new substations, feeders or transformers."
        )


def _code_checked(value: str, what: str) -> str:
    value = " ".join(str(value).split())
    if not value:
        raise ValidationError(f"The {what} is empty.")
    try:
        grid_code_validator(value)
    except ValidationError:
        raise ValidationError(f"The {what} {value[:40]!r} is not a grid code: {grid_code_validator.message}") from None
    if len(value) > 32:
        raise ValidationError(f"The {what} {value[:40]!r}… is longer than 32 characters.")
    return value


def grid_path_checked(*, substation: str, feeder: str, transformer: str) -> GridPath:
    """The three codes cleaned (spaces collapsed) and checked, or a ValidationError naming the bad one."""
    return GridPath(_code_checked(substation, "substation"), _code_checked(feeder, "feeder"), _code_checked(transformer, "transformer"))


class _Areas:
    """Find-or-create for substations, feeders and transformers, cached for one write."""

    def __init__(self) -> None:
        self.created = 0
        self._substations: dict[str, Substation] = {}
        self._feeders: dict[tuple[str, str], Feeder] = {}
        self._transformers: dict[GridPath, Transformer] = {}

    def transformer(self, path: GridPath) -> Transformer:
        if path in self._transformers:
            return self._transformers[path]
        substation = self._substations.get(path.substation)
        if substation is None:
            substation, made = Substation.objects.get_or_create(code=path.substation)
            self.created += made
            self._substations[path.substation] = substation
        feeder = self._feeders.get((path.substation, path.feeder))
        if feeder is None:
            feeder, made = Feeder.objects.get_or_create(substation=substation, code=path.feeder)
            self.created += made
            self._feeders[(path.substation, path.feeder)] = feeder
        transformer, made = Transformer.objects.get_or_create(feeder=feeder, code=path.transformer)
        self.created += made
        self._transformers[path] = transformer
        return transformer


_LOCATED = Premise.objects.select_related("transformer__feeder__substation")


@transaction.atomic
def grid_location_set(*, premise: Premise, path: GridPath | None, actor) -> Premise:
    """Put a premise at ``path`` (None: its location is unknown), audited with the old and new path."""
    premise = _LOCATED.select_for_update(no_key=True, of=("self",)).get(pk=premise.pk)
    old = GridPath.of(premise.transformer)
    if old == path:
        return premise
    areas = _Areas()
    premise.transformer = areas.transformer(path) if path else None
    premise.save(update_fields=["transformer"])
    audit_append(
        action="premise.grid_location_set",
        actor=actor,
        target=f"premise:{premise.pk}",
        payload={"service_point_id": premise.service_point_id, "old": str(old) if old else None, "new": str(path) if path else None},
    )
    return premise


def _decoded(data: bytes, report: GridImportReport) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        report.lines.append("The file is UTF-16 (it starts with a UTF-16 byte-order mark): read as such.")
        encoding = "utf-16"
    elif data.startswith(b"\xef\xbb\xbf"):
        report.lines.append("The file starts with a UTF-8 byte-order mark (as Excel writes it): skipped.")
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ValidationError(f"The file is not UTF-8 or UTF-16 text (byte {exc.start} cannot be read). Save it as CSV UTF-8.") from None
    if "\x00" in text:
        raise ValidationError("The file contains NUL characters: it is not a text CSV file.")
    return text


def _rows(text: str, report: GridImportReport) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None:
        raise ValidationError("The file is empty: it needs a header line service_point_id,substation,feeder,transformer.")
    columns = {(name or "").strip().lower(): name for name in reader.fieldnames}
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise ValidationError(
            f"The header line lacks {', '.join(missing)}: it must name service_point_id, substation, feeder and transformer."
        )
    rows, blank = [], 0
    try:
        for record in reader:
            values = {column: (record.get(columns[column]) or "").strip() for column in REQUIRED_COLUMNS}
            if not any(values.values()):
                blank += 1
                continue
            rows.append((reader.line_num, values))
            if len(rows) > MAX_ROWS:
                raise ValidationError(f"The file has more than {MAX_ROWS:,} premises: split it.")
    except csv.Error as exc:
        raise ValidationError(f"Line {reader.line_num}: the CSV cannot be read ({exc}).") from None
    if blank:
        report.lines.append(f"{blank} blank line{'s' if blank != 1 else ''} skipped.")
    if not rows:
        raise ValidationError("The file has a header but no premises.")
    return rows


def _planned(rows: list[tuple[int, dict[str, str]]]) -> tuple[dict[str, GridPath], list[str]]:
    """Each service point's new path, and the bad lines (in file order) as messages."""
    plan: dict[str, GridPath] = {}
    first_line: dict[str, int] = {}
    errors: list[tuple[int, str]] = []
    for line, values in rows:
        spid = values["service_point_id"]
        if not spid:
            errors.append((line, f"Line {line}: the service point ID is empty."))
            continue
        try:
            path = grid_path_checked(substation=values["substation"], feeder=values["feeder"], transformer=values["transformer"])
        except ValidationError as error:
            errors.append((line, f"Line {line} ({spid[:32]}): {error.messages[0]}"))
            continue
        if spid in plan and plan[spid] != path:
            errors.append((line, f"Line {line}: {spid[:32]} is already placed at {plan[spid]} on line {first_line[spid]}."))
            continue
        plan.setdefault(spid, path)
        first_line.setdefault(spid, line)
    known = set(Premise.objects.filter(service_point_id__in=list(plan)).values_list("service_point_id", flat=True))
    for spid in plan.keys() - known:
        errors.append((first_line[spid], f"Line {first_line[spid]}: no premise has the service point ID {spid[:32]!r}."))
    return plan, [message for _, message in sorted(errors)]


@transaction.atomic
def grid_locations_import(
    *, data: bytes, actor, filename: str = "", dry_run: bool = False, actor_label: str | None = None
) -> GridImportReport:
    """Place every premise the file names; all or nothing. Raises ValidationError listing the bad lines."""
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError(f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: split it.")
    report = GridImportReport(sha256=hashlib.sha256(data).hexdigest())
    plan, errors = _planned(_rows(_decoded(data, report), report))
    if errors:
        shown = errors[:MAX_ERRORS_SHOWN]
        if len(errors) > MAX_ERRORS_SHOWN:
            shown.append(f"…and {len(errors) - MAX_ERRORS_SHOWN} more. Nothing was changed.")
        else:
            shown.append("Nothing was changed.")
        raise ValidationError(shown)
    report.rows = len(plan)
    premises = list(_LOCATED.select_for_update(no_key=True, of=("self",)).filter(service_point_id__in=list(plan)).order_by("pk"))
    moves = [
        (premise, plan[premise.service_point_id])
        for premise in premises
        if GridPath.of(premise.transformer) != plan[premise.service_point_id]
    ]
    report.changed, report.unchanged = len(moves), len(premises) - len(moves)
    if dry_run or not moves:
        return report
    areas = _Areas()
    for premise, path in moves:
        premise.transformer = areas.transformer(path)
    Premise.objects.bulk_update([premise for premise, _ in moves], ["transformer"], batch_size=2000)
    report.areas_created = areas.created
    audit_append(
        action="premise.grid_locations_imported",
        actor=actor,
        actor_label=actor_label,
        target="grid",
        payload={
            "file": filename[:200],
            "sha256": report.sha256,
            "rows": report.rows,
            "changed": report.changed,
            "areas_created": report.areas_created,
            "service_point_ids": [premise.service_point_id for premise, _ in moves[:50]],
        },
    )
    return report
