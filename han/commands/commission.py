"""``commission`` (wire type ``permit_join``): let one device join with its install-code link key, then verify it.

The head-end relays the device's escrowed link key, sealed to the coordinator; the
coordinator permits that one device, and reports it ``permitted``, ``joined`` and
``interviewed``. Attachment is decided from the coordinator's interview, not from
anything typed in a form (BF-HAN-1).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import zigpy.types as t

from han.commands.base import CommandType, CoordinatorHandler, Target
from han.commands.registry import register
from han.coordinator.durable import PermitWindows
from han.coordinator.radios import join_refusal

if TYPE_CHECKING:
    from han.models import CoordinatorCommand
    from han.protocol import Command
    from han.services.relay import ReportContext

logger = logging.getLogger(__name__)

# None: the head-end's AMI_HAN_PERMIT_SECONDS (60 unless configured); a test may pin it here.
PERMIT_SECONDS: int | None = None


class PermitJoinHandler(CoordinatorHandler):
    """Permits one device with its link key for ``permit_seconds``; reports its join and interview (zigpy's events)."""

    wire_type = "permit_join"
    listens = True

    def __init__(self, service: Any) -> None:
        super().__init__(service)
        # EUI-64 -> command id of the permit_join waiting for that device, kept in the coordinator's durable state too
        self.waiting: PermitWindows = PermitWindows(getattr(service, "state", None))

    async def handle(self, command: Command) -> None:
        refusal = join_refusal(self.service.radio_type, self.service.app)
        if refusal is not None:  # nothing reaches the radio: it would admit other devices too
            logger.warning("%s: permit_join command %s refused: %s", self.name, command.command_id, refusal)
            self.service.report("failed", command.command_id, {"reason": "radio_cannot_restrict_joins", "message": refusal})
            return
        ieee = t.EUI64.convert(command.body["eui64"])
        seconds = int(command.body.get("permit_seconds", 60))
        self.waiting.open(ieee, command.command_id, deadline=time.time() + seconds)
        self.service.report("permitted", command.command_id, {"eui64": str(ieee)})
        self.service._spawn(self.service.app.permit_with_link_key(node=ieee, link_key=t.KeyData(command.secret), time_s=seconds))
        self.service._spawn(self._join_deadline(ieee, command.command_id, seconds))

    async def _join_deadline(self, ieee: t.EUI64, command_id: str, seconds: int) -> None:
        await asyncio.sleep(seconds)
        if self.waiting.get(ieee) == command_id:
            del self.waiting[ieee]
            self.service.report("failed", command_id, {"reason": "timed_out", "eui64": str(ieee)})

    def forget_device(self, ieee: t.EUI64) -> None:
        self.waiting.pop(ieee, None)

    # --- zigpy events ---------------------------------------------------------------------------

    def device_joined(self, device: Any) -> None:
        command_id = self.waiting.get(device.ieee)
        if command_id:
            self.service.report("joined", command_id, {"eui64": str(device.ieee), "nwk": int(device.nwk)})

    def device_initialized(self, device: Any) -> None:
        command_id = self.waiting.pop(device.ieee, None)
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
        self.service.report(
            "interviewed",
            command_id,
            {
                "eui64": str(device.ieee),
                "nwk": int(device.nwk),
                "manufacturer": device.manufacturer,
                "model": device.model,
                "endpoints": endpoints,
                "pan_id": int(self.service.app.state.network_info.pan_id),
            },
        )
        self.service._spawn(self.service.live_metering.watch(device))  # a meter reports its demand from now on

    def device_init_failure(self, device: Any) -> None:
        command_id = self.waiting.pop(device.ieee, None)
        if command_id:
            self.service.report(
                "failed", command_id, {"reason": "interview_failed", "message": "The device joined but did not answer its interview."}
            )


@register
class Commission(CommandType):
    kind = "commission"
    label = "Commission"
    wire_type = "permit_join"
    targets = (Target.DEVICE,)
    events = ("permitted", "joined", "interviewed")
    coordinator_handler = PermitJoinHandler
    commissions_device = True
    failure_messages = {
        "timed_out": (
            "The device did not join in time. Check that it is powered, in range and in pairing mode,"
            " and that the install code is this device's; then retry."
        ),
        "not_on_this_network": "The device answered on a network that is not this premise's.",
    }
    restore = False  # a restored key (a replaced coordinator) rather than a first join

    def build(self, command: CoordinatorCommand) -> tuple[bytes | None, dict[str, Any]]:
        from django.conf import settings

        from han.services.keys import link_key_open

        device = command.device
        return link_key_open(device=device), {
            "eui64": device.eui64,
            "device_type": device.device_type,
            "permit_seconds": PERMIT_SECONDS or settings.AMI_HAN_PERMIT_SECONDS,
            "restore": self.restore,
        }

    def report_event(self, ctx: ReportContext) -> str:
        from han.models import DeviceState

        if ctx.event == "permitted":
            ctx.advance(DeviceState.PERMITTED)
            ctx.permit_window_opened()
        elif ctx.event == "joined":
            ctx.advance(DeviceState.JOINED, last_seen_at=ctx.now)
        elif ctx.event == "interviewed":
            return self._interviewed(ctx)
        return ctx.event

    def _interviewed(self, ctx: ReportContext) -> str:
        """Attachment is decided from the coordinator's interview, not from anything typed in a form."""
        from han.models import DeviceState

        command, detail, coordinator = ctx.command, ctx.detail, ctx.coordinator
        device = command.device
        reported_ieee = str(detail.get("eui64", "")).lower()
        interview = {
            "eui64": reported_ieee,
            "nwk": detail.get("nwk"),
            "endpoints": detail.get("endpoints", [])[:16],
            "coordinator": coordinator.name,
            "pan_id": detail.get("pan_id"),
        }
        ctx.advance(
            DeviceState.INTERVIEWED,
            manufacturer=str(detail.get("manufacturer") or "")[:100],
            model=str(detail.get("model") or "")[:100],
            interview=interview,
            last_seen_at=ctx.now,
        )
        serves_premise = command.network.coordinator_id == coordinator.pk
        if reported_ieee != device.eui64 or not serves_premise or detail.get("pan_id") != command.network.pan_id:
            ctx.fail("not_on_this_network", self.failure_messages["not_on_this_network"])
            return "not verified"
        ctx.done_later()
        # Audited only if the move to verified happens when the batch is flushed; a repeated report
        # (a redelivered task) finds the device verified already, and its entry is dropped.
        audit_index = ctx.audit(
            action="han.device_verified",
            actor_label=f"coordinator:{coordinator.name}",
            target=f"device:{device.uid}",
            customer_account_id=ctx.account_id(),
            payload={
                "eui64": device.eui64,
                "premise_id": command.network.premise_id,
                "command_id": str(command.command_id),
                "model": str(detail.get("model") or "")[:100],
            },
        )
        if not ctx.advance(DeviceState.VERIFIED, audit_index=audit_index, failure_reason=""):
            ctx.drop_audit(audit_index)  # the same report twice in one batch
        return "verified"
