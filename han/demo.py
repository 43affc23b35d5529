"""Demo HAN data for ``make run``: gateways for two demo homes, a work order for Ivan, simulated devices.

Idempotent, like the rest of the demo seed. The coordinators' key files are
written under var/han/coordinators/ (standing in for the gateway factory);
the simulated devices, with their install codes, go to
var/han/simulated_devices.json, and ``manage.py han_demo_devices`` prints them
for the installer to type or scan.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from django.conf import settings
from zigpy.util import CrcX25

from amiportal.accounts.models import User
from amiportal.premises.models import Premise
from han.models import Coordinator, HanNetwork, WorkOrder
from han.protocol import CoordinatorIdentity
from han.services.networks import coordinator_register, han_network_create

DEMO_PREMISES = {"SP-100001": "gw-sp-100001", "SP-100002": "gw-sp-100002"}
SPARE_COORDINATOR = "gw-spare-1"
DEMO_DEVICES = [
    ("ihd", "Riverton Energy", "Home Display 2"),
    ("pct", "Riverton Energy", "Smart Thermostat"),
    ("evse", "ChargeCo", "Wallbox SE"),
    # The home's electricity meter on the HAN: its demand swings slowly, so live demand moves in `make run`.
    ("metering", "Riverton Energy", "Electricity Meter"),
]


def han_dir() -> Path:
    return Path(settings.VAR_DIR) / "han"


def demo_install_code(seed: str) -> str:
    body = hashlib.sha256(seed.encode()).digest()[:16]
    crc = CrcX25()
    crc.process(body)
    return (body + crc.finalbytes(byteorder="little")).hex().upper()


def demo_simulated_devices() -> list[dict]:
    rows = []
    for premise_index, (service_point, coordinator) in enumerate(sorted(DEMO_PREMISES.items()), 1):
        for device_index, (device_type, manufacturer, model) in enumerate(DEMO_DEVICES, 1):
            rows.append(
                {
                    "eui64": f"00:0d:6f:00:00:{premise_index:02x}:00:{device_index:02x}",
                    "install_code": demo_install_code(f"{service_point}/{device_index}"),
                    "device_type": device_type,
                    "manufacturer": manufacturer,
                    "model": model,
                    "premise": service_point,
                    # In range of the premise's gateway and of the spare that may replace it.
                    "coordinators": [coordinator, SPARE_COORDINATOR],
                    **({"varying": True, "demand_w": 1500} if device_type == "metering" else {}),
                }
            )
    return rows


def _coordinator(name: str) -> Coordinator:
    identity = CoordinatorIdentity.load_or_create(han_dir() / "coordinators" / f"{name}.key", name)
    existing = Coordinator.objects.filter(name=name).first()
    if existing and (existing.box_public_key, existing.verify_public_key) == (identity.box_public_hex, identity.verify_public_hex):
        return existing
    return coordinator_register(name=name, box_public_key=identity.box_public_hex, verify_public_key=identity.verify_public_hex)


def han_demo_seed() -> None:
    han_dir().mkdir(parents=True, exist_ok=True)
    (han_dir() / "simulated_devices.json").write_text(json.dumps(demo_simulated_devices(), indent=2))
    ivan = User.objects.filter(email="ivan@demo.ami").first()
    for service_point, name in DEMO_PREMISES.items():
        premise = Premise.objects.filter(service_point_id=service_point).first()
        if premise is None:
            continue
        coordinator = _coordinator(name)
        if not HanNetwork.objects.filter(premise=premise).exists():
            han_network_create(premise=premise, coordinator=coordinator)
        if ivan is not None:
            WorkOrder.objects.get_or_create(
                premise=premise, installer=ivan, summary="Install in-home display, thermostat and EV charger on the HAN"
            )
    _coordinator(SPARE_COORDINATOR)
