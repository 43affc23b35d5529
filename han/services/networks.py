"""Coordinators and premise networks: registration, creation and replacement (BF-HAN-2)."""

from __future__ import annotations

import os
import secrets

from django.db import transaction

from amiportal.audit.services import audit_append
from amiportal.premises.models import Premise
from amiportal.premises.selectors import current_agreement
from han.models import Coordinator, CoordinatorCommand, Device, DeviceState, HanNetwork, JobKind
from han.services.commands import coordinator_command_create
from han.services.keys import network_key_generate_sealed
from han.services.relay import job_enqueue


def _hex_public_key(value: str, what: str) -> str:
    value = value.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ValueError(f"{what} must be 32 bytes in hex (64 digits).")
    return value


@transaction.atomic
def coordinator_register(
    *, name: str, box_public_key: str, verify_public_key: str, radio_type: str = "simulated", actor=None
) -> Coordinator:
    """Record a coordinator's public keys; re-registering the same name updates them (a re-keyed gateway)."""
    defaults = {
        "box_public_key": _hex_public_key(box_public_key, "The X25519 public key"),
        "verify_public_key": _hex_public_key(verify_public_key, "The Ed25519 public key"),
        "radio_type": radio_type,
    }
    previous_key = Coordinator.objects.filter(name=name).values_list("verify_public_key", flat=True).first()
    if previous_key is not None and previous_key != defaults["verify_public_key"]:
        # A new signing key numbers its reports afresh; the old key's reports no longer verify, so none can be replayed.
        defaults.update(report_seq_high=0, report_seq_window=b"")
    coordinator, created = Coordinator.objects.update_or_create(name=name, defaults=defaults)
    audit_append(
        action="han.coordinator_registered" if created else "han.coordinator_rekeyed",
        actor=actor,
        actor_label=None if actor else "system",
        target=f"coordinator:{coordinator.name}",
        payload={
            "radio_type": radio_type,
            "box_public_key": coordinator.box_public_key,
            "verify_public_key": coordinator.verify_public_key,
        },
    )
    return coordinator


def _account_id(premise: Premise) -> int | None:
    agreement = current_agreement(premise=premise)
    return agreement.account_id if agreement else None


@transaction.atomic
def han_network_create(*, premise: Premise, coordinator: Coordinator, channel: int = 15, actor=None) -> HanNetwork:
    """Form a premise's HAN: fresh PAN ids and network key (escrowed, sealed), configured on its coordinator."""
    network = HanNetwork(
        premise=premise,
        coordinator=coordinator,
        pan_id=secrets.randbelow(0xFFFE) + 1,
        extended_pan_id=":".join(f"{b:02x}" for b in os.urandom(8)),
        channel=channel,
    )
    network.network_key_sealed = network_key_generate_sealed(network=network)
    network.save()
    audit_append(
        action="han.network_created",
        actor=actor,
        actor_label=None if actor else "system",
        target=f"premise:{premise.pk}",
        customer_account_id=_account_id(premise),
        payload={"coordinator": coordinator.name, "pan_id": f"{network.pan_id:04X}", "channel": channel, "key_escrowed": True},
    )
    job_enqueue(job=coordinator_command_create(kind=JobKind.NETWORK_CONFIGURE, network=network, actor=actor))
    return network


@transaction.atomic
def coordinator_replace(*, network: HanNetwork, coordinator: Coordinator, actor) -> list[CoordinatorCommand]:
    """Move a premise's HAN to a replacement coordinator and restore every escrowed key to it.

    The devices rejoin with the keys they already have; nobody types an install code again.
    """
    network = HanNetwork.objects.select_for_update(no_key=True).get(pk=network.pk)
    previous = network.coordinator
    if previous.pk == coordinator.pk:
        raise ValueError("That coordinator already serves this premise.")
    if HanNetwork.objects.filter(coordinator=coordinator).exists():
        raise ValueError(f"Coordinator {coordinator.name} already serves another premise.")
    network.coordinator = coordinator
    network.save(update_fields=["coordinator"])
    previous.is_active = False
    previous.save(update_fields=["is_active"])
    jobs = [coordinator_command_create(kind=JobKind.NETWORK_CONFIGURE, network=network, actor=actor)]
    for device in network.devices.exclude(state=DeviceState.DECOMMISSIONED).exclude(link_key_sealed=""):
        Device.objects.filter(pk=device.pk).update(state=DeviceState.REGISTERED, failure_reason="")
        jobs.append(coordinator_command_create(kind=JobKind.RESTORE, network=network, device=device, actor=actor))
    audit_append(
        action="han.coordinator_replaced",
        actor=actor,
        target=f"premise:{network.premise_id}",
        customer_account_id=_account_id(network.premise),
        payload={"from": previous.name, "to": coordinator.name, "keys_restored": len(jobs) - 1},
    )
    for job in jobs:
        job_enqueue(job=job)
    return jobs
