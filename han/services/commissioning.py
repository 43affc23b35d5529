"""Registering, commissioning, retrying and removing HAN devices (BF-HAN-1, BF-HAN-3)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from amiportal.audit.services import audit_append
from amiportal.premises.selectors import current_account_ids
from han.install_codes import ParsedInstallCode
from han.models import Device, DeviceState, HanNetwork, JobKind, WorkOrder
from han.services.commands import coordinator_command_create
from han.services.keys import link_key_seal
from han.services.radios import commissioning_refusal
from han.services.relay import job_enqueue

_JOINED_STATES = (DeviceState.JOINED, DeviceState.INTERVIEWED, DeviceState.VERIFIED)


class DeviceAlreadyCommissioned(ValidationError):
    """The device is already on this premise's network: nothing to do."""


def _account_id(network: HanNetwork) -> int | None:
    return current_account_ids(premise_ids={network.premise_id})[network.premise_id]


def _refuse_duplicate(*, network: HanNetwork, eui64: str) -> None:
    existing = (
        Device.objects.exclude(state=DeviceState.DECOMMISSIONED).filter(eui64=eui64).values_list("network_id", "state", named=True).first()
    )
    if existing is None:
        return
    if existing.network_id != network.pk:
        raise ValidationError(
            f"Device {eui64.upper()} is registered at another premise. It must be removed there before it can join this home's network."
        )
    if existing.state in _JOINED_STATES:
        raise DeviceAlreadyCommissioned(f"Device {eui64.upper()} has already joined this home's network; nothing was changed.")
    if existing.state == DeviceState.FAILED:
        raise ValidationError(f"Device {eui64.upper()} is already registered here and its last attempt failed: use Retry on it.")
    raise ValidationError(f"Device {eui64.upper()} is already being commissioned here; its progress is shown below.")


@transaction.atomic
def device_commission(
    *,
    network: HanNetwork,
    parsed: ParsedInstallCode,
    device_type: str,
    label: str = "",
    actor,
    work_order: WorkOrder | None = None,
) -> Device:
    """Escrow the device's link key (sealed to its row) and send it, sealed to the coordinator, for a join."""
    if refusal := commissioning_refusal(network.coordinator):
        raise ValidationError(refusal)  # the gateway's radio would admit other devices too: nothing is written or sent
    _refuse_duplicate(network=network, eui64=parsed.eui64)
    device = Device(network=network, eui64=parsed.eui64, device_type=device_type, label=label, added_by=actor)
    device.link_key_sealed = link_key_seal(device=device, link_key=parsed.link_key)
    try:
        # No savepoint of its own: this function's atomic block (a savepoint when nested) rolls back.
        device.save(force_insert=True)
    except IntegrityError:
        # Another request registered the same radio a moment ago.
        raise ValidationError(f"Device {parsed.eui64.upper()} was registered by someone else just now.") from None
    job = coordinator_command_create(kind=JobKind.COMMISSION, network=network, device=device, work_order=work_order, actor=actor)
    audit_append(
        action="han.device_commission_requested",
        actor=actor,
        target=f"device:{device.uid}",
        customer_account_id=_account_id(network),
        payload={
            "eui64": device.eui64,
            "device_type": device_type,
            "premise_id": network.premise_id,
            "work_order_id": work_order.pk if work_order else None,
            "command_id": str(job.command_id),
            "key_escrowed": True,
        },
    )
    job_enqueue(job=job)
    return device


@transaction.atomic
def device_commission_retry(*, device: Device, actor) -> Device:
    device = Device.objects.select_for_update().select_related("network__coordinator").get(pk=device.pk)
    if device.state != DeviceState.FAILED:
        raise ValidationError("Only a device whose commissioning failed can be retried.")
    if not device.link_key_sealed:
        raise ValidationError("This device's key was removed; register it again with its install code.")
    if refusal := commissioning_refusal(device.network.coordinator):
        raise ValidationError(refusal)
    device.state = DeviceState.REGISTERED
    device.failure_reason = ""
    device.save(update_fields=["state", "failure_reason", "updated_at"])
    job = coordinator_command_create(kind=JobKind.COMMISSION, network=device.network, device=device, actor=actor)
    audit_append(
        action="han.device_commission_retried",
        actor=actor,
        target=f"device:{device.uid}",
        customer_account_id=_account_id(device.network),
        payload={"eui64": device.eui64, "command_id": str(job.command_id)},
    )
    job_enqueue(job=job)
    return device


@transaction.atomic
def device_remove(*, device: Device, actor) -> Device:
    """Take the device off the network and crypto-shred its escrowed key.

    The key's data key existed only inside ``link_key_sealed``; blanking the
    field destroys it, so no later KEK compromise can recover the link key.
    """
    device = Device.objects.select_for_update().select_related("network__coordinator").get(pk=device.pk)
    if device.state == DeviceState.DECOMMISSIONED:
        raise ValidationError("This device was already removed.")
    device.state = DeviceState.DECOMMISSIONED
    device.link_key_sealed = ""
    device.failure_reason = ""
    device.save(update_fields=["state", "link_key_sealed", "failure_reason", "updated_at"])
    job = coordinator_command_create(kind=JobKind.REMOVE, network=device.network, device=device, actor=actor)
    audit_append(
        action="han.device_removed",
        actor=actor,
        target=f"device:{device.uid}",
        customer_account_id=_account_id(device.network),
        payload={"eui64": device.eui64, "premise_id": device.network.premise_id, "key_shredded": True, "command_id": str(job.command_id)},
    )
    job_enqueue(job=job)
    return device
