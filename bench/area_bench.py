"""Submitting a status read to a grid area: time and round trips by the area's size.

    .venv/bin/python bench/area_bench.py [--sizes 100,1000,3000]

Each size is a substation of its own whose premises each have a HAN network with one
verified device; ``area_command_create`` runs as an operator would start it, and the relay
tasks it hands over after the commit are counted, not sent (no broker or worker needed).
Baseline, measured in the same run on the same area: one ``coordinator_command_create`` per
premise in one transaction (rolled back), what the area would cost without batched writes.
Uses AMI_BENCH_DATABASE_URL (dropped and recreated).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import BENCH_DATABASE, django_setup, prepare_database, print_table  # noqa: E402


def _area(size: int, substation: str) -> None:
    from amiportal.premises.models import Feeder, Premise, Substation, Transformer
    from han.models import Coordinator, Device, DeviceState, DeviceType, HanNetwork

    transformer = Transformer.objects.create(
        feeder=Feeder.objects.create(substation=Substation.objects.create(code=substation), code="F-1"), code="T-1"
    )
    premises = Premise.objects.bulk_create(
        Premise(
            service_point_id=f"{substation}-{n:06d}",
            address_line=f"{n} Bench Street",
            city="Bench",
            postal_code="0",
            transformer=transformer,
        )
        for n in range(size)
    )
    coordinators = Coordinator.objects.bulk_create(
        Coordinator(name=f"gw-{substation.lower()}-{n}", box_public_key="0" * 64, verify_public_key="0" * 64) for n in range(size)
    )
    networks = HanNetwork.objects.bulk_create(
        HanNetwork(premise=p, coordinator=c, pan_id=1, extended_pan_id="00:11:22:33:44:55:66:77", channel=15, network_key_sealed="x")
        for p, c in zip(premises, coordinators, strict=True)
    )
    Device.objects.bulk_create(
        Device(
            network=network,
            eui64=f"00:0d:{size >> 8 & 0xFF:02x}:{size & 0xFF:02x}:{n >> 16 & 0xFF:02x}:{n >> 8 & 0xFF:02x}:{n & 0xFF:02x}:01",
            device_type=DeviceType.IN_HOME_DISPLAY,
            state=DeviceState.VERIFIED,
            link_key_sealed="x",
        )
        for n, network in enumerate(networks)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,3000")
    sizes = [int(each) for each in parser.parse_args().sizes.split(",")]
    prepare_database()
    django_setup(BENCH_DATABASE)

    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    import han.tasks
    from amiportal.accounts.models import User
    from han.models import HanNetwork
    from han.services.areas import area_command_create
    from han.services.commands import coordinator_command_create
    from han.services.relay_wakeup import relay_wakeup_clear

    tasks: list[int] = []
    han.tasks.han_relay_pending_task.delay = lambda *args: tasks.append(1)

    def one_by_one(substation: str) -> float:
        started = time.perf_counter()
        with transaction.atomic():
            networks = list(
                HanNetwork.objects.filter(premise__transformer__feeder__substation__code=substation).select_related("coordinator")
            )
            for network in networks:
                coordinator_command_create(kind="status_read", network=network, device_class="all", actor=olga)
            elapsed = time.perf_counter() - started
            transaction.set_rollback(True)
        return elapsed

    olga = User.objects.create(email="olga@bench.test", full_name="Olga Bench")
    rows = []
    for size in sizes:
        substation = f"B{size}"
        _area(size, substation)
        baseline = one_by_one(substation)
        tasks.clear()
        relay_wakeup_clear()  # the runner the previous size woke has started (its task is counted, never run)
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            area = area_command_create(kind="status_read", substation=substation, device_class="all", actor=olga)
        elapsed = time.perf_counter() - started
        rows.append(
            (
                size,
                area.commands_created,
                len(queries),
                len(tasks),
                f"{elapsed * 1000:.0f}",
                f"{elapsed / size * 1e6:.0f}",
                f"{baseline * 1000:.0f}",
                f"{elapsed / baseline:.2f}",
            )
        )
    print_table(
        "area_command_create (status read to every device, one per premise)",
        rows,
        ("premises", "commands", "queries", "relay tasks", "ms", "µs/premise", "one by one (baseline), ms", "ratio"),
    )


if __name__ == "__main__":
    main()
