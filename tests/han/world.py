"""A small HAN world built from the personas, for the access table and view tests.

Idempotent: called once per persona by tests/test_access_table.py. Rows are
created directly (no relay) because only the routes are under test there.
"""

from __future__ import annotations

from han.models import Coordinator, Device, DeviceType, HanNetwork, WorkOrder
from han.protocol import CoordinatorIdentity
from han.services.keys import link_key_seal, network_key_generate_sealed
from tests.han.conftest import random_eui64


def han_world(people: dict) -> dict:
    premise = people["alice"].customer_account.agreements.get().premise
    network = HanNetwork.objects.filter(premise=premise).first()
    if network is None:
        identity = CoordinatorIdentity.generate(f"gw-{premise.service_point_id.lower()}")
        coordinator = Coordinator.objects.create(
            name=identity.name, box_public_key=identity.box_public_hex, verify_public_key=identity.verify_public_hex
        )
        network = HanNetwork(premise=premise, coordinator=coordinator, pan_id=0x1A2B, extended_pan_id="00:11:22:33:44:55:66:77", channel=15)
        network.network_key_sealed = network_key_generate_sealed(network=network)
        network.save()
    work_order, _ = WorkOrder.objects.get_or_create(
        premise=premise, installer=people["ivan"], defaults={"summary": "Install in-home display"}
    )
    device = network.devices.first()
    if device is None:
        device = Device(
            network=network, eui64=random_eui64(), device_type=DeviceType.IN_HOME_DISPLAY, state="failed", failure_reason="test"
        )
        device.link_key_sealed = link_key_seal(device=device, link_key=b"\x01" * 16)
        device.save()
    return {"network": network, "work_order": work_order, "device": device}


def work_order_kwargs(people):
    return {"work_order_id": han_world(people)["work_order"].pk}


def device_kwargs(people):
    return {"device_uid": han_world(people)["device"].uid}


def work_order_device_kwargs(people):
    world = han_world(people)
    return {"work_order_id": world["work_order"].pk, "device_uid": world["device"].uid}


def network_kwargs(people):
    return {"network_id": han_world(people)["network"].pk}


def area_request_kwargs(people):
    """An area request Olga made for the area of Alice's home (no HAN device of the class: skipped, counted)."""
    from amiportal.premises.grid_services import GridPath, grid_location_set
    from han.models import AreaRequest
    from han.services.areas import area_command_create

    existing = AreaRequest.objects.first()
    if existing is not None:
        return {"area_request_id": existing.pk}
    world = han_world(people)
    premise = world["network"].premise
    grid_location_set(premise=premise, path=GridPath("SUB-W", "F-1", "T-1"), actor=people["olga"])
    area = area_command_create(kind="status_read", substation="SUB-W", device_class="metering", actor=people["olga"])
    return {"area_request_id": area.pk}
