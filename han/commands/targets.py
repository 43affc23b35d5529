"""Device classes a command can target at a premise (``Target.DEVICE_CLASS``): named rules over a device's interview.

A class is decided from what the coordinator's interview found on the device (its
Smart Energy clusters), never from anything typed in a form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from han import drlc
from han.metering import METERING_CLUSTER

if TYPE_CHECKING:
    from han.models import Device, HanNetwork


def _endpoints(device: Any) -> list[dict[str, Any]]:
    return (device.interview or {}).get("endpoints", [])


def takes_load_control(device: Any) -> bool:
    """From the coordinator's interview: a DRLC client cluster on one of the device's endpoints."""
    return any(drlc.CLUSTER_ID in (endpoint.get("out_clusters") or []) for endpoint in _endpoints(device))


def serves_metering(device: Any) -> bool:
    """From the coordinator's interview: a Metering server cluster on one of the device's endpoints."""
    return any(METERING_CLUSTER in (endpoint.get("in_clusters") or []) for endpoint in _endpoints(device))


DEVICE_CLASSES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "load_control": ("devices that take load control events", takes_load_control),
    "metering": ("devices that meter energy", serves_metering),
    "all": ("every device", lambda device: True),
}


def network_devices_of_class(*, network: HanNetwork, device_class: str) -> list[Device]:
    """The verified devices of a premise's network in a class, oldest first; ``KeyError`` for an unknown class."""
    return networks_devices_of_class(network_ids=[network.pk], device_class=device_class).get(network.pk, [])


def networks_devices_of_class(*, network_ids: list[int], device_class: str) -> dict[int, list[Device]]:
    """Network id -> its verified devices in a class, oldest first, for many networks in one query (a grid area)."""
    from han.models import Device, DeviceState

    _, rule = DEVICE_CLASSES[device_class]
    by_network: dict[int, list[Device]] = {}
    for device in Device.objects.filter(network_id__in=network_ids, state=DeviceState.VERIFIED).order_by("pk"):
        if rule(device):
            by_network.setdefault(device.network_id, []).append(device)
    return by_network
