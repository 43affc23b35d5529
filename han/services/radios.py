"""Which radio each coordinator runs, as its heartbeat says, and what that allows.

``Coordinator.radio_type`` follows the coordinator's signed heartbeat (its configuration,
``AMI_HAN_RADIO``), so the head-end refuses commissioning through a radio whose permit
cannot admit only the registered device (``han.coordinator.radios.JOIN_REFUSALS``)
before anything is sent.
"""

from __future__ import annotations

from typing import Any

from han.coordinator.radios import RADIO_TYPES, join_refusal
from han.models import Coordinator


def coordinator_radio_record(coordinator: Coordinator, detail: dict[str, Any]) -> None:
    """A heartbeat names the radio the coordinator runs: keep ``Coordinator.radio_type`` to what it says."""
    radio = detail.get("radio")
    if isinstance(radio, str) and radio in RADIO_TYPES and radio != coordinator.radio_type:
        Coordinator.objects.filter(pk=coordinator.pk).update(radio_type=radio)
        coordinator.radio_type = radio


def commissioning_refusal(coordinator: Coordinator) -> str | None:
    """Why no device can be commissioned through this coordinator's radio; None when its permit admits only the keyed device."""
    return join_refusal(coordinator.radio_type)
