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

What each command type does lives with the type (``han.commands``): the service
verifies a command and hands it to the handler registered for its type.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import zigpy.types as t

from han import drlc
from han.commands import CoordinatorHandler, coordinator_handlers
from han.coordinator.consumer import CommandConsumer
from han.coordinator.durable import CoordinatorState
from han.coordinator.live_metering import LiveMetering
from han.coordinator.premise_state import PremiseState
from han.coordinator.reports import ReportSender
from han.coordinator.smart_energy import SmartEnergyResponder
from han.protocol import CommandRejected, CoordinatorIdentity, ReplayGuard, ReportSequence, command_open, report_build

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30.0


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
        radio_type: str = "simulated",
        state: CoordinatorState | None = None,
    ) -> None:
        """Reports go through ``reports`` (a process's shared, batching sender; a private one if None),
        or, when ``send_report`` is given, to it one by one on a thread (tests, the bench's baseline).
        ``state`` (``han_coordinator`` gives one) is the durable replay guard, report sequence and permit
        windows; without it, ``replay_guard`` and ``sequence`` (in memory when None).
        ``consumer`` is the process's shared ``CommandConsumer`` (this service attaches itself to it);
        None makes ``run`` consume this coordinator's queue on its own.
        Commands are verified with ``head_end_public_hex``; every report's detail is sealed to
        ``head_end_box_public_hex``, so the broker never reads a metering value or an event status.
        ``radio_type`` names the radio (``han.coordinator.radios``): the heartbeat tells the head-end,
        and a radio whose permit cannot admit only the keyed device refuses permit commands."""
        self.identity = identity
        self.radio_type = radio_type
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
        self._background: set[asyncio.Task] = set()
        self.live_metering = LiveMetering(self.report)
        # Wire type -> its command type's coordinator handler (``han.commands.registry``).
        self.handlers: dict[str, CoordinatorHandler] = coordinator_handlers(self)
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
        """Serve until ``stop``: report online (and heartbeats), handle the inbox, report offline on the way out."""
        self._loop = asyncio.get_running_loop()
        for command_id, detail in self.state.permits_left_open(now=time.time()) if self.state else ():
            logger.warning("%s: permit_join %s was left open by the previous run: %s", self.identity.name, command_id, detail["reason"])
            self.report("failed", command_id, detail)  # the head-end fails the device, and Retry sends a new permit
        self.report("online", None, self._heartbeat_detail())
        for device in list(self.app.devices.values()):  # meters that joined before a restart report their demand again
            if device.nwk != 0x0000 and device.is_initialized:
                self._spawn(self.live_metering.watch(device))
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
                        self.report("online", None, self._heartbeat_detail())
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
        if handler is None:  # signed by the head-end, but no module here registers its type: refused, nothing done
            logger.warning("%s: command %s refused: unknown command type %r", self.identity.name, command.command_id, command.type)
            self.report("rejected", command.command_id, {"reason": f"unknown command type {command.type!r}"})
            return
        logger.info("%s: %s command %s", self.identity.name, command.type, command.command_id)
        try:
            await handler.handle(command)
        except Exception as exc:  # the radio failed: say so, keep serving other commands
            logger.exception("%s: %s command %s failed", self.identity.name, command.type, command.command_id)
            self.report(
                "failed", command.command_id, {"reason": "radio_error", "message": f"The gateway's radio failed: {type(exc).__name__}"}
            )

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @property
    def _drlc_commands(self) -> dict[tuple[t.EUI64, int], str]:
        """The load-control events still followed, by (EUI-64, issuer event id) (the ``load_control`` handler's)."""
        return self.handlers["load_control"].commands

    def drlc_event_status(self, device: Any, report: drlc.EventStatusReport) -> None:
        """A device's Report Event Status, decoded by the Smart Energy responder: the load-control handler's to follow."""
        self.handlers["load_control"].drlc_event_status(device, report)
