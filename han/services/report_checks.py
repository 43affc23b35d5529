"""What a signed coordinator report must also be to count: new, fresh, and within its command's life (SO-U4, SO-C7).

A valid signature proves who wrote a report, not when it was sent or that it was sent once.
Reports travel through the broker and may arrive late, twice, or be replayed by anyone who
can write to it, so the head-end also checks:

- **Its number.** Each coordinator numbers its reports (``han.protocol.ReportSequence``). The
  head-end keeps, per coordinator, the highest number seen and a bitmap of the
  ``SEQUENCE_WINDOW`` numbers below it (``ReportWindow``): a number already seen is a replay
  and is refused; a late report that was never seen still counts (two batches of one
  coordinator may be applied out of order); a number older than the window cannot be told
  apart from a replay and is refused too.
- **Its own signed time.** A heartbeat older than ``FRESH_SECONDS`` is not proof of life; a
  report dated in the future (beyond ``CLOCK_SKEW_SECONDS``) is refused.
- **Its command's lifetime.** A report signed after its command expired, or older than a
  command's lifetime when it arrives, cannot change a device or its job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from han import drlc

SEQUENCE_WINDOW = 1024
FRESH_SECONDS = 60
CLOCK_SKEW_SECONDS = 60
_WINDOW_MASK = (1 << SEQUENCE_WINDOW) - 1


@dataclass
class ReportWindow:
    """One coordinator's report numbers: ``high`` and a bitmap, bit i set when ``high - i`` was seen."""

    high: int = 0
    seen: int = 0
    replayed: int = 0
    replayed_numbers: list[int] = field(default_factory=list)
    stale_heartbeats: int = 0
    late: int = 0
    changed: bool = False

    @classmethod
    def from_stored(cls, *, high: int, window: bytes | memoryview | None) -> ReportWindow:
        return cls(high=high, seen=int.from_bytes(bytes(window or b""), "little"))

    def stored_window(self) -> bytes:
        return self.seen.to_bytes(SEQUENCE_WINDOW // 8, "little")

    def accept(self, seq: int) -> bool:
        """Record ``seq``; False if it was seen before (or is too far below the highest to tell)."""
        if seq > self.high:
            shift = seq - self.high
            self.seen = ((self.seen << shift) | 1) & _WINDOW_MASK if shift < SEQUENCE_WINDOW else 1
            self.high = seq
        else:
            offset = self.high - seq
            if offset >= SEQUENCE_WINDOW or (self.seen >> offset) & 1:
                self.replayed += 1
                self.replayed_numbers.append(seq)
                self.changed = True
                return False
            self.seen |= 1 << offset
        self.changed = True
        return True


def report_sequence(report: dict[str, Any]) -> int | None:
    seq = report.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 1 else None


def report_signed_at(report: dict[str, Any], *, now: datetime) -> datetime | None:
    """The report's own signed time; None when it is missing or in the future beyond the allowed clock skew."""
    at = report.get("at")
    if not isinstance(at, int) or isinstance(at, bool) or at < 0:
        return None
    signed = datetime.fromtimestamp(at, UTC)
    return None if signed > now + timedelta(seconds=CLOCK_SKEW_SECONDS) else signed


def is_fresh(signed_at: datetime, *, now: datetime) -> bool:
    """Recent enough to count as proof that the coordinator is alive."""
    return now - signed_at <= timedelta(seconds=FRESH_SECONDS)


def command_expires_at(*, expires_at: datetime | None, created_at: datetime, parameters: dict[str, Any], lifetime: timedelta) -> datetime:
    """Until when a command's reports may change anything: its envelope's expiry (or creation + lifetime, if
    it was never relayed), and for a load-control event, also until the event's end (a device reports "completed")."""
    end = expires_at or created_at + lifetime
    event = (parameters or {}).get("event") or {}
    if event.get("start_time"):
        event_end = drlc.from_utc_time(int(event["start_time"]) + 60 * int(event.get("duration_minutes") or 0))
        end = max(end, event_end + timedelta(seconds=CLOCK_SKEW_SECONDS))
    return end


def report_outlived_command(*, signed_at: datetime, command_expires: datetime, now: datetime, lifetime: timedelta) -> bool:
    """Signed after its command expired, or older than a command's lifetime by the time it arrived."""
    return signed_at > command_expires or now - signed_at > lifetime
