"""Sending a coordinator process's signed reports to the head-end, batched.

Every report is signed by the coordinator it comes from; batching changes only
how many broker messages (and head-end tasks and transactions) carry them. One
sender serves every coordinator a process hosts: it takes the first report that
is waiting, waits for the ones that usually follow it, and sends them all as one
``han.tasks.han_reports_record_task``. How long it waits depends on how busy it is:

- quiet (the last batch was small): until no report has come for ``QUIET_GAP_SECONDS``,
  so a lone device's "permitted", "joined" and "interviewed" reach the head-end a few
  milliseconds after the last of them, not a whole linger later;
- busy (the last batch had ``BUSY_BATCH`` reports or more): up to ``LINGER_SECONDS``
  after the first, so each head-end task and transaction carries many reports.

Either way a batch never waits past the linger, and goes at once at ``max_batch``.

While the broker is unreachable, the sender keeps the reports (at most ``max_pending``,
in order; past that the oldest are dropped, and counted in the log), retries with
backoff (``backoff.Outage``: one log line when the outage begins, one when it ends) and
sends them, in order, when the broker is back. ``close`` waits up to its timeout for them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from han import broker
from han.coordinator.backoff import Outage

logger = logging.getLogger(__name__)

# 100 ms when busy: at ~40 devices/s a batch carries ~12 reports instead of ~3 at 25 ms, and every
# batch is a head-end task and transaction (measured: 0.5 report tasks per device at 25 ms).
LINGER_SECONDS = 0.1
# When quiet, a batch goes once no report came for this long (a device's reports come within ~20 ms,
# a few ms apart on the simulated radio): before, a lone device's states waited the whole 100 ms.
QUIET_GAP_SECONDS = 0.01
BUSY_BATCH = 4  # a batch this large means reports are streaming in: the next one lingers
MAX_BATCH = 100
# Reports kept while the broker is away: a heartbeat per premise every 30 s, so 200 premises fill it
# in about 25 minutes; the reports that matter (joins, interviews, failures) are rarer.
MAX_PENDING = 10_000


class ReportSender:
    """A thread that sends queued reports in batches. ``submit`` from any thread; ``close`` sends what is left."""

    def __init__(
        self,
        *,
        send_batch: Callable[[list[dict[str, Any]]], None] = broker.reports_send,
        linger_seconds: float = LINGER_SECONDS,
        quiet_gap_seconds: float = QUIET_GAP_SECONDS,
        max_batch: int = MAX_BATCH,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._send_batch = send_batch
        self._linger = linger_seconds
        self._quiet_gap = min(quiet_gap_seconds, linger_seconds)
        self._busy = False
        self._last_arrival = 0.0
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._pending: deque[dict[str, Any]] = deque()
        self._changed = threading.Condition()
        self._closing = False
        self._give_up_at = float("inf")
        self._close_requested = threading.Event()
        self.dropped = 0
        self.outage = Outage("report sender")
        self._thread = threading.Thread(target=self._run, name="han-reports", daemon=True)
        self._thread.start()

    def submit(self, report: dict[str, Any]) -> None:
        with self._changed:
            if len(self._pending) >= self._max_pending:
                self._pending.popleft()
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    logger.error("%d reports dropped: the broker has been unreachable for too long", self.dropped)
            self._pending.append(report)
            self._last_arrival = time.monotonic()
            self._changed.notify()

    def close(self, timeout: float = 30.0) -> None:
        """Send what is waiting (for at most ``timeout`` seconds), then stop."""
        with self._changed:
            self._closing = True
            self._give_up_at = time.monotonic() + timeout
            self._changed.notify()
        self._close_requested.set()
        self._thread.join(timeout + 1)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._pending and not self._closing:
                    self._changed.wait()
                if not self._pending:
                    return  # closing, and everything was sent
                deadline = time.monotonic() + self._linger
                while len(self._pending) < self._max_batch and not self._closing:
                    until = deadline if self._busy else min(deadline, self._last_arrival + self._quiet_gap)
                    remaining = until - time.monotonic()
                    if remaining <= 0:
                        break
                    self._changed.wait(remaining)
                batch = [self._pending.popleft() for _ in range(min(self._max_batch, len(self._pending)))]
                self._busy = len(batch) >= BUSY_BATCH
            if not self._send(batch):
                return

    def _send(self, batch: list[dict[str, Any]]) -> bool:
        """Send one batch, retrying until it went; False when closing gave up on it (and on what waits)."""
        while True:
            try:
                self._send_batch(batch)
                self.outage.restored()
                return True
            except Exception as exc:  # the broker is away: wait and try again
                delay = self.outage.failed(exc)
            if time.monotonic() + delay > self._give_up_at:  # closing, and the broker is still away
                with self._changed:
                    left = len(batch) + len(self._pending)
                logger.error("%d reports not sent: the broker was unreachable when the coordinator stopped", left)
                return False
            if self._close_requested.is_set():
                time.sleep(min(delay, max(0.0, self._give_up_at - time.monotonic())))
            else:  # woken by ``close``, not by new reports: they wait their turn, in order
                self._close_requested.wait(delay)
