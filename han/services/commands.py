"""Recording a coordinator command: one way in for every command type (``han.commands``).

The caller audits the request and then enqueues the command (``han.services.relay.job_enqueue``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from amiportal.compiled_queries import CompiledInsert
from amiportal.leases import lease_handoff_deadline
from han.commands import CommandType, Target, UnknownCommandType, command_type
from han.commands.targets import DEVICE_CLASSES, network_devices_of_class
from han.models import CoordinatorCommand, Device, HanNetwork, WorkOrder
from han.services.sweeper import relay_queue

# Every command's row (one a device on the installer's path): its INSERT compiled once per process.
_COMMAND_INSERT = CompiledInsert(CoordinatorCommand)


def coordinator_command_create(
    *,
    kind: str,
    network: HanNetwork,
    device: Device | None = None,
    device_class: str | None = None,
    parameters: dict[str, Any] | None = None,
    actor=None,
    work_order: WorkOrder | None = None,
) -> CoordinatorCommand:
    """A command for the premise's coordinator, to the premise itself, one ``device``, or every verified device of a ``device_class``.

    Refused with a ``ValidationError``, before anything is written or sent: a kind no
    command type registers, a target its type does not take, an unknown class, or a
    class with no verified device at the premise.
    """
    if device is not None and device_class is not None:
        raise ValidationError("A command targets one device or a class of devices, not both.")
    target = Target.DEVICE if device is not None else Target.DEVICE_CLASS if device_class is not None else Target.PREMISE
    kind_type = command_type_checked(kind=kind, target=target)
    if device is not None and device.network_id != network.pk:
        raise ValidationError("The device is not on this premise's network.")
    parameters = dict(parameters or {})
    if target == Target.DEVICE_CLASS:
        device_class_checked(device_class)
        devices = network_devices_of_class(network=network, device_class=device_class)
        if not devices:
            raise ValidationError(f"No {DEVICE_CLASSES[device_class][0]} on this home's network.", code="no_device_in_class")
        parameters = class_parameters(parameters, device_class=device_class, devices=devices)
    command = CoordinatorCommand(
        kind=kind_type.kind,
        network=network,
        coordinator=network.coordinator,
        device=device,
        work_order=work_order,
        requested_by=actor,
        parameters=parameters,
        lease_expires_at=lease_handoff_deadline(relay_queue()),  # the hand-off deadline, written with the row
    )
    _COMMAND_INSERT.save(command)  # as CoordinatorCommand.objects.create(...)
    return command


def command_type_checked(*, kind: str, target: Target) -> CommandType:
    """The registered type of ``kind`` if it takes ``target``; a ``ValidationError`` otherwise."""
    try:
        kind_type = command_type(kind)
    except UnknownCommandType as exc:
        raise ValidationError(str(exc), code="unknown_command_type") from None
    if target not in kind_type.targets:
        accepted = ", ".join(each.value for each in kind_type.targets)
        raise ValidationError(f"A {kind_type.label.lower()} command targets {accepted}, not {target.value}.", code="wrong_target")
    return kind_type


def device_class_checked(device_class: str | None) -> str:
    if device_class not in DEVICE_CLASSES:
        raise ValidationError(f"Unknown device class {str(device_class)[:40]!r}.", code="unknown_device_class")
    return device_class


def class_parameters(parameters: dict[str, Any], *, device_class: str, devices: list[Device]) -> dict[str, Any]:
    """A class command's parameters: the class and the devices it is sent to, named now (``han.commands.fan_out``)."""
    return {**parameters, "device_class": device_class, "devices": [{"uid": str(each.uid), "eui64": each.eui64} for each in devices]}
