"""Registering, commissioning, retrying, correcting and removing HAN devices (BF-HAN-1, BF-HAN-3).

Retry and re-submission first apply the head-end's deadlines to the device's commands
(``han.services.sweeper.job_overdue_settle``), so a device whose permit window closed while its
coordinator was down is never stuck in progress, whether or not the sweeper has run yet.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from amiportal.audit.services import audit_append
from amiportal.compiled_queries import CompiledInsert, CompiledQuery
from amiportal.premises.selectors import current_account_ids
from han.install_codes import ParsedInstallCode
from han.models import CoordinatorCommand, Device, DeviceState, HanNetwork, JobKind, JobState, WorkOrder
from han.services.commands import coordinator_command_create
from han.services.keys import link_key_seal
from han.services.radios import commissioning_refusal
from han.services.relay import job_enqueue
from han.services.sweeper import job_overdue_settle

_JOINED_STATES = (DeviceState.JOINED, DeviceState.INTERVIEWED, DeviceState.VERIFIED)


class DeviceAlreadyCommissioned(ValidationError):
    """The device is already on this premise's network: nothing to do."""


def _account_id(network: HanNetwork) -> int | None:
    return current_account_ids(premise_ids={network.premise_id})[network.premise_id]


# The live registration of a radio (at most one: ``han_device_eui64_live_unique``), on every submission: compiled once per process.
_LIVE_DEVICE_OF_RADIO = CompiledQuery(
    lambda eui64: Device.objects.exclude(state=DeviceState.DECOMMISSIONED).filter(eui64=eui64)[:1],
    "eui64",
    types={"eui64": str},
    instances=True,
)

_DEVICE_INSERT = CompiledInsert(Device)


def _existing_failed(*, network: HanNetwork, eui64: str) -> Device | None:
    """The failed registration of this radio here (which a new install code replaces), or None; refuses any other."""
    existing = next(iter(_LIVE_DEVICE_OF_RADIO.objects(eui64=eui64)), None)
    if existing is None:
        return None
    if existing.network_id != network.pk:
        raise ValidationError(
            f"Device {eui64.upper()} is registered at another premise. It must be removed there before it can join this home's network."
        )
    if existing.is_in_progress and job_overdue_settle(device_id=existing.pk):
        existing.refresh_from_db()
    if existing.state in _JOINED_STATES:
        raise DeviceAlreadyCommissioned(f"Device {eui64.upper()} has already joined this home's network; nothing was changed.")
    if existing.state == DeviceState.FAILED:
        return existing
    raise ValidationError(f"Device {eui64.upper()} is already being commissioned here; its progress is shown below.")


def _commission_job(*, device: Device, actor, work_order: WorkOrder | None) -> CoordinatorCommand:
    return coordinator_command_create(kind=JobKind.COMMISSION, network=device.network, device=device, work_order=work_order, actor=actor)


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
    """Escrow the device's link key (sealed to its row) and send it, sealed to the coordinator, for a join.

    A radio whose registration here failed is registered again with this install code
    (``device_install_code_correct``): the new code replaces the failed one.
    """
    if refusal := commissioning_refusal(network.coordinator):
        raise ValidationError(refusal)  # the gateway's radio would admit other devices too: nothing is written or sent
    failed = _existing_failed(network=network, eui64=parsed.eui64)
    if failed is not None:
        return device_install_code_correct(device=failed, parsed=parsed, actor=actor, work_order=work_order)
    device = Device(network=network, eui64=parsed.eui64, device_type=device_type, label=label, added_by=actor)
    device.link_key_sealed = link_key_seal(device=device, link_key=parsed.link_key)
    try:
        # No savepoint of its own: this function's atomic block (a savepoint when nested) rolls back.
        _DEVICE_INSERT.save(device)  # device.save(force_insert=True), its INSERT compiled once per process
    except IntegrityError:
        # Another request registered the same radio a moment ago.
        raise ValidationError(f"Device {parsed.eui64.upper()} was registered by someone else just now.") from None
    job = _commission_job(device=device, actor=actor, work_order=work_order)
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
    job_overdue_settle(device_id=device.pk)  # a permit window that closed unnoticed fails the device first
    device = Device.objects.select_for_update(no_key=True).select_related("network__coordinator").get(pk=device.pk)
    if device.state != DeviceState.FAILED:
        raise ValidationError("Only a device whose commissioning failed can be retried.")
    if not device.link_key_sealed:
        raise ValidationError("This device's key was removed; register it again with its install code.")
    if refusal := commissioning_refusal(device.network.coordinator):
        raise ValidationError(refusal)
    device.state = DeviceState.REGISTERED
    device.failure_reason = ""
    device.save(update_fields=["state", "failure_reason", "updated_at"])
    job = _commission_job(device=device, actor=actor, work_order=None)
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
def device_install_code_correct(*, device: Device, parsed: ParsedInstallCode, actor, work_order: WorkOrder | None = None) -> Device:
    """Replace a failed registration's install code and commission again.

    The same radio (same EUI-64) keeps its row: the new link key is sealed over the old one,
    which is discarded. A code for another radio (the EUI-64 was wrong too) supersedes the
    failed row: that one is removed (its key shredded) and the new radio registered in its place.
    """
    if device.is_in_progress:
        job_overdue_settle(device_id=device.pk)
    device = Device.objects.select_for_update(no_key=True).select_related("network__coordinator").get(pk=device.pk)
    if device.state != DeviceState.FAILED:
        raise ValidationError("Only a device whose commissioning failed can get a new install code.")
    account_id = _account_id(device.network)
    if parsed.eui64 != device.eui64:
        replacement = device_commission(
            network=device.network, parsed=parsed, device_type=device.device_type, label=device.label, actor=actor, work_order=work_order
        )
        _shred(device)
        audit_append(
            action="han.device_install_code_corrected",
            actor=actor,
            target=f"device:{replacement.uid}",
            customer_account_id=account_id,
            payload={"superseded_device": str(device.uid), "eui64": replacement.eui64, "old_key_discarded": True},
        )
        return replacement
    device.link_key_sealed = link_key_seal(device=device, link_key=parsed.link_key)  # the old sealed key is gone with it
    device.state = DeviceState.REGISTERED
    device.failure_reason = ""
    device.save(update_fields=["link_key_sealed", "state", "failure_reason", "updated_at"])
    job = _commission_job(device=device, actor=actor, work_order=work_order)
    audit_append(
        action="han.device_install_code_corrected",
        actor=actor,
        target=f"device:{device.uid}",
        customer_account_id=account_id,
        payload={"eui64": device.eui64, "command_id": str(job.command_id), "old_key_discarded": True, "key_escrowed": True},
    )
    job_enqueue(job=job)
    return device


def _shred(device: Device) -> None:
    device.state = DeviceState.DECOMMISSIONED
    device.link_key_sealed = ""
    device.failure_reason = ""
    device.save(update_fields=["state", "link_key_sealed", "failure_reason", "updated_at"])


@transaction.atomic
def device_remove(*, device: Device, actor) -> Device:
    """Take the device off the network and crypto-shred its escrowed key.

    The key's data key existed only inside ``link_key_sealed``; blanking the
    field destroys it, so no later KEK compromise can recover the link key.
    The remove command goes to the gateway only if the device's key ever reached it;
    a command not sent yet is cancelled (its row is held, so no relay sends it meanwhile).
    """
    device = Device.objects.select_for_update(no_key=True).select_related("network__coordinator").get(pk=device.pk)
    if device.state == DeviceState.DECOMMISSIONED:
        raise ValidationError("This device was already removed.")
    unsent = list(
        CoordinatorCommand.objects.select_for_update(no_key=True)
        .filter(device=device, state=JobState.PENDING, expires_at__isnull=True)
        .values_list("pk", flat=True)
    )
    CoordinatorCommand.objects.filter(pk__in=unsent).update(
        state=JobState.FAILED, detail="The device was removed before its key was sent.", lease_expires_at=None
    )
    reached_gateway = device.jobs.exclude(pk__in=unsent).exclude(state=JobState.FAILED, expires_at__isnull=True).exists()
    _shred(device)
    job = None
    if reached_gateway:
        job = coordinator_command_create(kind=JobKind.REMOVE, network=device.network, device=device, actor=actor)
    audit_append(
        action="han.device_removed",
        actor=actor,
        target=f"device:{device.uid}",
        customer_account_id=_account_id(device.network),
        payload={
            "eui64": device.eui64,
            "premise_id": device.network.premise_id,
            "key_shredded": True,
            "command_id": str(job.command_id) if job else None,
            "sent_to_gateway": reached_gateway,
        },
    )
    if job is not None:
        job_enqueue(job=job)
    return device
