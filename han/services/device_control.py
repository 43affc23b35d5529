"""Commands to joined devices: Smart Energy load-control events and status reads (SO-C13, SO-U4, BF-DR-1).

They ride the same signed command path as commissioning: a ``CoordinatorCommand`` of
their command type (``han.commands.load_control``, ``han.commands.device_status_read``),
relayed by ``han_relay_pending_task`` to the premise's coordinator, which
answers with a signed report (``han.services.relay.report_record``). Whoever asks
(the customer, an operator, a third party under a control consent) is named in the
audit trail; the caller has already decided that they may.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from amiportal.audit.services import audit_append
from han.commands.targets import takes_load_control
from han.drlc import FrameError, LoadControlEvent, utc_now
from han.models import CoordinatorCommand, Device, DeviceState, HanNetwork, JobKind
from han.services.commands import coordinator_command_create
from han.services.relay import _account_id, job_enqueue


def device_takes_load_control(device: Device) -> bool:
    """From the coordinator's interview: a DRLC client cluster on one of the device's endpoints."""
    return takes_load_control(device)


def _locked_verified(device: Device) -> Device:
    device = Device.objects.select_for_update(no_key=True).select_related("network__coordinator", "network__premise").get(pk=device.pk)
    if device.state != DeviceState.VERIFIED:
        raise ValidationError("The device is not on this home's network yet, so it cannot be reached.")
    return device


def _create(*, device: Device, kind: JobKind, actor, parameters: dict[str, Any]) -> CoordinatorCommand:
    return coordinator_command_create(kind=kind, network=device.network, device=device, actor=actor, parameters=parameters)


def _event_checked(job: CoordinatorCommand, event: dict[str, Any]) -> tuple[LoadControlEvent, bool]:
    """The event with the head-end's issuer event id and an explicit start; ``ValidationError`` for a bad one."""
    # Every event carries an explicit start: "now" is written in at issue time (and flagged), so the
    # gateway can refuse one that reaches it too late (``han.drlc.event_timing_refusal``).
    start_now = not event.get("start_time")
    explicit = {**event, "start_time": utc_now() if start_now else event["start_time"]}
    # Unique per head-end, and 32 bits as the field wants.
    try:
        return LoadControlEvent.from_dict({**explicit, "issuer_event_id": job.pk & 0xFFFFFFFF}), start_now
    except FrameError as exc:
        raise ValidationError(f"Not a valid load control event: {exc}.") from None


@transaction.atomic
def device_load_control_request(
    *,
    device: Device,
    event: dict[str, Any],
    actor=None,
    actor_label: str | None = None,
    origin: dict[str, Any] | None = None,
) -> CoordinatorCommand:
    """Queue a Load Control Event for one verified device; the head-end assigns the issuer event id.

    ``event`` holds ``LoadControlEvent`` fields except ``issuer_event_id``; a bad one is a ``ValidationError``.
    """
    device = _locked_verified(device)
    if not device_takes_load_control(device):
        raise ValidationError("This device does not take load control events.")
    job = _create(device=device, kind=JobKind.LOAD_CONTROL, actor=actor, parameters={})
    checked, start_now = _event_checked(job, event)
    job.parameters = {"event": checked.as_dict(), "start_now": start_now}
    job.save(update_fields=["parameters"])
    audit_append(
        action="han.load_control_requested",
        actor=actor,
        actor_label=actor_label,
        target=f"device:{device.uid}",
        customer_account_id=_account_id(job),
        payload={
            "command_id": str(job.command_id),
            "eui64": device.eui64,
            "event": checked.as_dict(),
            "start_now": start_now,
            "origin": origin or {},
        },
    )
    job_enqueue(job=job)
    return job


@transaction.atomic
def device_status_request(
    *, device: Device, actor=None, actor_label: str | None = None, origin: dict[str, Any] | None = None
) -> CoordinatorCommand:
    """Queue a status read (Basic attributes over the air, plus the last load-control status) for one verified device."""
    device = _locked_verified(device)
    job = _create(device=device, kind=JobKind.STATUS_READ, actor=actor, parameters={})
    audit_append(
        action="han.device_status_requested",
        actor=actor,
        actor_label=actor_label,
        target=f"device:{device.uid}",
        customer_account_id=_account_id(job),
        payload={"command_id": str(job.command_id), "eui64": device.eui64, "origin": origin or {}},
    )
    job_enqueue(job=job)
    return job


@transaction.atomic
def premise_load_control_request(
    *,
    network: HanNetwork,
    event: dict[str, Any],
    device_class: str = "load_control",
    actor=None,
    actor_label: str | None = None,
    origin: dict[str, Any] | None = None,
) -> CoordinatorCommand:
    """Queue one Load Control Event for every verified device of ``device_class`` at the premise.

    One command: the coordinator sends the event to each device and reports per device;
    the outcome of each is in the command's ``result["devices"]``. ``ValidationError`` for
    a bad event or a class with no verified device here (nothing is written then).
    """

    def with_event(job: CoordinatorCommand) -> dict[str, Any]:
        checked, start_now = _event_checked(job, event)
        job.parameters = {**job.parameters, "event": checked.as_dict(), "start_now": start_now}
        job.save(update_fields=["parameters"])
        return {"event": checked.as_dict(), "start_now": start_now}

    return _premise_class_command(
        kind=JobKind.LOAD_CONTROL,
        network=network,
        device_class=device_class,
        audit_action="han.load_control_requested",
        actor=actor,
        actor_label=actor_label,
        origin=origin,
        prepare=with_event,
    )


@transaction.atomic
def premise_status_request(
    *,
    network: HanNetwork,
    device_class: str,
    actor=None,
    actor_label: str | None = None,
    origin: dict[str, Any] | None = None,
) -> CoordinatorCommand:
    """Queue one status read for every verified device of ``device_class`` at the premise.

    One command: the coordinator reads each device and reports per device; each device's reading
    (or ``no_answer``) is in the command's ``result["devices"]``. ``ValidationError`` for an unknown
    class or one with no verified device here (nothing is written then).
    """
    return _premise_class_command(
        kind=JobKind.STATUS_READ,
        network=network,
        device_class=device_class,
        audit_action="han.device_status_requested",
        actor=actor,
        actor_label=actor_label,
        origin=origin,
    )


def _premise_class_command(
    *,
    kind: str,
    network: HanNetwork,
    device_class: str,
    audit_action: str,
    actor,
    actor_label: str | None,
    origin: dict[str, Any] | None,
    prepare: Callable[[CoordinatorCommand], dict[str, Any]] | None = None,
) -> CoordinatorCommand:
    """One ``kind`` command to every verified device of ``device_class`` at the premise, audited and enqueued.

    ``prepare`` completes the command (it may refuse with a ``ValidationError``, and the caller's
    transaction rolls back) and returns what its audit entry adds.
    """
    network = HanNetwork.objects.select_for_update(no_key=True).select_related("coordinator", "premise").get(pk=network.pk)
    job = coordinator_command_create(kind=kind, network=network, device_class=device_class, actor=actor)
    added = prepare(job) if prepare is not None else {}
    audit_append(
        action=audit_action,
        actor=actor,
        actor_label=actor_label,
        target=f"premise:{network.premise_id}",
        customer_account_id=_account_id(job),
        payload={
            "command_id": str(job.command_id),
            "device_class": device_class,
            "eui64s": [each["eui64"] for each in job.parameters["devices"]],
            **added,
            "origin": origin or {},
        },
    )
    job_enqueue(job=job)
    return job
