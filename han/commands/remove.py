"""``remove``: take a device off the premise's network (its escrowed key was already shredded at the head-end)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import zigpy.types as t

from han.commands.base import CommandType, CoordinatorHandler, Target
from han.commands.registry import register

if TYPE_CHECKING:
    from han.models import CoordinatorCommand
    from han.protocol import Command
    from han.services.relay import ReportContext

logger = logging.getLogger(__name__)


class RemoveHandler(CoordinatorHandler):
    wire_type = "remove"

    async def handle(self, command: Command) -> None:
        app = self.service.app
        ieee = t.EUI64.convert(command.body["eui64"])
        for handler in self.service.handlers.values():
            handler.forget_device(ieee)  # a permit window still open for it closes on nothing
        self.service.live_metering.forget(ieee)
        removed = False
        if ieee in app.devices:
            try:
                await asyncio.wait_for(app.remove(ieee), timeout=15)
                removed = True  # zigpy announced device_removed: its database forgets the device
            except Exception:  # a device that is off still leaves the coordinator's tables
                logger.info("%s: %s did not acknowledge its removal", self.name, ieee)
        device = app.devices.get(ieee)
        if device is not None:
            await app.force_remove(device)
            app.devices.pop(ieee, None)
            if not removed:
                app.listener_event("device_removed", device)
        self.service.report("removed", command.command_id, {"eui64": str(ieee)})


@register
class Remove(CommandType):
    kind = "remove"
    label = "Remove"
    wire_type = "remove"
    targets = (Target.DEVICE,)
    events = ("removed",)
    coordinator_handler = RemoveHandler

    def build(self, command: CoordinatorCommand) -> tuple[bytes | None, dict[str, Any]]:
        return None, {"eui64": command.device.eui64}

    def report_event(self, ctx: ReportContext) -> str:
        if ctx.event != "removed":
            return super().report_event(ctx)
        return ctx.done_and_audit(f"han.{ctx.event}")
