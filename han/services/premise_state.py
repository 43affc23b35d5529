"""What a premise's devices pull from its coordinator, set from the head-end.

A ``premise_state`` command (``han.commands.premise_state``: body ``{"price", "events", "message"}``
from the command's parameters) carries the premise's current price, its scheduled load-control
events and its last message to the coordinator, which answers the devices' GetCurrentPrice,
GetScheduledEvents and GetLastMessage from them (``han.coordinator.smart_energy``). The
validation is the coordinator's own (``PremiseState``): one rule, checked before anything is
signed and again where it is used.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from amiportal.audit.services import audit_append
from han.coordinator.premise_state import PremiseState, PremiseStateError
from han.models import CoordinatorCommand, HanNetwork, JobKind
from han.services.commands import coordinator_command_create
from han.services.relay import job_enqueue


@transaction.atomic
def premise_state_publish(
    *, network: HanNetwork, price: dict | None = None, events: list | None = None, message: dict | None = None, actor=None
) -> CoordinatorCommand:
    """Queue a ``premise_state`` command for the premise's coordinator; a bad part is a ``ValidationError``, nothing queued.

    None leaves a part as the coordinator has it; ``{}`` (or ``[]`` for events) clears it.
    """
    try:
        PremiseState().update(price=price, events=events, message=message)
    except PremiseStateError as exc:
        raise ValidationError(str(exc)) from None
    job = coordinator_command_create(
        kind=JobKind.PREMISE_STATE, network=network, actor=actor, parameters={"price": price, "events": events, "message": message}
    )
    audit_append(
        action="han.premise_state_requested",
        actor=actor,
        actor_label=None if actor else "system",
        target=f"premise:{network.premise_id}",
        payload={
            "command_id": str(job.command_id),
            "price": price is not None,
            "events": None if events is None else len(events),
            "message": message is not None,
        },
    )
    job_enqueue(job=job)
    return job
