"""``device_status_read``: read a joined device's Basic (and Metering) attributes over the air, with its last load-control status.

To one device, or to every device of a class at a premise (``Target.DEVICE_CLASS``): one
command, the coordinator reads each device the head-end named (``han.commands.fan_out``)
and reports per device, a ``status_read`` or a ``failed`` naming its EUI-64; the head-end
keeps each device's reading (or ``no_answer``) in ``result["devices"]``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import zigpy.exceptions

from han.commands.base import CommandType, CoordinatorHandler, Target
from han.commands.fan_out import class_body, device_outcome_record, each_device, targeted
from han.commands.registry import register
from han.metering import METERING_ATTRIBUTES, METERING_CLUSTER, metering_result

if TYPE_CHECKING:
    from han.models import CoordinatorCommand
    from han.protocol import Command
    from han.services.relay import ReportContext

logger = logging.getLogger(__name__)

DEVICE_ANSWER_SECONDS = 10.0
BASIC_CLUSTER = 0x0000


class DeviceStatusReadHandler(CoordinatorHandler):
    wire_type = "device_status_read"

    async def handle(self, command: Command) -> None:
        """Read the device (each device, for a class) and report what it said."""
        if command.body.get("devices") is None:
            await self._read(command, command.body["eui64"], fan_out=False)
        else:
            await each_device(command, lambda eui64: self._read(command, eui64, fan_out=True))

    async def _read(self, command: Command, eui64: str, *, fan_out: bool) -> None:
        """Read the device's Basic (and, if it has them, Metering) attributes over the air, with its last load-control status."""

        def failed(reason: str, message: str) -> None:
            self.service.report(
                "failed", command.command_id, {"reason": reason, "message": message, **({"eui64": eui64} if fan_out else {})}
            )

        device = self.joined_device(command, eui64, report=False)
        if device is None:
            failed("not_joined", "The device is not on this gateway's network.")
            return
        basic = next(
            (ep.in_clusters[BASIC_CLUSTER] for e, ep in device.endpoints.items() if e != 0 and BASIC_CLUSTER in ep.in_clusters), None
        )
        if basic is None:
            failed("no_answer", "The device has no Basic cluster to read.")
            return
        try:
            values, _failed = await asyncio.wait_for(
                basic.read_attributes(["manufacturer", "model"], allow_cache=False), DEVICE_ANSWER_SECONDS
            )
        except (TimeoutError, zigpy.exceptions.DeliveryError):
            failed("no_answer", "The device did not answer the status read.")
            return
        metering = await self._read_metering(device)
        load_control = self.service.handlers.get("load_control")
        last = load_control.last_status(device.ieee) if load_control is not None else None
        self.service.report(
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
            logger.info("%s: %s did not answer the Metering read", self.name, device.ieee)
            return None
        return {name: int(values[name]) for name in METERING_ATTRIBUTES if name in values}


@register
class DeviceStatusRead(CommandType):
    kind = "status_read"
    label = "Device status read"
    wire_type = "device_status_read"
    targets = (Target.DEVICE, Target.DEVICE_CLASS)
    area_capable = True  # to a device class at every premise of a grid area (han.services.areas)
    events = ("status_read",)
    coordinator_handler = DeviceStatusReadHandler

    def build(self, command: CoordinatorCommand) -> tuple[bytes | None, dict[str, Any]]:
        if command.device_id:
            return None, {**command.parameters, "eui64": command.device.eui64}
        return None, {"devices": class_body(command)}

    def report_failed(self, ctx: ReportContext) -> str:
        eui64 = str(ctx.detail.get("eui64", "")).lower()
        if ctx.command.device_id or not eui64:
            return super().report_failed(ctx)
        target = targeted(ctx.command, eui64)
        if target is None:
            return "ignored"
        reason = str(ctx.detail.get("reason", "failed"))[:40]
        outcome = {"outcome": "no_answer", "failed": reason, "message": str(ctx.detail.get("message", ""))[:200]}
        device_outcome_record(ctx, target, outcome, answered=True, settle=_settled)
        self._audit(ctx, target["uid"], "no_answer")
        return "no_answer"

    def report_event(self, ctx: ReportContext) -> str:
        from han.models import JobState

        if ctx.event != "status_read":
            return super().report_event(ctx)
        detail = ctx.detail
        result = {
            key: detail.get(key) for key in ("reachable", "manufacturer", "model", "lqi", "rssi", "load_control", "load_control_active")
        }
        result["metering"] = metering_result(detail.get("metering"))
        result["read_at"] = ctx.now.isoformat()
        if ctx.command.device_id:
            ctx.update(state=JobState.DONE, detail="", result=result)
            ctx.device_seen(pk=ctx.command.device_id)
            self._audit(ctx, ctx.command.device.uid, "read")
            return "read"
        target = targeted(ctx.command, str(detail.get("eui64", "")).lower())
        if target is None:
            return "ignored"
        device_outcome_record(ctx, target, {"outcome": "reading", **result}, answered=True, settle=_settled)
        ctx.device_seen(uid=target["uid"])
        self._audit(ctx, target["uid"], "read")
        return "read"

    @staticmethod
    def _audit(ctx: ReportContext, device_uid: Any, outcome: str) -> None:
        ctx.audit(
            action="han.device_status_read",
            actor_label=f"coordinator:{ctx.coordinator.name}",
            target=f"device:{device_uid}",
            customer_account_id=ctx.account_id(),
            payload={"command_id": str(ctx.command.command_id), "outcome": outcome},
        )


def _settled(devices: dict[str, dict[str, Any]], expected: int) -> tuple[str, str]:
    """Every device answered or was given up on: failed if none gave a reading, done otherwise (saying how many did not)."""
    from han.models import JobState

    silent = sum(1 for each in devices.values() if each.get("outcome") != "reading")
    if silent >= expected:
        return JobState.FAILED, "No device answered the status read."
    return JobState.DONE, f"{silent} of {expected} devices did not answer." if silent else ""
