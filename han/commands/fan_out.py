"""One command to a device class (``Target.DEVICE_CLASS``): what every such type shares, on both sides.

The head-end names the devices when the command is recorded (``parameters["devices"]``,
``han.services.commands``); the coordinator runs the type's per-device step for each of
them at once (``each_device``), and every report it sends names its device's EUI-64. The
head-end keeps one outcome per device in ``result["devices"]`` (``device_outcome_record``),
and the type decides, once every device has answered, what the command as a whole came to.

Plain Python at import time, like the command modules: a gateway imports it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from han.models import CoordinatorCommand
    from han.protocol import Command
    from han.services.relay import ReportContext

# Devices -> (state, detail) once all have answered, or None to leave the command's state alone.
Settle = Callable[[dict[str, dict[str, Any]], int], "tuple[str, str] | None"]


def class_body(command: CoordinatorCommand) -> list[str]:
    """The EUI-64s the coordinator is to reach, in the order the head-end named them."""
    return [each["eui64"] for each in command.parameters["devices"]]


async def each_device(command: Command, step: Callable[[str], Awaitable[None]]) -> None:
    """Coordinator side: run ``step`` for every device the command names, concurrently."""
    await asyncio.gather(*(step(str(eui64)) for eui64 in command.body["devices"]))


def targeted(command: CoordinatorCommand, eui64: str) -> dict[str, str] | None:
    """The device of a class command that a report names; None for one it was not sent to."""
    return next((each for each in command.parameters.get("devices", []) if each.get("eui64") == eui64), None)


def device_outcome_record(
    ctx: ReportContext, target: dict[str, str], outcome: dict[str, Any], *, answered: bool, settle: Settle
) -> dict[str, dict[str, Any]]:
    """Record one device's outcome in ``result["devices"]``; once every device has answered, ``settle`` says how the command ended."""
    result = dict(ctx.command.result or {})
    entry = {**outcome, "answered": answered or bool(outcome.get("answered"))}
    devices = {**result.get("devices", {}), target["eui64"]: entry}
    result["devices"] = devices
    fields: dict[str, Any] = {"result": result}
    expected = len(ctx.command.parameters.get("devices", []))
    if answered and sum(1 for each in devices.values() if each.get("answered")) >= expected:
        settled = settle(devices, expected)
        if settled is not None:
            fields.update(state=settled[0], detail=settled[1])
    ctx.update(**fields)
    return devices
