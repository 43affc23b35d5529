"""``device_status_read``: read a joined device's Basic (and Metering) attributes over the air, with its last load-control status."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import zigpy.exceptions

from han.commands.base import CommandType, CoordinatorHandler, Target
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
        """Read the device's Basic (and, if it has them, Metering) attributes over the air, with its last load-control status."""
        device = self.joined_device(command)
        if device is None:
            return
        basic = next(
            (ep.in_clusters[BASIC_CLUSTER] for e, ep in device.endpoints.items() if e != 0 and BASIC_CLUSTER in ep.in_clusters), None
        )
        if basic is None:
            self.service.report(
                "failed", command.command_id, {"reason": "no_answer", "message": "The device has no Basic cluster to read."}
            )
            return
        try:
            values, _failed = await asyncio.wait_for(
                basic.read_attributes(["manufacturer", "model"], allow_cache=False), DEVICE_ANSWER_SECONDS
            )
        except (TimeoutError, zigpy.exceptions.DeliveryError):
            self.service.report(
                "failed", command.command_id, {"reason": "no_answer", "message": "The device did not answer the status read."}
            )
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
    targets = (Target.DEVICE,)
    events = ("status_read",)
    coordinator_handler = DeviceStatusReadHandler

    def build(self, command: CoordinatorCommand) -> tuple[bytes | None, dict[str, Any]]:
        return None, {**command.parameters, "eui64": command.device.eui64}

    def report_event(self, ctx: ReportContext) -> str:
        from han.models import JobState

        if not ctx.command.device_id:
            return "ignored"
        if ctx.event != "status_read":
            return super().report_event(ctx)
        detail = ctx.detail
        result = {
            key: detail.get(key) for key in ("reachable", "manufacturer", "model", "lqi", "rssi", "load_control", "load_control_active")
        }
        result["metering"] = metering_result(detail.get("metering"))
        result["read_at"] = ctx.now.isoformat()
        ctx.update(state=JobState.DONE, detail="", result=result)
        ctx.device_seen(pk=ctx.command.device_id)
        ctx.audit(
            action="han.device_status_read",
            actor_label=f"coordinator:{ctx.coordinator.name}",
            target=f"device:{ctx.command.device.uid}",
            customer_account_id=ctx.account_id(),
            payload={"command_id": str(ctx.command.command_id), "outcome": "read"},
        )
        return "read"
