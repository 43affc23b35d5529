"""The installer form's submission service, in-process: CPU, wall time and SQL statements per device.

What the installer form calls for each device (``install_code_parse`` + ``device_commission``,
as ``bench/han_bench.py``'s ``submit``), one device after another in this process, on
premises that each have a HAN network and a current occupant (so the audit entry names an
account). No worker or coordinator runs: the commands stay pending, and the relay's wake-up
row is set to "a runner is on its way" (as under a burst of submissions), so the statement
each submission runs after its commit is timed but no task is sent.

Per device: CPU (``time.process_time``) and wall time (``time.perf_counter``), medians and
p95 over ``--devices`` devices after ``--warmup`` untimed ones; statements per device counted
with ``CaptureQueriesContext`` on ``--counted`` further devices (a separate pass: capturing
adds CPU of its own). Baselines, measured in the same run on the same connection: a
``SELECT 1`` round trip and a bare one-row ``INSERT`` transaction into a plain copy of the
device table.

Run: .venv/bin/python bench/han_submission_bench.py [--devices 400] [--premises 20] [--profile]
Needs PostgreSQL (AMI_BENCH_HAN_SUBMISSION_DATABASE_URL, default database
amiportal_bench_han_submission, dropped and recreated). ``--profile`` prints cProfile's top
functions (CPU time; sorted by AMI_BENCH_PROFILE_SORT, default cumulative) over the timed
devices instead of timing them, then the statements of one submission.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._han_values import eui64, install_code, percentile  # noqa: E402
from bench._setup import BENCH_DATABASE, django_setup, prepare_database, print_table  # noqa: E402

DATABASE_URL = os.environ.get("AMI_BENCH_HAN_SUBMISSION_DATABASE_URL", BENCH_DATABASE.rsplit("/", 1)[0] + "/amiportal_bench_han_submission")
DEVICE_TYPES = ["ihd", "pct", "load_control", "evse", "smart_appliance"]


def create_world(premises: int):
    """Premises, each with a current occupant (and a former one) and a HAN network; an installer to submit as."""
    from django.contrib.auth import get_user_model

    from amiportal.premises.models import CustomerAccount, Premise, ServiceAgreement
    from han.models import HanNetwork
    from han.protocol import CoordinatorIdentity
    from han.services.networks import coordinator_register, han_network_create

    users = get_user_model().objects
    installer = users.create(email="installer@bench.ami", full_name="Bench Installer")
    created = []
    for n in range(premises):
        premise = Premise.objects.create(
            service_point_id=f"SUB-{n:05d}",
            address_line=f"{n} Bench Street",
            city="Riverton",
            postal_code="00000",
            customer_class="residential",
        )
        for kind, move_in, move_out in (
            ("F", date(2020, 1, 1), date.today() - timedelta(days=400)),
            ("C", date.today() - timedelta(days=300), None),
        ):
            user = users.create(email=f"occupant-{kind}{n}@bench.ami", full_name=f"Occupant {kind}{n}")
            account = CustomerAccount.objects.create(
                user=user, account_number=f"SUB{kind}-{n:05d}", name=f"Occupant {kind}{n}", account_class="residential"
            )
            ServiceAgreement.objects.create(premise=premise, account=account, move_in=move_in, move_out=move_out)
        identity = CoordinatorIdentity.generate(f"sub-{n:05d}")
        coordinator = coordinator_register(
            name=f"sub-{n:05d}", box_public_key=identity.box_public_hex, verify_public_key=identity.verify_public_hex
        )
        created.append(han_network_create(premise=premise, coordinator=coordinator).pk)
    # As the installer view loads it (han.selectors.network_for_premise: with its coordinator).
    return installer, list(HanNetwork.objects.filter(pk__in=created).select_related("coordinator").order_by("pk"))


def runner_on_its_way() -> None:
    """Mark the relay's wake-up row as asked for, far ahead: submissions run its statement but send no task."""
    from django.utils import timezone

    from han.models import RelayWakeup

    RelayWakeup.objects.update_or_create(pk=1, defaults={"requested_at": timezone.now() + timedelta(days=1)})


def submit(row: dict, network, actor):
    """What the installer form does: parse the code (zigpy CRC + AES-MMO), then the commissioning service."""
    from han.install_codes import install_code_parse
    from han.services.commissioning import device_commission

    parsed = install_code_parse(code=row["install_code"], eui64=row["eui64"])
    return device_commission(network=network, parsed=parsed, device_type=row["device_type"], actor=actor)


def rows_for(count: int, start: int) -> list[dict]:
    return [
        {"eui64": eui64(start + n), "install_code": install_code(), "device_type": DEVICE_TYPES[n % len(DEVICE_TYPES)]}
        for n in range(count)
    ]


def _select_one(_n: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _bare_insert(n: int) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_plain_device (uid, network_id, eui64, device_type, label, state, failure_reason, link_key_sealed,"
            " manufacturer, model, interview, created_at, updated_at)"
            " VALUES (gen_random_uuid(), 1, %s, 'ihd', '', 'registered', '', 'x', '', '', '{}', now(), now())",
            [eui64(10_000_000 + n)],
        )


BASELINES = {"SELECT 1 round trip": _select_one, "bare INSERT of a device row (own transaction)": _bare_insert}


def baselines(count: int) -> dict[str, tuple[list[float], list[float], int]]:
    """(CPU, wall, statements) per call of a SELECT 1 round trip and of a bare one-row INSERT transaction, alternating."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_plain_device (LIKE han_device INCLUDING ALL)")
    found = {label: ([], [], 0) for label in BASELINES}
    for n in range(count):
        for label, call in BASELINES.items():
            cpu, wall = time.process_time(), time.perf_counter()
            call(n)
            found[label][0].append(time.process_time() - cpu)
            found[label][1].append(time.perf_counter() - wall)
    for label, call in BASELINES.items():
        with CaptureQueriesContext(connection) as queries:
            call(count)
        found[label] = (found[label][0], found[label][1], len(queries))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=400, help="timed devices (at least 200 for the medians)")
    parser.add_argument("--premises", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--counted", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    prepare_database(DATABASE_URL)
    django_setup(DATABASE_URL)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from han.models import Device

    runner_on_its_way()
    actor, networks = create_world(args.premises)
    runner_on_its_way()
    start = Device.objects.count() + 1

    def run(rows: list[dict]) -> list[tuple[float, float]]:
        measured = []
        for index, row in enumerate(rows):
            network = networks[index % len(networks)]
            cpu, wall = time.process_time(), time.perf_counter()
            submit(row, network, actor)
            measured.append((time.process_time() - cpu, time.perf_counter() - wall))
        return measured

    warm = rows_for(args.warmup, start)
    counted = rows_for(args.counted, start + args.warmup)
    timed = rows_for(args.devices, start + args.warmup + args.counted)
    run(warm)
    statements = []
    for index, row in enumerate(counted):
        with CaptureQueriesContext(connection) as queries:
            submit(row, networks[index % len(networks)], actor)
        statements.append(len(queries))
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile(time.process_time)  # CPU, not waits on the database
        profiler.enable()
        run(timed)
        profiler.disable()
        pstats.Stats(profiler).sort_stats(os.environ.get("AMI_BENCH_PROFILE_SORT", "cumulative")).print_stats(45)
        with CaptureQueriesContext(connection) as queries:
            submit(rows_for(1, start + 10_000)[0], networks[0], actor)
        for query in queries:
            print(query["sql"][:300])
        return

    measured = run(timed)
    base = baselines(args.devices)
    cpu = [c for c, _ in measured]
    wall = [w for _, w in measured]
    reference_cpu = statistics.median(base["SELECT 1 round trip"][0])
    reference_wall = statistics.median(base["SELECT 1 round trip"][1])

    def row(label: str, cpus: list[float], walls: list[float], per_device: str) -> tuple:
        return (
            label,
            f"{statistics.median(cpus) * 1000:.2f}",
            f"{percentile(cpus, 0.95) * 1000:.2f}",
            f"{statistics.median(walls) * 1000:.2f}",
            f"{percentile(walls, 0.95) * 1000:.2f}",
            f"{statistics.median(cpus) / reference_cpu:.1f}",
            f"{statistics.median(walls) / reference_wall:.1f}",
            per_device,
        )

    rows = [row(f"submission ({len(measured)} devices)", cpu, wall, f"{statistics.median(statements):g}")]
    rows += [row(label, cpus, walls, str(statements)) for label, (cpus, walls, statements) in base.items()]
    print_table(
        f"Installer submission service, in-process ({args.premises} premises, load {os.getloadavg()[0]:.1f})",
        rows,
        ("what", "CPU ms median", "CPU p95", "wall ms median", "wall p95", "CPU / SELECT 1", "wall / SELECT 1", "statements"),
    )
    print(f"\nsubmission capacity of one caller (CPU only): {1 / statistics.median(cpu):.0f} devices/s")


if __name__ == "__main__":
    main()
