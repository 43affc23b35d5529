"""Live demand: each meter's Metering cluster reports its instantaneous demand, and the coordinator relays it.

After a device that serves Metering (0x0702) is interviewed, or when a restarted coordinator
finds it in zigpy's database, the coordinator reads its unit, multiplier and divisor, binds the
cluster and configures attribute reporting of InstantaneousDemand (ZCL Configure Reporting:
at least every ``MAX_INTERVAL`` seconds, at most every ``MIN_INTERVAL``, on any change). Each
report goes to the head-end as a signed ``metering`` report whose detail is sealed to it, at
most one per meter per ``FORWARD_SECONDS``. Nothing is sent while the demand stands still.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import zigpy.exceptions
import zigpy.types as t
from zigpy.zcl import AttributeReportedEvent
from zigpy.zcl.clusters.smartenergy import Metering

logger = logging.getLogger(__name__)

DEMAND = "instantaneous_demand"
SCALE = ("unit_of_measure", "multiplier", "divisor")
MIN_INTERVAL, MAX_INTERVAL, REPORTABLE_CHANGE = 1, 300, 1
FORWARD_SECONDS = 1.0
ANSWER_SECONDS = 10.0


def metering_cluster(device: Any):
    """The device's Metering server cluster, or None."""
    return next(
        (ep.in_clusters[Metering.cluster_id] for e, ep in device.endpoints.items() if e != 0 and Metering.cluster_id in ep.in_clusters),
        None,
    )


class LiveMetering:
    """Per coordinator: which meters report their demand, and the relay of what they report."""

    def __init__(self, report) -> None:
        self._report = report  # CoordinatorService.report(event, command_id, detail)
        self._scale: dict[t.EUI64, dict[str, int]] = {}
        self._pending: dict[t.EUI64, int] = {}
        self._sent_at: dict[t.EUI64, float] = {}
        self._flush: dict[t.EUI64, asyncio.TimerHandle] = {}

    @property
    def watched(self) -> set[t.EUI64]:
        return set(self._scale)

    async def watch(self, device: Any) -> bool:
        """Set up demand reporting on a meter; False (logged) if it has no Metering cluster or does not answer."""
        cluster = metering_cluster(device)
        if cluster is None or device.ieee in self._scale:
            return False
        try:
            values, _ = await asyncio.wait_for(cluster.read_attributes([DEMAND, *SCALE], allow_cache=False), ANSWER_SECONDS)
            await asyncio.wait_for(cluster.bind(), ANSWER_SECONDS)
            await asyncio.wait_for(cluster.configure_reporting(DEMAND, MIN_INTERVAL, MAX_INTERVAL, REPORTABLE_CHANGE), ANSWER_SECONDS)
        except (TimeoutError, zigpy.exceptions.ZigbeeException) as exc:
            logger.info("%s: demand reporting not set up: %s", device.ieee, type(exc).__name__)
            return False
        self._scale[device.ieee] = {name: int(values[name]) for name in SCALE if name in values}
        cluster.on_event(AttributeReportedEvent.event_type, lambda event: self._reported(device, event))
        if DEMAND in values:
            self._relay(device, int(values[DEMAND]))
        return True

    def forget(self, ieee: t.EUI64) -> None:
        self._scale.pop(ieee, None)
        self._pending.pop(ieee, None)
        handle = self._flush.pop(ieee, None)
        if handle is not None:
            handle.cancel()

    def _reported(self, device: Any, event: AttributeReportedEvent) -> None:
        if event.attribute_name == DEMAND and device.ieee in self._scale and isinstance(event.value, int):
            self._relay(device, int(event.value))

    def _relay(self, device: Any, demand: int) -> None:
        """Send now, or once ``FORWARD_SECONDS`` have passed since the last (the newest value wins)."""
        self._pending[device.ieee] = demand
        wait = self._sent_at.get(device.ieee, 0.0) + FORWARD_SECONDS - time.monotonic()
        if wait <= 0:
            self._send(device)
        elif device.ieee not in self._flush:
            self._flush[device.ieee] = asyncio.get_running_loop().call_later(wait, self._send, device)

    def _send(self, device: Any) -> None:
        self._flush.pop(device.ieee, None)
        demand = self._pending.pop(device.ieee, None)
        if demand is None or device.ieee not in self._scale:
            return
        self._sent_at[device.ieee] = time.monotonic()
        self._report("metering", None, {"eui64": str(device.ieee), DEMAND: demand, **self._scale[device.ieee]})
