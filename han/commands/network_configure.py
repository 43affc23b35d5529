"""``network_configure``: form the premise's network on its coordinator (PAN ids, channel, network key)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import zigpy.state
import zigpy.types as t

from han.commands.base import CommandType, CoordinatorHandler, Target
from han.commands.registry import register

if TYPE_CHECKING:
    from han.models import CoordinatorCommand
    from han.protocol import Command
    from han.services.relay import ReportContext


class NetworkConfigureHandler(CoordinatorHandler):
    wire_type = "network_configure"

    async def handle(self, command: Command) -> None:
        app = self.service.app
        body = command.body
        current = app.state.network_info
        network_info = current.replace(
            pan_id=t.PanId(body["pan_id"]),
            extended_pan_id=t.ExtendedPanId.convert(body["extended_pan_id"]),
            channel=body["channel"],
            channel_mask=t.Channels.from_channel_list([body["channel"]]),
            network_key=zigpy.state.Key(key=t.KeyData(command.secret), tx_counter=0, rx_counter=0, seq=0),
        )
        await app.write_network_info(network_info=network_info, node_info=app.state.node_info)
        await app.load_network_info()
        self.service.report("configured", command.command_id, {"pan_id": body["pan_id"], "channel": body["channel"]})


@register
class NetworkConfigure(CommandType):
    kind = "network_configure"
    label = "Configure network"
    wire_type = "network_configure"
    targets = (Target.PREMISE,)
    events = ("configured",)
    coordinator_handler = NetworkConfigureHandler

    def build(self, command: CoordinatorCommand) -> tuple[bytes | None, dict[str, Any]]:
        from han.services.keys import network_key_open

        network = command.network
        return network_key_open(network=network), {
            "pan_id": network.pan_id,
            "extended_pan_id": network.extended_pan_id,
            "channel": network.channel,
        }

    def report_event(self, ctx: ReportContext) -> str:
        if ctx.event != "configured":
            return super().report_event(ctx)
        return ctx.done_and_audit(f"han.{ctx.event}")
