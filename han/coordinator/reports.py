"""Sending a coordinator process's signed reports to the head-end, batched.

Every report is signed by the coordinator it comes from; batching changes only
how many broker messages (and head-end tasks and transactions) carry them. One
sender serves every coordinator a process hosts: it takes the first report that
is waiting, lingers ``LINGER_SECONDS`` for the ones that usually follow it (a
device's "permitted", "joined" and "interviewed" come within ~20 ms; a busy process
has other devices' reports too), and sends them all as one
``han.tasks.han_reports_record_task``. An idle gateway sends a
lone report after the linger; a busy one sends up to ``max_batch`` at once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from han import broker

logger = logging.getLogger(__name__)

# 100 ms: at ~40 devices/s a batch carries ~12 reports instead of ~3 at 25 ms, and every batch is a
# head-end task and transaction (measured: 0.5 report tasks per device at 25 ms). A lone device's
# states reach the head-end 75 ms later; the latency goal is a second.
LINGER_SECONDS = 0.1
MAX_BATCH = 100
SEND_ATTEMPTS = 5

_STOP = object()


class ReportSender:
    """A thread that sends queued reports in batches. ``submit`` from any thread; ``close`` sends what is left."""

    def __init__(
        self,
        *,
        send_batch: Callable[[list[dict[str, Any]]], None] = broker.reports_send,
        linger_seconds: float = LINGER_SECONDS,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._send_batch = send_batch
        self._linger = linger_seconds
        self._max_batch = max_batch
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="han-reports", daemon=True)
        self._thread.start()

    def submit(self, report: dict[str, Any]) -> None:
        self._queue.put(report)

    def close(self, timeout: float = 30.0) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            deadline = time.monotonic() + self._linger
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True  # send this batch, then stop
                    break
                batch.append(item)
            self._send(batch)
        while True:  # whatever arrived while stopping
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not _STOP:
                self._send([item])

    def _send(self, batch: list[dict[str, Any]]) -> None:
        for attempt in range(SEND_ATTEMPTS):
            try:
                self._send_batch(batch)
                return
            except Exception as exc:  # the broker is away: wait and try again, then give up loudly
                if attempt == SEND_ATTEMPTS - 1:
                    logger.error("%d reports could not be sent: %s", len(batch), exc)
                    return
                time.sleep(min(5.0, 0.5 * 2**attempt))
