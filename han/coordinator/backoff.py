"""Waiting out a broker outage: exponential backoff, capped and jittered, and one log line per outage.

A coordinator never exits because its broker went away. Whatever talks to the broker
(the command consumer, the report sender) keeps an ``Outage`` and asks it how long to
wait after each failed attempt; it logs when the outage begins and when it ends, not
every attempt in between.
"""

from __future__ import annotations

import logging
import random
import time

logger = logging.getLogger("han.coordinator")

BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0


class Outage:
    def __init__(self, what: str, *, first: float = BACKOFF_FIRST_SECONDS, cap: float = BACKOFF_CAP_SECONDS) -> None:
        self.what = what
        self._first = first
        self._cap = cap
        self._attempts = 0
        self._since: float | None = None

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException) -> float:
        """Note a failed attempt; returns the seconds to wait before the next one (full jitter in its upper half)."""
        if self._since is None:
            self._since = time.monotonic()
            logger.warning("%s: broker unreachable (%s: %s); retrying with backoff", self.what, type(exc).__name__, exc)
        ceiling = min(self._cap, self._first * 2**self._attempts)
        self._attempts += 1
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 (spreading reconnects, not a secret)

    def restored(self) -> None:
        if self._since is not None:
            logger.warning("%s: broker back after %.1f s (%d attempts)", self.what, time.monotonic() - self._since, self._attempts)
        self._since = None
        self._attempts = 0
