"""``premise_state``: what the premise's devices pull from its coordinator (the current price, scheduled events, last message).

Addressed to the premise's coordinator itself (``Target.PREMISE``): the coordinator keeps the
state (``han.coordinator.premise_state.PremiseState``) and answers the devices'
GetCurrentPrice, GetScheduledEvents and GetLastMessage from it, on every radio
(``han.coordinator.smart_energy``). The head-end validates with the coordinator's own rules
before anything is signed (``han.services.premise_state``); the coordinator checks again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from han.commands.base import CommandType, CoordinatorHandler, Target
from han.commands.registry import register
from han.coordinator.premise_state import PremiseStateError

if TYPE_CHECKING:
    from han.models import CoordinatorCommand
    from han.protocol import Command
    from han.services.relay import ReportContext

PARTS = ("price", "events", "message")


class PremiseStateHandler(CoordinatorHandler):
    wire_type = "premise_state"

    async def handle(self, command: Command) -> None:
        body = command.body
        state = self.service.premise_state
        try:
            state.update(price=body.get("price"), events=body.get("events"), message=body.get("message"))
        except PremiseStateError as exc:
            self.service.report("rejected", command.command_id, {"reason": f"invalid premise state: {exc}"})
            return
        self.service.report(
            "premise_state_set",
            command.command_id,
            {"price": state.price is not None, "events": len(state.events), "message": state.message is not None},
        )


@register
class PremiseStateCommand(CommandType):
    kind = "premise_state"
    label = "Premise price, events and message"
    wire_type = "premise_state"
    targets = (Target.PREMISE,)
    events = ("premise_state_set",)
    coordinator_handler = PremiseStateHandler

    def build(self, command: CoordinatorCommand) -> tuple[bytes | None, dict[str, Any]]:
        return None, {part: (command.parameters or {}).get(part) for part in PARTS}

    def report_event(self, ctx: ReportContext) -> str:
        if ctx.event != "premise_state_set":
            return super().report_event(ctx)
        return ctx.done_and_audit(f"han.{ctx.event}")
