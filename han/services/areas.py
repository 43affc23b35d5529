"""Commands to a grid area: one command to a device class at every premise under a substation, feeder or transformer.

The premises come only from ``premises_in_area`` (the one rule for "in an area"). Each premise
with a HAN network gets its own ``CoordinatorCommand`` to its own coordinator, all children of
one ``AreaRequest``; a premise that cannot take one is skipped and counted, never an error for
the whole. Only a command type that declares ``area_capable`` may be sent this way (today the
status read; load control waits on the roadmap). Written in one transaction with batched
writes (one query per kind of row, one hand-off mark, a relay task per ``RELAY_BATCH`` jobs
after the commit), so a feeder of thousands of premises is not thousands of round trips.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from amiportal.audit.services import audit_append
from amiportal.premises.grid_selectors import premises_in_area
from amiportal.premises.models import Feeder, Substation, Transformer
from han.commands import Target
from han.commands.targets import networks_devices_of_class
from han.models import AreaRequest, CoordinatorCommand, HanNetwork
from han.services.commands import class_parameters, command_type_checked, device_class_checked
from han.services.relay import jobs_enqueue

# Why a premise of the area got no command, in the operator's words.
SKIP_REASONS = {
    "no_han_network": "no HAN network",
    "gateway_retired": "its gateway is retired",
    "no_device_in_class": "no device of that class on its network",
}


def area_checked(*, substation: str, feeder: str | None = None, transformer: str | None = None) -> tuple[str, str | None, str | None]:
    """The area's codes, each naming a substation, feeder or transformer that exists; a ``ValidationError`` otherwise."""
    substation = (substation or "").strip()
    feeder = (feeder or "").strip() or None
    transformer = (transformer or "").strip() or None
    if not substation:
        raise ValidationError("Name a substation (and optionally a feeder and transformer).", code="no_area")
    if transformer is not None and feeder is None:
        raise ValidationError("A transformer code is only unique on its feeder: name the feeder too.", code="transformer_without_feeder")
    if not Substation.objects.filter(code=substation).exists():
        raise ValidationError(f"No substation {substation[:32]!r}.", code="unknown_area")
    if feeder is not None and not Feeder.objects.filter(substation__code=substation, code=feeder).exists():
        raise ValidationError(f"No feeder {feeder[:32]!r} on substation {substation[:32]!r}.", code="unknown_area")
    transformers = Transformer.objects.filter(feeder__substation__code=substation, feeder__code=feeder, code=transformer)
    if transformer is not None and not transformers.exists():
        raise ValidationError(f"No transformer {transformer[:32]!r} on feeder {feeder!r}.", code="unknown_area")
    return substation, feeder, transformer


def area_premise_ids(*, substation: str, feeder: str | None, transformer: str | None) -> list[int]:
    """The ids of the area's premises (``premises_in_area``); a ``ValidationError`` when there are none."""
    premise_ids = list(premises_in_area(substation=substation, feeder=feeder, transformer=transformer).values_list("pk", flat=True))
    if not premise_ids:
        raise ValidationError("No premise is placed in this area: nothing was sent.", code="empty_area")
    return premise_ids


def area_kind_checked(kind: str) -> Any:
    """The command type of ``kind`` if it may go to a device class in an area; a ``ValidationError`` otherwise."""
    kind_type = command_type_checked(kind=kind, target=Target.DEVICE_CLASS)
    if not kind_type.area_capable:
        raise ValidationError(f"A {kind_type.label.lower()} cannot be sent to a grid area.", code="not_area_capable")
    return kind_type


@transaction.atomic
def area_command_create(
    *,
    kind: str,
    substation: str,
    feeder: str | None = None,
    transformer: str | None = None,
    device_class: str,
    parameters: dict[str, Any] | None = None,
    actor,
) -> AreaRequest:
    """One command of ``kind`` to the ``device_class`` devices of every premise in the area that has a HAN network.

    Refused with a ``ValidationError``, with nothing written: a kind that is unknown or not
    area-capable, an unknown class, a transformer without its feeder, codes naming no area,
    an area with no premise. Premises without a network, with a retired gateway, or with no
    verified device of the class are skipped and counted in ``AreaRequest.skipped``.
    """
    kind_type = area_kind_checked(kind)
    device_class = device_class_checked(device_class)
    substation, feeder, transformer = area_checked(substation=substation, feeder=feeder, transformer=transformer)
    premise_ids = area_premise_ids(substation=substation, feeder=feeder, transformer=transformer)
    networks = list(HanNetwork.objects.filter(premise_id__in=premise_ids).select_related("coordinator").order_by("premise_id"))
    devices = networks_devices_of_class(network_ids=[each.pk for each in networks], device_class=device_class)
    skipped = {"no_han_network": len(premise_ids) - len(networks)}
    area = AreaRequest.objects.create(
        kind=kind_type.kind,
        device_class=device_class,
        substation=substation,
        feeder=feeder or "",
        transformer=transformer or "",
        requested_by=actor,
        premises_in_area=len(premise_ids),
        commands_created=0,
    )
    commands = []
    for network in networks:
        if not network.coordinator.is_active:
            skipped["gateway_retired"] = skipped.get("gateway_retired", 0) + 1
        elif not devices.get(network.pk):
            skipped["no_device_in_class"] = skipped.get("no_device_in_class", 0) + 1
        else:
            commands.append(
                CoordinatorCommand(
                    kind=kind_type.kind,
                    network=network,
                    coordinator=network.coordinator,
                    requested_by=actor,
                    area_request=area,
                    parameters=class_parameters(dict(parameters or {}), device_class=device_class, devices=devices[network.pk]),
                )
            )
    CoordinatorCommand.objects.bulk_create(commands, batch_size=500)
    area.commands_created = len(commands)
    area.skipped = {reason: count for reason, count in skipped.items() if count}
    area.save(update_fields=["commands_created", "skipped"])
    audit_append(
        action="han.area_command_requested",
        actor=actor,
        target=f"area_request:{area.pk}",
        payload={
            "kind": kind_type.kind,
            "device_class": device_class,
            "area": {"substation": substation, "feeder": feeder, "transformer": transformer},
            "premises_in_area": len(premise_ids),
            "commands_created": len(commands),
            "skipped": area.skipped,
        },
    )
    jobs_enqueue(job_ids=[each.pk for each in commands])
    return area
