"""One coordinator's loop: take signed commands off its queue, verify, act through zigpy, report back.

Commands come from the process's one ``CommandConsumer`` (``han/coordinator/consumer.py``)
into this coordinator's inbox, and are handled one at a time, in queue order. They are
acknowledged on the broker only after they were handled, so a coordinator that stops
mid-command gets it again; its replay guard makes the second copy a no-op. The replay
guard, the report numbers and the open permit windows live in the coordinator's durable
state (``han/coordinator/durable.py``): a restart reports the windows it can no longer
serve (it keeps no link key) as failed, so the head-end can send them again. Long radio
operations (a permit window, which zigpy-znp's ``permit_with_link_key`` sleeps through)
run as background tasks, never inline in the command loop.
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

from han import drlc
from han.coordinator.consumer import CommandConsumer
from han.coordinator.durable import CoordinatorState, PermitWindows
from han.coordinator.reports import ReportSender
from han.protocol import Command, CommandRejected, CoordinatorIdentity, ReplayGuard, ReportSequence, command_open, report_build

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30.0
DEVICE_ANSWER_SECONDS = 10.0
SE_PROFILE = 0x0109
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
        replay_guard: ReplayGuard | None = None,
        consumer: CommandConsumer | Any = None,
        send_report: Callable[[dict[str, Any]], None] | None = None,
        reports: ReportSender | None = None,
        sequence: ReportSequence | None = None,
        state: CoordinatorState | None = None,
    ) -> None:
        """Reports go through ``reports`` (a process's shared, batching sender; a private one if None),
        or, when ``send_report`` is given, to it one by one on a thread (tests, the bench's baseline).
        ``state`` (``han_coordinator`` gives one) is the durable replay guard, report sequence and permit
        windows; without it, ``replay_guard`` and ``sequence`` (in memory when None).
        ``consumer`` is the process's shared ``CommandConsumer`` (this service attaches itself to it);
        None makes ``run`` consume this coordinator's queue on its own.
        Commands are verified with ``head_end_public_hex``; every report's detail is sealed to
        ``head_end_box_public_hex``, so the broker never reads a metering value or an event status."""
        self.identity = identity
        self.state = state
        self.sequence = state or sequence or ReportSequence()
        self.head_end_public_hex = head_end_public_hex
        self.head_end_box_public_hex = head_end_box_public_hex
        self.app = app
        self.replay_guard = state or replay_guard or ReplayGuard()
        self.consumer = consumer
        if isinstance(consumer, CommandConsumer):
            consumer.attach(identity.name, self.deliver)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inbox: asyncio.Queue[tuple[Any, Callable[[], None]]] = asyncio.Queue()
        self._send_report = send_report
        self._owns_reports = send_report is None and reports is None
        self._reports = reports or (ReportSender() if send_report is None else None)
        self._report_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"report-{identity.name}") if send_report else None
        # EUI-64 -> command id of the permit_join waiting for that device (kept in the durable state too)
        self._waiting: PermitWindows = PermitWindows(state)
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
        }
        app.add_listener(self)

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
        """Serve until ``stop``: report online (and heartbeats), handle the inbox, report offline on the way out."""
        self._loop = asyncio.get_running_loop()
        for command_id, detail in self.state.permits_left_open(now=time.time()) if self.state else ():
            logger.warning("%s: permit_join %s was left open by the previous run: %s", self.identity.name, command_id, detail["reason"])
            self.report("failed", command_id, detail)  # the head-end fails the device, and Retry sends a new permit
        self.report("online", None, {"radio": type(self.app).__name__})
        own_consumer = None
        if self.consumer is None:
            own_consumer = CommandConsumer()
            own_consumer.attach(self.identity.name, self.deliver)
            own_consumer.start()
        handling = asyncio.create_task(self._handle_inbox())
        try:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    if not self._broker_away():  # a heartbeat sent late is no proof of life: skip it
                        self.report("online", None, {})
        finally:
            if own_consumer is not None:
                await self._loop.run_in_executor(None, own_consumer.stop)
            handling.cancel()  # a command cut short is not acknowledged: the broker delivers it again
            self.report("offline", None, {"reason": "stopped"})
            if self._owns_reports:
                await self._loop.run_in_executor(None, self._reports.close)

    def deliver(self, payload: Any, ack: Callable[[], None]) -> None:
        """A command from the consumer's thread; ``ack`` once it was handled."""
        self._loop.call_soon_threadsafe(self._inbox.put_nowait, (payload, ack))

    async def _handle_inbox(self) -> None:
        while True:
            payload, ack = await self._inbox.get()
            try:
                await self.handle(payload)
            except Exception:  # never stop serving the queue over one command
                logger.exception("%s: a command could not be handled", self.identity.name)
            ack()

    def _broker_away(self) -> bool:
        consumer_away = isinstance(self.consumer, CommandConsumer) and self.consumer.outage.ongoing
        return consumer_away or (self._reports is not None and self._reports.outage.ongoing)

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
        ieee = t.EUI64.convert(command.body["eui64"])
        seconds = int(command.body.get("permit_seconds", 60))
        self._waiting.open(ieee, command.command_id, deadline=time.time() + seconds)
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

    def device_init_failure(self, device: Any) -> None:
        command_id = self._waiting.pop(device.ieee, None)
        if command_id:
            self.report(
                "failed", command_id, {"reason": "interview_failed", "message": "The device joined but did not answer its interview."}
            )
