"""What one ingest batch is made of and what it reports: the parsed readings in, the report out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from billing.models import IngestBatch, Quality

MAX_REPORTED_ERRORS = 1000


@dataclass(slots=True)
class RawReading:
    """One reading as a parser understood it; ``ref`` says where it came from (a row or element)."""

    ref: str
    meter: str  # serial number
    channel: int
    start: datetime
    seconds: int
    value: int
    unit: str
    quality: int = Quality.ACTUAL


@dataclass
class IngestReport:
    accepted: int = 0
    corrected: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[dict] = field(default_factory=list)
    # Quirks of real utility files that were accepted as the utility meant them, one line each.
    notes: list[dict] = field(default_factory=list)
    status: str = IngestBatch.Status.COMMITTED
    batch_id: int | None = None

    def reject(self, ref: str, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"ref": ref, "reason": reason})

    def note(self, ref: str, text: str) -> None:
        if len(self.notes) < MAX_REPORTED_ERRORS:
            self.notes.append({"ref": ref, "note": text})

    def as_dict(self) -> dict:
        return {
            "batch_id": self.batch_id,
            "status": self.status,
            "accepted": self.accepted,
            "corrected": self.corrected,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": self.errors,
            "notes": self.notes,
        }
