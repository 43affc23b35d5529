"""One coordinator's loop: take signed commands off its queue, verify, act through zigpy, report back.

Commands are acknowledged on the broker only after they were handled, so a
coordinator that stops mid-command gets it again; its replay guard makes the
second copy a no-op. Long radio operations (a permit window, which
zigpy-znp's ``permit_with_link_key`` sleeps through) run as background tasks,
never inline in the command loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import zigpy.exceptions
import zigpy.state
import zigpy.types as t

from han import broker, drlc
from han.coordinator.live_metering import LiveMetering
from han.coordinator.premise_state import PremiseState, PremiseStateError
from han.coordinator.radios import join_refusal
from han.coordinator.reports import ReportSender
from han.coordinator.smart_energy import SmartEnergyResponder
from han.protocol import Command, CommandRejected, CoordinatorIdentity, ReplayGuard, ReportSequence, command_open, report_build
from han.zigbee_se import SE_PROFILE

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30.0
DEVICE_ANSWER_SECONDS = 10.0
BASIC_CLUSTER = 0x0000
METERING_CLUSTER = 0x0702
# What a status read asks a device that serves the Metering cluster (zigpy's attribute names).
METERING_ATTRIBUTES = ("current_summ_delivered", "instantaneous_demand", "unit_of_measure", "multiplier", "divisor")


class CoordinatorService:
    def __init__(
        self,
        *,
        identity: CoordinatorIdentity,
        head_end_public_hex: str,
        head_end_box_public_hex: str,
        app: Any,
        replay_guard: ReplayGuard,
        consumer: Any = None,
        send_report: Callable[[dict[str, Any]], None] | None = None,
        reports: ReportSender | None = None,
        sequence: ReportSequence | None = None,
        radio_type: str = "simulated",
    ) -> None:
        """Reports go through ``reports`` (a process's shared, batching sender; a private one if None),
        or, when ``send_report`` is given, to it one by one on a thread (tests, the bench's baseline).
        ``sequence`` numbers the reports (kept on disk by ``han_coordinator``, so a restart continues it).
        Commands are verified with ``head_end_public_hex``; every report's detail is sealed to
        ``head_end_box_public_hex``, so the broker never reads a metering value or an event status.
        ``radio_type`` names the radio (``han.coordinator.radios``): the heartbeat tells the head-end,
        and a radio whose permit cannot admit only the keyed device refuses permit commands."""
        self.identity = identity
        self.radio_type = radio_type
        self.sequence = sequence or ReportSequence()
        self.head_end_public_hex = head_end_public_hex
        self.head_end_box_public_hex = head_end_box_public_hex
        self.app = app
        self.replay_guard = replay_guard
        self.consumer = consumer or broker.CommandQueueConsumer(identity.name)
        self._send_report = send_report
        self._owns_reports = send_report is None and reports is None
        self._reports = reports or (ReportSender() if send_report is None else None)
        self._queue_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"queue-{identity.name}")
        self._report_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"report-{identity.name}") if send_report else None
        # EUI-64 -> command id of the permit_join waiting for that device
        self._waiting: dict[t.EUI64, str] = {}
        self._background: set[asyncio.Task] = set()
        # (EUI-64, issuer event id) -> the load_control command that sent it, and its first answer
        self._drlc_commands: dict[tuple[t.EUI64, int], str] = {}
        self._drlc_waiting: dict[tuple[t.EUI64, int], asyncio.Future] = {}
        # EUI-64 -> the last Report Event Status the device sent
        self._drlc_last: dict[t.EUI64, drlc.EventStatusReport] = {}
        self.handlers: dict[str, Callable[[Command], Awaitable[None]]] = {
            "network_configure": self._network_configure,
            "permit_join": self._permit_join,
            "remove": self._remove,
            "load_control": self._load_control,
            "device_status_read": self._device_status_read,
            "premise_state": self._premise_state,
        }
        self.live_metering = LiveMetering(self.report)
        app.add_listener(self)
        # What the premise's devices pull (price, scheduled events, last message), and the SE answers on every radio.
        self.premise_state = PremiseState()
        self.smart_energy = SmartEnergyResponder(
            app=app, premise_state=self.premise_state, on_event_status=self.drlc_event_status, name=identity.name
        )

    # --- reports ------------------------------------------------------------------------

    def report(self, event: str, command_id: str | None, detail: dict[str, Any] | None = None) -> None:
        signed = report_build(
            identity=self.identity,
            event=event,
            command_id=command_id,
            detail=detail or {},
            seq=self.sequence.next(),
            head_end_box_public_hex=self.head_end_box_public_hex,
        )
        if self._reports is not None:
            self._reports.submit(signed)
            return
        future = self._report_thread.submit(self._send_report, signed)
        future.add_done_callback(lambda f: f.exception() and logger.error("report %s could not be sent: %s", event, f.exception()))

    # --- the command loop ------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        self.report("online", None, self._heartbeat_detail())
        for device in list(self.app.devices.values()):  # meters that joined before a restart report their demand again
            if device.nwk != 0x0000 and device.is_initialized:
                self._spawn(self.live_metering.watch(device))
        last_beat = time.monotonic()
        try:
            while not stop.is_set():
                message = await loop.run_in_executor(self._queue_thread, self.consumer.get, broker.COMMAND_POLL_SECONDS)
                if time.monotonic() - last_beat > HEARTBEAT_SECONDS:
                    self.report("online", None, self._heartbeat_detail())
                    last_beat = time.monotonic()
                if message is None:
                    continue
                await self.handle(message.payload)
                await loop.run_in_executor(self._queue_thread, message.ack)
        finally:
            await loop.run_in_executor(self._queue_thread, self.consumer.close)
            if self._owns_reports:
                await loop.run_in_executor(None, self._reports.close)

    def _heartbeat_detail(self) -> dict[str, Any]:
        return {"radio": self.radio_type, "se_frames_rejected": dict(self.smart_energy.rejected)}

    async def handle(self, envelope: Any) -> None:
        command_id = str(envelope.get("command_id")) if isinstance(envelope, dict) else None
        try:
            command = command_open(
                envelope=envelope, head_end_public_hex=self.head_end_public_hex, identity=self.identity, replay_guard=self.replay_guard
            )
        except CommandRejected as exc:
            logger.warning("%s: command %s refused: %s", self.identity.name, command_id, exc)
            self.report("duplicate" if "replay" in str(exc) else "rejected", command_id, {"reason": str(exc)})
            return
        handler = self.handlers.get(command.type)
        if handler is None:
            self.report("rejected", command.command_id, {"reason": f"unknown command type {command.type!r}"})
            return
        logger.info("%s: %s command %s", self.identity.name, command.type, command.command_id)
        try:
            await handler(command)
        except Exception as exc:  # the radio failed: say so, keep serving other commands
            logger.exception("%s: %s command %s failed", self.identity.name, command.type, command.command_id)
            self.report(
                "failed", command.command_id, {"reason": "radio_error", "message": f"The gateway's radio failed: {type(exc).__name__}"}
            )

    # --- handlers, one per command type ------------------------------------------------------

    async def _network_configure(self, command: Command) -> None:
        body = command.body
        current = self.app.state.network_info
        network_info = current.replace(
            pan_id=t.PanId(body["pan_id"]),
            extended_pan_id=t.ExtendedPanId.convert(body["extended_pan_id"]),
            channel=body["channel"],
            channel_mask=t.Channels.from_channel_list([body["channel"]]),
            network_key=zigpy.state.Key(key=t.KeyData(command.secret), tx_counter=0, rx_counter=0, seq=0),
        )
        await self.app.write_network_info(network_info=network_info, node_info=self.app.state.node_info)
        await self.app.load_network_info()
        self.report("configured", command.command_id, {"pan_id": body["pan_id"], "channel": body["channel"]})

    async def _permit_join(self, command: Command) -> None:
        refusal = join_refusal(self.radio_type, self.app)
        if refusal is not None:  # nothing reaches the radio: it would admit other devices too
            logger.warning("%s: permit_join command %s refused: %s", self.identity.name, command.command_id, refusal)
            self.report("failed", command.command_id, {"reason": "radio_cannot_restrict_joins", "message": refusal})
            return
        ieee = t.EUI64.convert(command.body["eui64"])
        seconds = int(command.body.get("permit_seconds", 60))
        self._waiting[ieee] = command.command_id
        self.report("permitted", command.command_id, {"eui64": str(ieee)})
        self._spawn(self.app.permit_with_link_key(node=ieee, link_key=t.KeyData(command.secret), time_s=seconds))
        self._spawn(self._join_deadline(ieee, command.command_id, seconds))

    async def _join_deadline(self, ieee: t.EUI64, command_id: str, seconds: int) -> None:
        await asyncio.sleep(seconds)
        if self._waiting.get(ieee) == command_id:
            del self._waiting[ieee]
            self.report("failed", command_id, {"reason": "timed_out", "eui64": str(ieee)})

    async def _remove(self, command: Command) -> None:
        ieee = t.EUI64.convert(command.body["eui64"])
        self._waiting.pop(ieee, None)
        self.live_metering.forget(ieee)
        removed = False
        if ieee in self.app.devices:
            try:
                await asyncio.wait_for(self.app.remove(ieee), timeout=15)
                removed = True  # zigpy announced device_removed: its database forgets the device
            except Exception:  # a device that is off still leaves the coordinator's tables
                logger.info("%s: %s did not acknowledge its removal", self.identity.name, ieee)
        device = self.app.devices.get(ieee)
        if device is not None:
            await self.app.force_remove(device)
            self.app.devices.pop(ieee, None)
            if not removed:
                self.app.listener_event("device_removed", device)
        self.report("removed", command.command_id, {"eui64": str(ieee)})

    def _joined_device(self, command: Command) -> Any | None:
        device = self.app.devices.get(t.EUI64.convert(command.body["eui64"]))
        if device is None or not device.is_initialized:
            self.report("failed", command.command_id, {"reason": "not_joined", "message": "The device is not on this gateway's network."})
            return None
        return device

    async def _load_control(self, command: Command) -> None:
        """Send an SE Load Control Event and report the device's first Report Event Status."""
        try:
            event = drlc.LoadControlEvent.from_dict(command.body["event"])
        except (drlc.FrameError, KeyError) as exc:
            self.report("rejected", command.command_id, {"reason": f"invalid load control event: {exc}"})
            return
        refusal = drlc.event_timing_refusal(event, start_now=bool(command.body.get("start_now")), now=drlc.utc_now())
        if refusal is not None:
            logger.warning("%s: load_control command %s refused: %s", self.identity.name, command.command_id, refusal)
            self.report("failed", command.command_id, {"reason": refusal, "message": drlc.TIMING_REFUSALS[refusal]})
            return
        device = self._joined_device(command)
        if device is None:
            return
        endpoint_id = next((e for e, ep in device.endpoints.items() if e != 0 and drlc.CLUSTER_ID in ep.out_clusters), None)
        if endpoint_id is None:
            self.report(
                "failed", command.command_id, {"reason": "no_load_control", "message": "The device does not take load control events."}
            )
            return
        key = (device.ieee, event.issuer_event_id)
        future = asyncio.get_running_loop().create_future()
        self._drlc_waiting[key] = future
        self._drlc_commands[key] = command.command_id
        tsn = self.app.get_sequence()
        try:
            await device.request(
                profile=SE_PROFILE,
                cluster=drlc.CLUSTER_ID,
                src_ep=1,
                dst_ep=endpoint_id,
                sequence=tsn,
                data=drlc.event_encode(event, tsn=tsn),
                expect_reply=False,
            )
            answer = await asyncio.wait_for(future, DEVICE_ANSWER_SECONDS)
        except (TimeoutError, zigpy.exceptions.DeliveryError):
            self._drlc_commands.pop(key, None)
            self.report(
                "failed", command.command_id, {"reason": "no_answer", "message": "The device did not answer the load control event."}
            )
            return
        finally:
            self._drlc_waiting.pop(key, None)
        self.report("load_control_reported", command.command_id, {"eui64": str(device.ieee), **answer.as_dict()})

    def drlc_event_status(self, device: Any, report: drlc.EventStatusReport) -> None:
        """A device's Report Event Status: the answer a load_control waits for, or a later step (started, completed)."""
        self._drlc_last[device.ieee] = report
        key = (device.ieee, report.issuer_event_id)
        future = self._drlc_waiting.get(key)
        if future is not None and not future.done():
            future.set_result(report)
        elif (command_id := self._drlc_commands.get(key)) is not None:
            self.report("drlc_status", command_id, {"eui64": str(device.ieee), **report.as_dict()})
        if report.status_name not in drlc.ONGOING_STATUSES:
            self._drlc_commands.pop(key, None)  # nothing more will come for this event

    async def _device_status_read(self, command: Command) -> None:
        """Read the device's Basic (and, if it has them, Metering) attributes over the air, with its last load-control status."""
        device = self._joined_device(command)
        if device is None:
            return
        basic = next(
            (ep.in_clusters[BASIC_CLUSTER] for e, ep in device.endpoints.items() if e != 0 and BASIC_CLUSTER in ep.in_clusters), None
        )
        if basic is None:
            self.report("failed", command.command_id, {"reason": "no_answer", "message": "The device has no Basic cluster to read."})
            return
        try:
            values, _failed = await asyncio.wait_for(
                basic.read_attributes(["manufacturer", "model"], allow_cache=False), DEVICE_ANSWER_SECONDS
            )
        except (TimeoutError, zigpy.exceptions.DeliveryError):
            self.report("failed", command.command_id, {"reason": "no_answer", "message": "The device did not answer the status read."})
            return
        metering = await self._read_metering(device)
        last = self._drlc_last.get(device.ieee)
        self.report(
            "status_read",
            command.command_id,
            {
                "eui64": str(device.ieee),
                "reachable": True,
                "manufacturer": str(values.get("manufacturer", "")),
                "model": str(values.get("model", "")),
                "lqi": device.lqi,
                "rssi": device.rssi,
                "load_control": last.as_dict() if last else None,
                "load_control_active": bool(last and last.status_name == "started"),
                "metering": metering,
            },
        )

    async def _read_metering(self, device: Any) -> dict[str, int] | None:
        """The device's Metering attributes, when it serves that cluster; None otherwise or when it does not answer."""
        metering = next(
            (ep.in_clusters[METERING_CLUSTER] for e, ep in device.endpoints.items() if e != 0 and METERING_CLUSTER in ep.in_clusters),
            None,
        )
        if metering is None:
            return None
        try:
            values, _failed = await asyncio.wait_for(
                metering.read_attributes(list(METERING_ATTRIBUTES), allow_cache=False), DEVICE_ANSWER_SECONDS
            )
        except (TimeoutError, zigpy.exceptions.DeliveryError):
            logger.info("%s: %s did not answer the Metering read", self.identity.name, device.ieee)
            return None
        return {name: int(values[name]) for name in METERING_ATTRIBUTES if name in values}

    async def _premise_state(self, command: Command) -> None:
        """Set what the premise's devices pull: the current price, the scheduled events, the last message."""
        body = command.body
        try:
            self.premise_state.update(price=body.get("price"), events=body.get("events"), message=body.get("message"))
        except PremiseStateError as exc:
            self.report("rejected", command.command_id, {"reason": f"invalid premise state: {exc}"})
            return
        state = self.premise_state
        self.report(
            "premise_state_set",
            command.command_id,
            {"price": state.price is not None, "events": len(state.events), "message": state.message is not None},
        )

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- zigpy events -------------------------------------------------------------------------

    def device_joined(self, device: Any) -> None:
        command_id = self._waiting.get(device.ieee)
        if command_id:
            self.report("joined", command_id, {"eui64": str(device.ieee), "nwk": int(device.nwk)})

    def device_initialized(self, device: Any) -> None:
        command_id = self._waiting.pop(device.ieee, None)
        if not command_id:
            return
        endpoints = [
            {
                "id": endpoint_id,
                "profile": int(endpoint.profile_id or 0),
                "device_type": int(endpoint.device_type or 0),
                "in_clusters": sorted(int(c) for c in endpoint.in_clusters),
                "out_clusters": sorted(int(c) for c in endpoint.out_clusters),
            }
            for endpoint_id, endpoint in device.endpoints.items()
            if endpoint_id != 0
        ]
        self.report(
            "interviewed",
            command_id,
            {
                "eui64": str(device.ieee),
                "nwk": int(device.nwk),
                "manufacturer": device.manufacturer,
                "model": device.model,
                "endpoints": endpoints,
                "pan_id": int(self.app.state.network_info.pan_id),
            },
        )
        self._spawn(self.live_metering.watch(device))

    def device_init_failure(self, device: Any) -> None:
        command_id = self._waiting.pop(device.ieee, None)
        if command_id:
            self.report(
                "failed", command_id, {"reason": "interview_failed", "message": "The device joined but did not answer its interview."}
            )
