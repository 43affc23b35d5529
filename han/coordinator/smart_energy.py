"""The coordinator's side of the Smart Energy clusters, on every radio.

A listener on the controller application (whose devices are ``han.zigbee_se``
Smart Energy devices, whatever the radio) that:

- answers what devices pull, from the premise's ``PremiseState``: GetCurrentPrice with
  PublishPrice, GetScheduledEvents with Load Control Events, GetLastMessage with
  DisplayMessage, or a ZCL Default Response NOT_FOUND when there is nothing to send;
- hands a device's Report Event Status to the load-control path;
- counts Smart Energy frames it had to drop (malformed, an unknown command or cluster),
  logging each (device, reason) once.

Each command a device may send is one entry of ``ANSWERS``: adding one touches only this module.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from zigpy.zcl import foundation

from han import drlc
from han.coordinator.premise_state import PremiseState
from han.zigbee_se import Drlc, Messaging, Price

logger = logging.getLogger(__name__)


class SmartEnergyResponder:
    def __init__(
        self, *, app: Any, premise_state: PremiseState, on_event_status: Callable[[Any, drlc.EventStatusReport], None], name: str = ""
    ) -> None:
        self.app = app
        self.premise_state = premise_state
        self.on_event_status = on_event_status
        self.name = name
        self.rejected: Counter[str] = Counter()  # reason -> frames dropped
        self._logged: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Task] = set()
        app.add_listener(self)

    # --- zigpy listener events ------------------------------------------------------------------

    def smart_energy_command(self, device: Any, cluster: Any, hdr: foundation.ZCLHeader, command: Any) -> None:
        definition = getattr(command, "command", None)
        answer = ANSWERS.get((int(cluster.cluster_id), definition.name)) if definition is not None else None
        if answer is not None:
            answer(self, device, cluster, hdr, command)

    def smart_energy_frame_rejected(self, device: Any, packet: Any, reason: str) -> None:
        self.rejected[reason] += 1
        key = (str(device.ieee), reason)
        if key not in self._logged:  # a chatty or broken device must not flood the log: once per device and reason
            self._logged.add(key)
            logger.warning(
                "%s: dropped a Smart Energy frame from %s (%s, cluster 0x%04x); further ones are only counted",
                self.name,
                device.ieee,
                reason,
                packet.cluster_id,
            )

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    async def settled(self) -> None:
        """Wait for the answers being sent (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- answers -------------------------------------------------------------------------------

    def _send(self, coroutine: Any, what: str, device: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)

        def done(finished: asyncio.Task) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                logger.info("%s: %s to %s not delivered: %s", self.name, what, device.ieee, finished.exception())

        task.add_done_callback(done)

    def _not_found(self, cluster: Any, hdr: foundation.ZCLHeader) -> None:
        cluster.send_default_rsp(hdr, foundation.Status.NOT_FOUND)

    def current_price(self, device: Any, cluster: Any, hdr: foundation.ZCLHeader, command: Any) -> None:
        fields = self.premise_state.price_answer(now=drlc.utc_now())
        if fields is None:
            self._not_found(cluster, hdr)
            return
        self._send(
            cluster.client_command(Price.ClientCommandDefs.publish_price.id, **fields, tsn=hdr.tsn, expect_reply=False),
            "PublishPrice",
            device,
        )

    def scheduled_events(self, device: Any, cluster: Any, hdr: foundation.ZCLHeader, command: Any) -> None:
        events = self.premise_state.events_answer(
            start_time=int(command.start_time),
            number_of_events=int(command.number_of_events),
            min_issuer_event_id=None if command.issuer_event_id is None else int(command.issuer_event_id),
            now=drlc.utc_now(),
        )
        if not events:
            self._not_found(cluster, hdr)
            return
        for event in events:  # one Load Control Event each, as the specification answers it
            self._send(
                cluster.client_command(
                    Drlc.ClientCommandDefs.load_control_event.id,
                    issuer_event_id=event.issuer_event_id,
                    device_class=event.device_class,
                    utility_enrollment_group=event.utility_enrollment_group,
                    start_time=event.start_time,
                    duration_in_minutes=event.duration_minutes,
                    criticality_level=event.criticality,
                    cooling_temperature_offset=event.cooling_offset,
                    heating_temperature_offset=event.heating_offset,
                    cooling_temperature_set_point=event.cooling_set_point,
                    heating_temperature_set_point=event.heating_set_point,
                    average_load_adjustment_percentage=event.load_adjustment_percent,
                    duty_cycle=event.duty_cycle,
                    event_control=event.event_control,
                    tsn=hdr.tsn,
                    expect_reply=False,
                ),
                "LoadControlEvent",
                device,
            )

    def last_message(self, device: Any, cluster: Any, hdr: foundation.ZCLHeader, command: Any) -> None:
        fields = self.premise_state.message_answer(now=drlc.utc_now())
        if fields is None:
            self._not_found(cluster, hdr)
            return
        self._send(
            cluster.client_command(Messaging.ClientCommandDefs.display_message.id, **fields, tsn=hdr.tsn, expect_reply=False),
            "DisplayMessage",
            device,
        )

    def event_status(self, device: Any, cluster: Any, hdr: foundation.ZCLHeader, command: Any) -> None:
        self.on_event_status(device, drlc.report_from_command(command))


# (cluster id, command name) -> how the coordinator handles that command from a device.
ANSWERS: dict[tuple[int, str], Callable[..., None]] = {
    (Price.cluster_id, "get_current_price"): SmartEnergyResponder.current_price,
    (Drlc.cluster_id, "get_scheduled_events"): SmartEnergyResponder.scheduled_events,
    (Messaging.cluster_id, "get_last_message"): SmartEnergyResponder.last_message,
    (Drlc.cluster_id, "report_event_status"): SmartEnergyResponder.event_status,
}
