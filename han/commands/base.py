"""What every command type declares: its kind, its wire type, its targets, its events, and its three handlers.

One subclass of ``CommandType`` per kind, in its own module (healthchecks' ``Transport``
shape): the head-end builder (``build``), the report handler (``report``) and the
coordinator handler (``coordinator_handler``, a ``CoordinatorHandler`` subclass that the
coordinator's ``CoordinatorService`` runs). ``han.commands.registry`` maps kinds to them.

Plain Python at import time on purpose: a gateway (``AMI_PROFILE=gateway``) imports
these modules for their coordinator handlers without the head-end's models, so the
head-end halves import ``han.models`` and the services inside their methods.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

import zigpy.types as t

if TYPE_CHECKING:
    from han.models import CoordinatorCommand
    from han.protocol import Command
    from han.services.relay import ReportContext

logger = logging.getLogger(__name__)

# Events any command may be answered with; the head-end handles them the same way for every type.
GENERIC_EVENTS = ("failed", "rejected", "duplicate")


class Target(StrEnum):
    """What a command is addressed to (``CommandType.targets``)."""

    PREMISE = "premise"  # the premise's coordinator itself: its network, or state its devices pull
    DEVICE = "device"  # one device (``CoordinatorCommand.device``)
    DEVICE_CLASS = "device_class"  # every verified device of a class at the premise; the coordinator fans out


class UnknownCommandType(ValueError):
    """A kind no module registered: refused before anything is written or sent."""

    def __init__(self, kind: Any) -> None:
        self.kind = kind
        super().__init__(f"Unknown command type {str(kind)[:40]!r}: nothing was sent.")


class CoordinatorHandler:
    """The coordinator side of one wire type: what ``CoordinatorService`` does with a verified command.

    One instance per service. It reaches the radio through ``service.app`` and reports
    with ``service.report``; a handler that listens to zigpy's events (a join, a frame)
    defines the listener method, and is added as a listener of the application.
    """

    wire_type: ClassVar[str]
    listens: ClassVar[bool] = False

    def __init__(self, service: Any) -> None:
        self.service = service
        if self.listens:
            service.app.add_listener(self)

    @property
    def name(self) -> str:
        return self.service.identity.name

    async def handle(self, command: Command) -> None:
        raise NotImplementedError

    def forget_device(self, ieee: t.EUI64) -> None:
        """The device was removed from this gateway: drop whatever is waiting for it."""

    def joined_device(self, command: Command, eui64: str | None = None, *, report: bool = True) -> Any | None:
        """The zigpy device a command addresses, if it is joined and interviewed; otherwise a ``failed`` report (unless not ``report``)."""
        device = self.service.app.devices.get(t.EUI64.convert(eui64 or command.body["eui64"]))
        if device is None or not device.is_initialized:
            if report:
                self.service.report(
                    "failed", command.command_id, {"reason": "not_joined", "message": "The device is not on this gateway's network."}
                )
            return None
        return device


class CommandType:
    """One kind of coordinator command. Subclasses set the class attributes and implement ``build`` and ``report``."""

    kind: ClassVar[str]  # stored in ``CoordinatorCommand.kind``
    label: ClassVar[str]
    wire_type: ClassVar[str]  # the envelope's ``type``: what the coordinator dispatches on
    targets: ClassVar[tuple[Target, ...]]
    events: ClassVar[tuple[str, ...]]  # the report events its coordinator handler emits, beyond ``GENERIC_EVENTS``
    coordinator_handler: ClassVar[type[CoordinatorHandler]]
    # Failure reasons of this type and what the person who asked is told (the generic ones live in the relay).
    failure_messages: ClassVar[dict[str, str]] = {}
    # The command walks its device along the commissioning path: key relayed when sent, failed when the
    # command fails, and never sent for a device removed meanwhile (its key is gone).
    commissions_device: ClassVar[bool] = False
    # May be sent to a device class at every premise of a grid area (``han.services.areas``): one command per
    # premise. Only a type that targets ``Target.DEVICE_CLASS`` may say so (the registry checks it).
    area_capable: ClassVar[bool] = False

    # --- head-end -----------------------------------------------------------------------------------

    def build(self, command: CoordinatorCommand) -> tuple[bytes | None, dict[str, Any]]:
        """The secret (sealed to the coordinator, never logged) and the body of the command's envelope."""
        raise NotImplementedError

    def report(self, ctx: ReportContext) -> str:
        """Apply one verified report event (other than ``duplicate`` and ``rejected``); return its outcome word."""
        if ctx.event == "failed":
            return self.report_failed(ctx)
        return self.report_event(ctx)

    def report_failed(self, ctx: ReportContext) -> str:
        reason = str(ctx.detail.get("reason", "failed"))
        message = self.failure_messages.get(reason) or str(ctx.detail.get("message", "The gateway reported a failure."))
        ctx.fail(reason, message[:300])
        return "failed"

    def report_event(self, ctx: ReportContext) -> str:
        logger.warning("%s command %s: event %r is not one of its events", self.kind, ctx.command.command_id, ctx.event)
        return "ignored"
