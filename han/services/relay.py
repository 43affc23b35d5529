"""The head-end side of the coordinator command path (SO-C13, SO-C14, SO-U4, SO-U5, BF-HAN-1).

``job_relay`` turns a ``CommissioningJob`` into one signed envelope (key
material sealed to the destination coordinator) and puts it on that
coordinator's queue. ``report_record`` checks a coordinator's signed report
and moves the job and its device forward. Neither ever logs or returns a key.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from amiportal.audit.services import audit_append
from amiportal.crypto.envelope import SealedValueError
from amiportal.premises.selectors import current_agreement
from han import broker
from han.models import STATE_PATH, CommissioningJob, Coordinator, Device, DeviceState, JobKind, JobState
from han.protocol import CommandRejected, command_build, public_hex, report_verify
from han.services.keys import link_key_open, network_key_open

logger = logging.getLogger(__name__)

PERMIT_SECONDS = 60
COMMAND_TTL_SECONDS = 24 * 3600  # a coordinator that is down for a day still gets its work

COMMAND_TYPE_FOR_KIND = {
    JobKind.NETWORK_CONFIGURE: "network_configure",
    JobKind.COMMISSION: "permit_join",
    JobKind.RESTORE: "permit_join",
    JobKind.REMOVE: "remove",
    JobKind.LOAD_CONTROL: "load_control",
    JobKind.STATUS_READ: "device_status_read",
}
DEVICE_COMMAND_KINDS = (JobKind.LOAD_CONTROL, JobKind.STATUS_READ)
# Report Event Status values after which the device is following the event.
_LOAD_CONTROL_ACCEPTED = ("received", "started", "completed", "opted_in")

FAILURE_MESSAGES = {
    "timed_out": (
        "The device did not join in time. Check that it is powered, in range and in pairing mode,"
        " and that the install code is this device's; then retry."
    ),
    "rejected": "The gateway refused the command",
    "key_unavailable": "The escrowed key could not be opened, so nothing was sent. Enter the install code again.",
    "not_on_this_network": "The device answered on a network that is not this premise's.",
}


def head_end_signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(settings.AMI_HAN_SIGNING_KEY)[:32])


def head_end_public_key_hex() -> str:
    return public_hex(head_end_signing_key())


def job_enqueue(*, job: CommissioningJob) -> None:
    """Relay after the transaction that created the job commits, never inside it."""
    from han.tasks import han_job_relay_task

    transaction.on_commit(lambda: han_job_relay_task.delay(job.pk))


def _account_id(job: CommissioningJob) -> int | None:
    agreement = current_agreement(premise=job.network.premise)
    return agreement.account_id if agreement else None


def _advance(device_id: int, to: DeviceState, **fields: Any) -> bool:
    """Move a device forward along the commissioning path only; late or repeated reports change nothing."""
    earlier = STATE_PATH[: STATE_PATH.index(to)]
    return bool(Device.objects.filter(pk=device_id, state__in=earlier).update(state=to, **fields))


def _fail(job: CommissioningJob, reason: str, message: str) -> None:
    CommissioningJob.objects.filter(pk=job.pk).exclude(state=JobState.DONE).update(state=JobState.FAILED, detail=message[:300])
    if job.device_id and job.kind in (JobKind.COMMISSION, JobKind.RESTORE):
        Device.objects.filter(pk=job.device_id, state__in=STATE_PATH[:-1]).update(state=DeviceState.FAILED, failure_reason=message[:300])
    audit_append(
        action="han.command_failed",
        actor_label="han-relay",
        target=f"device:{job.device.uid}" if job.device_id else f"premise:{job.network.premise_id}",
        customer_account_id=_account_id(job),
        payload={"command_id": str(job.command_id), "kind": job.kind, "reason": reason, "coordinator": job.coordinator.name},
    )


def _secret_and_body(job: CommissioningJob) -> tuple[bytes | None, dict[str, Any]]:
    if job.kind == JobKind.NETWORK_CONFIGURE:
        network = job.network
        return network_key_open(network=network), {
            "pan_id": network.pan_id,
            "extended_pan_id": network.extended_pan_id,
            "channel": network.channel,
        }
    device = job.device
    if job.kind == JobKind.REMOVE:
        return None, {"eui64": device.eui64}
    if job.kind in DEVICE_COMMAND_KINDS:
        return None, {**job.parameters, "eui64": device.eui64}
    return link_key_open(device=device), {
        "eui64": device.eui64,
        "device_type": device.device_type,
        "permit_seconds": PERMIT_SECONDS,
        "restore": job.kind == JobKind.RESTORE,
    }


def job_relay(*, job_id: int) -> str:
    """Claim a pending job, sign and seal its command, hand it to the coordinator's queue.

    Safe to run twice: the claim admits one runner; a runner that died after
    claiming leaves the job ``relaying``, and the retry sends the same command
    id again, which the coordinator's replay guard drops if the first copy
    arrived. Either way the coordinator acts once.
    """
    claimed = CommissioningJob.objects.filter(pk=job_id, state=JobState.PENDING).update(state=JobState.RELAYING, attempts=F("attempts") + 1)
    job = CommissioningJob.objects.select_related("network__premise", "coordinator", "device").filter(pk=job_id).first()
    if job is None:
        return "gone"
    if not claimed and job.state != JobState.RELAYING:
        return "already handled"
    if job.device_id and job.kind in (JobKind.COMMISSION, JobKind.RESTORE) and job.device.state == DeviceState.DECOMMISSIONED:
        CommissioningJob.objects.filter(pk=job.pk).update(state=JobState.FAILED, detail="The device was removed before its key was sent.")
        return "device removed"
    try:
        secret, body = _secret_and_body(job)
    except SealedValueError:
        # Fail closed: a key that does not open is never guessed at or sent.
        with transaction.atomic():
            _fail(job, "key_unavailable", FAILURE_MESSAGES["key_unavailable"])
        return "key unavailable"
    command_type = COMMAND_TYPE_FOR_KIND[JobKind(job.kind)]
    envelope = command_build(
        signing_key=head_end_signing_key(),
        command_type=command_type,
        command_id=str(job.command_id),
        coordinator=job.coordinator.name,
        recipient_public_hex=job.coordinator.box_public_key,
        body=body,
        secret=secret,
        ttl_seconds=COMMAND_TTL_SECONDS,
    )
    del secret
    broker.command_publish(coordinator_name=job.coordinator.name, envelope=envelope)
    with transaction.atomic():
        CommissioningJob.objects.filter(pk=job.pk, state=JobState.RELAYING).update(state=JobState.RELAYED)
        if job.device_id and job.kind in (JobKind.COMMISSION, JobKind.RESTORE):
            _advance(job.device_id, DeviceState.KEY_RELAYED)
        audit_append(
            action="han.command_relayed",
            actor_label="han-relay",
            target=f"device:{job.device.uid}" if job.device_id else f"premise:{job.network.premise_id}",
            customer_account_id=_account_id(job),
            payload={
                "command_id": str(job.command_id),
                "type": command_type,
                "coordinator": job.coordinator.name,
                "key_sealed_to_coordinator": envelope["sealed"] is not None,
            },
        )
    logger.info("relayed %s command %s to %s", command_type, job.command_id, job.coordinator.name)
    return "relayed"


@transaction.atomic
def report_record(*, report: dict[str, Any]) -> str:
    """Apply one signed coordinator report. Unsigned, forged or foreign reports change nothing."""
    name = report.get("coordinator") if isinstance(report, dict) else None
    coordinator = Coordinator.objects.filter(name=str(name)).first() if name else None
    if coordinator is None:
        logger.warning("report from unknown coordinator %r ignored", name)
        return "unknown coordinator"
    try:
        report_verify(report=report, verify_public_hex=coordinator.verify_public_key)
    except CommandRejected as exc:
        logger.warning("report from %s refused: %s", coordinator.name, exc)
        audit_append(
            action="han.report_refused", actor_label="han-relay", target=f"coordinator:{coordinator.name}", payload={"reason": str(exc)}
        )
        return "refused"
    now = timezone.now()
    Coordinator.objects.filter(pk=coordinator.pk).update(last_seen_at=now)
    event = report["event"]
    if event == "online":
        return "online"
    job = (
        CommissioningJob.objects.select_for_update(of=("self",))
        .select_related("network__premise", "coordinator", "device")
        .filter(command_id=report.get("command_id"), coordinator=coordinator)
        .first()
    )
    if job is None:
        logger.warning("report %s from %s names no job of it", event, coordinator.name)
        return "no such job"
    detail = report.get("detail") or {}
    if event == "duplicate":
        return "duplicate"
    if event == "rejected":
        _fail(job, "rejected", f"{FAILURE_MESSAGES['rejected']}: {str(detail.get('reason', ''))[:200]}")
        return "rejected"
    if event == "failed":
        reason = str(detail.get("reason", "failed"))
        _fail(job, reason, FAILURE_MESSAGES.get(reason, str(detail.get("message", "The gateway reported a failure.")))[:300])
        return "failed"
    if event in ("configured", "removed"):
        CommissioningJob.objects.filter(pk=job.pk).update(state=JobState.DONE, detail="")
        audit_append(
            action=f"han.{event}",
            actor_label=f"coordinator:{coordinator.name}",
            target=f"device:{job.device.uid}" if job.device_id else f"premise:{job.network.premise_id}",
            customer_account_id=_account_id(job),
            payload={"command_id": str(job.command_id)},
        )
        return event
    if not job.device_id:
        return "ignored"
    if event in ("load_control_reported", "drlc_status", "status_read") and job.kind in DEVICE_COMMAND_KINDS:
        return _device_command_reported(job=job, coordinator=coordinator, event=event, detail=detail, now=now)
    device = job.device
    if event == "permitted":
        _advance(device.pk, DeviceState.PERMITTED)
    elif event == "joined":
        _advance(device.pk, DeviceState.JOINED, last_seen_at=now)
    elif event == "interviewed":
        return _interviewed(job=job, coordinator=coordinator, detail=detail, now=now)
    return event


def _interviewed(*, job: CommissioningJob, coordinator: Coordinator, detail: dict[str, Any], now) -> str:
    """Attachment is decided from the coordinator's interview, not from anything typed in a form."""
    device = job.device
    reported_ieee = str(detail.get("eui64", "")).lower()
    interview = {
        "eui64": reported_ieee,
        "nwk": detail.get("nwk"),
        "endpoints": detail.get("endpoints", [])[:16],
        "coordinator": coordinator.name,
        "pan_id": detail.get("pan_id"),
    }
    _advance(
        device.pk,
        DeviceState.INTERVIEWED,
        manufacturer=str(detail.get("manufacturer") or "")[:100],
        model=str(detail.get("model") or "")[:100],
        interview=interview,
        last_seen_at=now,
    )
    serves_premise = job.network.coordinator_id == coordinator.pk
    if reported_ieee != device.eui64 or not serves_premise or detail.get("pan_id") != job.network.pan_id:
        _fail(job, "not_on_this_network", FAILURE_MESSAGES["not_on_this_network"])
        return "not verified"
    _advance(device.pk, DeviceState.VERIFIED, failure_reason="")
    CommissioningJob.objects.filter(pk=job.pk).update(state=JobState.DONE, detail="")
    audit_append(
        action="han.device_verified",
        actor_label=f"coordinator:{coordinator.name}",
        target=f"device:{device.uid}",
        customer_account_id=_account_id(job),
        payload={
            "eui64": device.eui64,
            "premise_id": job.network.premise_id,
            "command_id": str(job.command_id),
            "model": str(detail.get("model") or "")[:100],
        },
    )
    return "verified"


def _device_command_reported(*, job: CommissioningJob, coordinator: Coordinator, event: str, detail: dict[str, Any], now) -> str:
    """A device's answer to a load-control event or a status read, as its coordinator signed it."""
    result = dict(job.result or {})
    if event == "status_read":
        result = {
            key: detail.get(key) for key in ("reachable", "manufacturer", "model", "lqi", "rssi", "load_control", "load_control_active")
        }
        result["read_at"] = now.isoformat()
        CommissioningJob.objects.filter(pk=job.pk).update(state=JobState.DONE, detail="", result=result)
        Device.objects.filter(pk=job.device_id).update(last_seen_at=now)
        action, outcome = "han.device_status_read", "read"
    else:
        status = {key: detail.get(key) for key in ("issuer_event_id", "status", "status_name", "status_time", "status_at")}
        statuses = [s for s in result.get("statuses", []) if s.get("status") != status["status"]] + [status]
        statuses.sort(key=lambda s: (s.get("status_time") or 0, s.get("status") or 0))
        result = {"statuses": statuses, "event_status": statuses[-1]["status_name"]}
        accepted = status["status_name"] in _LOAD_CONTROL_ACCEPTED
        if event == "load_control_reported":
            state = JobState.DONE if accepted else JobState.FAILED
            message = "" if accepted else f"The device refused the event ({status['status_name']})."
            CommissioningJob.objects.filter(pk=job.pk).update(state=state, detail=message, result=result)
        else:
            CommissioningJob.objects.filter(pk=job.pk).update(result=result)
        action, outcome = "han.load_control_reported", str(status["status_name"])
    Device.objects.filter(pk=job.device_id).update(last_seen_at=now)
    audit_append(
        action=action,
        actor_label=f"coordinator:{coordinator.name}",
        target=f"device:{job.device.uid}",
        customer_account_id=_account_id(job),
        payload={"command_id": str(job.command_id), "outcome": outcome},
    )
    return outcome
