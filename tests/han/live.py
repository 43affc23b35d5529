"""One device commissioned and verified through real processes: Redis, a Celery worker, a coordinator."""

from __future__ import annotations

import json
from pathlib import Path

from han.install_codes import install_code_parse
from han.models import Device, DeviceState
from han.protocol import CoordinatorIdentity
from han.services.commissioning import device_commission
from han.services.networks import coordinator_register, han_network_create
from tests.conftest import wait_for
from tests.han.conftest import install_code_for, random_eui64


def live_verified_device(
    *, processes, tmp_path: Path, name: str, premise, installer, simulated_type: str, device_type: str, model: str
) -> tuple[Device, Path]:
    """Start a worker and coordinator ``name`` hosting one simulated device, commission it, wait until verified.

    Returns the device and the simulated-devices file, to start the coordinator again with.
    """
    identity = CoordinatorIdentity.generate(name)
    identity.save(tmp_path / "keys" / f"{name}.key")
    code, eui64 = install_code_for(), random_eui64()
    devices = tmp_path / "devices.json"
    devices.write_text(json.dumps([{"eui64": eui64, "install_code": code, "device_type": simulated_type, "model": model}]))
    coordinator = coordinator_register(name=name, box_public_key=identity.box_public_hex, verify_public_key=identity.verify_public_hex)
    processes.worker()
    processes.coordinator(name, devices)
    network = han_network_create(premise=premise, coordinator=coordinator)
    device = device_commission(network=network, parsed=install_code_parse(code=code, eui64=eui64), device_type=device_type, actor=installer)
    wait_for(lambda: Device.objects.get(pk=device.pk).state == DeviceState.VERIFIED, timeout=40)
    return device, devices
