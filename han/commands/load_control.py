"""``load_control``: a Smart Energy Load Control Event (SE 1.x D.2) to one device, or to every device of a class at a premise.

The head-end assigns the issuer event id and writes an explicit start in (``han.services.device_control``).
The coordinator sends the event and reports the device's first Report Event Status
(``load_control_reported``), then each later one (``drlc_status``: started, completed ...).

Addressed to a device class (``Target.DEVICE_CLASS``), it is still one command: the
coordinator sends the event to each of the devices the head-end named and reports
per device (each report carries the device's EUI-64); the head-end records every
device's outcome in the command's ``result["devices"]``, and the command is done
once each has answered.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import zigpy.exceptions
import zigpy.types as t

from han import drlc
from han.commands.base import CommandType, CoordinatorHandler, Target
from han.commands.fan_out import class_body, device_outcome_record, each_device, targeted
from han.commands.registry import register

if TYPE_CHECKING:
    from han.models import CoordinatorCommand
    from han.protocol import Command
    from han.services.relay import ReportContext

logger = logging.getLogger(__name__)

SE_PROFILE = 0x0109
DEVICE_ANSWER_SECONDS = 10.0
# Report Event Status values after which the device is following the event.
ACCEPTED_STATUSES = ("received", "started", "completed", "opted_in")


class LoadControlHandler(CoordinatorHandler):
    """Sends the event; hears every Report Event Status the devices send (``drlc_event_status``, from ``SmartEnergyDevice``)."""

    wire_type = "load_control"
    listens = True

    def __init__(self, service: Any) -> None:
        super().__init__(service)
        # (EUI-64, issuer event id) -> the load_control command that sent it, and its first answer
        self.commands: dict[tuple[t.EUI64, int], str] = {}
        self.waiting: dict[tuple[t.EUI64, int], asyncio.Future] = {}
        # EUI-64 -> the last Report Event Status the device sent
        self.last: dict[t.EUI64, drlc.EventStatusReport] = {}

    def last_status(self, ieee: t.EUI64) -> drlc.EventStatusReport | None:
        return self.last.get(ieee)

    async def handle(self, command: Command) -> None:
        """Send an SE Load Control Event and report the device's first Report Event Status (each device's, for a class)."""
        try:
            event = drlc.LoadControlEvent.from_dict(command.body["event"])
        except (drlc.FrameError, KeyError) as exc:
            self.service.report("rejected", command.command_id, {"reason": f"invalid load control event: {exc}"})
            return
        refusal = drlc.event_timing_refusal(event, start_now=bool(command.body.get("start_now")), now=drlc.utc_now())
        if refusal is not None:
            logger.warning("%s: load_control command %s refused: %s", self.name, command.command_id, refusal)
            self.service.report("failed", command.command_id, {"reason": refusal, "message": drlc.TIMING_REFUSALS[refusal]})
            return
        if command.body.get("devices") is None:
            await self._send(command, event, command.body["eui64"], fan_out=False)
        else:
            await each_device(command, lambda eui64: self._send(command, event, eui64, fan_out=True))

    async def _send(self, command: Command, event: drlc.LoadControlEvent, eui64: str, *, fan_out: bool) -> None:
        def failed(reason: str, message: str) -> None:
            self.service.report(
                "failed", command.command_id, {"reason": reason, "message": message, **({"eui64": eui64} if fan_out else {})}
            )

        device = self.joined_device(command, eui64, report=False)
        if device is None:
            failed("not_joined", "The device is not on this gateway's network.")
            return
        endpoint_id = next((e for e, ep in device.endpoints.items() if e != 0 and drlc.CLUSTER_ID in ep.out_clusters), None)
        if endpoint_id is None:
            failed("no_load_control", "The device does not take load control events.")
            return
        key = (device.ieee, event.issuer_event_id)
        future = asyncio.get_running_loop().create_future()
        self.waiting[key] = future
        self.commands[key] = command.command_id
        tsn = self.service.app.get_sequence()
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
            self.commands.pop(key, None)
            failed("no_answer", "The device did not answer the load control event.")
            return
        finally:
            self.waiting.pop(key, None)
        self.service.report("load_control_reported", command.command_id, {"eui64": str(device.ieee), **answer.as_dict()})

    def drlc_event_status(self, device: Any, report: drlc.EventStatusReport) -> None:
        """A device's Report Event Status: the answer a load_control waits for, or a later step (started, completed)."""
        self.last[device.ieee] = report
        key = (device.ieee, report.issuer_event_id)
        future = self.waiting.get(key)
        if future is not None and not future.done():
            future.set_result(report)
        elif (command_id := self.commands.get(key)) is not None:
            self.service.report("drlc_status", command_id, {"eui64": str(device.ieee), **report.as_dict()})
        if report.status_name not in drlc.ONGOING_STATUSES:
            self.commands.pop(key, None)  # nothing more will come for this event


@register
class LoadControl(CommandType):
    kind = "load_control"
    label = "Load control event"
    wire_type = "load_control"
    targets = (Target.DEVICE, Target.DEVICE_CLASS)
    events = ("load_control_reported", "drlc_status")
    coordinator_handler = LoadControlHandler
    failure_messages = dict(drlc.TIMING_REFUSALS)

    def build(self, command: CoordinatorCommand) -> tuple[bytes | None, dict[str, Any]]:
        parameters = command.parameters
        if command.device_id:
            return None, {**parameters, "eui64": command.device.eui64}
        return None, {
            "event": parameters["event"],
            "start_now": parameters.get("start_now", False),
            "devices": class_body(command),
        }

    # --- reports ------------------------------------------------------------------------------

    def report_failed(self, ctx: ReportContext) -> str:
        eui64 = str(ctx.detail.get("eui64", "")).lower()
        if ctx.command.device_id or not eui64:
            return super().report_failed(ctx)  # the command as a whole failed (refused timing, the radio)
        target = targeted(ctx.command, eui64)
        if target is None:
            return "ignored"
        outcome = {"failed": str(ctx.detail.get("reason", "failed"))[:40], "message": str(ctx.detail.get("message", ""))[:200]}
        self._device_outcome(ctx, target, outcome, answered=True)
        return "failed"

    def report_event(self, ctx: ReportContext) -> str:
        if ctx.event not in self.events:
            return super().report_event(ctx)
        detail = ctx.detail
        status = {key: detail.get(key) for key in ("issuer_event_id", "status", "status_name", "status_time", "status_at")}
        if ctx.command.device_id:
            return self._device_reported(ctx, status)
        target = targeted(ctx.command, str(detail.get("eui64", "")).lower())
        if target is None:
            return "ignored"
        previous = (ctx.command.result or {}).get("devices", {}).get(target["eui64"], {})
        self._device_outcome(ctx, target, _with_status(previous, status), answered=ctx.event == "load_control_reported")
        return str(status["status_name"])

    def _device_reported(self, ctx: ReportContext, status: dict[str, Any]) -> str:
        """One device's answer, as its coordinator signed it."""
        from han.models import JobState

        result = _with_status(ctx.command.result or {}, status)
        if ctx.event == "load_control_reported":
            accepted = status["status_name"] in ACCEPTED_STATUSES
            state = JobState.DONE if accepted else JobState.FAILED
            message = "" if accepted else f"The device refused the event ({status['status_name']})."
            ctx.update(state=state, detail=message, result=result)
        else:
            ctx.update(result=result)
        ctx.device_seen(pk=ctx.command.device_id)
        self._audit(ctx, ctx.command.device.uid, str(status["status_name"]))
        return str(status["status_name"])

    def _device_outcome(self, ctx: ReportContext, target: dict[str, str], outcome: dict[str, Any], *, answered: bool) -> None:
        """Record one device's outcome of a command to a device class; the command is done once every device has answered."""
        device_outcome_record(ctx, target, outcome, answered=answered, settle=_settled)
        if not outcome.get("failed"):
            ctx.device_seen(uid=target["uid"])
        self._audit(ctx, target["uid"], str(outcome.get("failed") or outcome.get("event_status")))

    @staticmethod
    def _audit(ctx: ReportContext, device_uid: Any, outcome: str) -> None:
        ctx.audit(
            action="han.load_control_reported",
            actor_label=f"coordinator:{ctx.coordinator.name}",
            target=f"device:{device_uid}",
            customer_account_id=ctx.account_id(),
            payload={"command_id": str(ctx.command.command_id), "outcome": outcome},
        )


def _with_status(result: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    """A device's statuses with this one (one per status code, in the device's order) and the latest's name."""
    statuses = [s for s in result.get("statuses", []) if s.get("status") != status["status"]] + [status]
    statuses.sort(key=lambda s: (s.get("status_time") or 0, s.get("status") or 0))
    return {
        **{k: v for k, v in result.items() if k not in ("statuses", "event_status")},
        "statuses": statuses,
        "event_status": statuses[-1]["status_name"],
    }


def _settled(devices: dict[str, dict[str, Any]], expected: int) -> tuple[str, str]:
    """Every device answered: failed if none followed the event, done otherwise (saying how many did not)."""
    from han.models import JobState

    refused = [eui64 for eui64, each in devices.items() if each.get("failed") or each.get("event_status") not in ACCEPTED_STATUSES]
    if len(refused) >= expected:
        return JobState.FAILED, "No device followed the event."
    return JobState.DONE, f"{len(refused)} of {expected} devices did not follow the event." if refused else ""
