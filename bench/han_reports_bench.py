"""HAN report batches in-process: the worker's CPU per commissioned device in ``reports_record``.

Set-up (not timed): a fresh PostgreSQL database, premises with a HAN network each (one coordinator
per premise, its identity kept in this process), devices submitted through ``install_code_parse`` +
``device_commission`` (what the installer form calls) and relayed inline (the relay's envelopes are
captured instead of published). Real ``CoordinatorService`` instances on the simulated zigpy radio
then handle those envelopes (network configure first, then each device's permit_join) and sign
their reports exactly as a gateway does: ``permitted``, ``joined`` and ``interviewed``, each sealed
to the head-end and signed with the coordinator's key.

Timed: ``reports_record`` (the body of ``han_reports_record_task``) on batches holding every report
of ``--batch-devices`` devices (from several coordinators, in the order the coordinators sent them),
each batch in its own transaction as the worker runs it. Per device: CPU (``time.process_time``,
this process only: the database's share is not in it), wall time, and statements
(``CaptureQueriesContext``).

Side figure: the relay runner (``relay_pending``, the body of ``han_relay_pending_task``) on each group of
``--batch-devices`` freshly submitted jobs, per device (CPU and wall), measured while setting up.

Baselines, measured in the same run on the same batches:
- the crypto floor: ``report_verify`` + ``report_detail_open`` of every report of the batch, alone
  (what no batching can remove: each report's signature and sealed detail);
- one bare ``UPDATE han_device SET last_seen_at = now() WHERE id = ANY(...)`` of the same devices, in
  one transaction (the database round trip the batch cannot avoid).

Run: .venv/bin/python bench/han_reports_bench.py [--premises 100] [--devices-per-premise 5]
     [--batch-devices 50] [--profile FILE]
Needs PostgreSQL (AMI_BENCH_HAN_REPORTS_DATABASE_URL, default database amiportal_bench_han_reports,
dropped and recreated). No broker: Celery runs eagerly and envelopes are captured.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._han_values import create_premises, eui64, in_process_coordinator, install_code  # noqa: E402
from bench._setup import BENCH_DATABASE, django_setup, prepare_database, print_table  # noqa: E402

DATABASE_URL = os.environ.get("AMI_BENCH_HAN_REPORTS_DATABASE_URL", BENCH_DATABASE.rsplit("/", 1)[0] + "/amiportal_bench_han_reports")
DEVICE_TYPES = ["ihd", "pct", "load_control", "smart_appliance"]  # no meter or EVSE: they would add metering reports
COMMISSION_EVENTS = ("permitted", "joined", "interviewed")


def _setup_world(premise_count: int, per_premise: int):
    """Premises, networks and commissioned devices; the relayed envelopes by coordinator name."""
    from amiportal.accounts.models import User
    from amiportal.celery import app as celery_app
    from han import broker
    from han.protocol import CoordinatorIdentity
    from han.services.networks import coordinator_register, han_network_create

    envelopes: dict[str, list[dict]] = {}
    broker.command_publish = lambda *, coordinator_name, envelope: envelopes.setdefault(coordinator_name, []).append(envelope)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True

    actor = User.objects.create_user(email="installer@bench.invalid", full_name="Bench Installer")
    premises = create_premises("HR", premise_count)
    identities, networks = {}, []
    for n, premise in enumerate(premises):
        identity = CoordinatorIdentity.generate(f"hr-{n:05d}")
        identities[identity.name] = identity
        coordinator = coordinator_register(
            name=identity.name, box_public_key=identity.box_public_hex, verify_public_key=identity.verify_public_hex
        )
        networks.append(han_network_create(premise=premise, coordinator=coordinator))  # relayed at once (eager)
    return actor, identities, networks, envelopes


class _Coordinators:
    """One ``CoordinatorService`` per identity on the simulated radio, kept alive from the network phase to the devices'.

    Its event loop runs only inside ``run``; the simulated devices' timers fire then.
    """

    def __init__(self, identities) -> None:
        from han.coordinator.simulated import SimulatedControllerApplication

        self.loop = asyncio.new_event_loop()
        self.reports: list[dict] = []

        async def start():
            services = {}
            for name, identity in identities.items():
                app = await SimulatedControllerApplication.new(SimulatedControllerApplication.default_config(), auto_form=True)
                services[name] = in_process_coordinator(identity=identity, app=app, send_report=self.reports.append)
            return services

        self.services = self.loop.run_until_complete(start())

    def run(self, envelopes: dict[str, list[dict]], *, wanted: set[str], last_event: str, timeout: float) -> list[dict]:
        """Each coordinator handles its envelopes; the reports they led to, in the order sent, once each wanted
        command reported ``last_event``."""
        first = len(self.reports)

        async def step():
            for name, service in self.services.items():
                for envelope in envelopes.get(name, []):
                    await service.handle(envelope)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                done = {r["command_id"] for r in self.reports[first:] if r["event"] == last_event}
                if wanted <= done:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.1)  # let the report threads drain

        self.loop.run_until_complete(step())
        return list(self.reports[first:])

    def close(self) -> None:
        async def stop():
            for service in self.services.values():
                for task in list(service._background):
                    task.cancel()
                await service.app.shutdown()

        self.loop.run_until_complete(stop())
        self.loop.close()


def _prepare_reports(
    premise_count: int, per_premise: int, relay_devices: int
) -> tuple[list[dict], dict[str, int], list[tuple[float, float]]]:
    """The signed commissioning reports of every device, each command id's device id, and the relay's
    (CPU, wall) per device of each group of ``relay_devices`` jobs."""
    from han.coordinator.simulated import SimulatedDevice
    from han.install_codes import install_code_parse
    from han.models import CoordinatorCommand, JobKind, JobState
    from han.services.commissioning import device_commission
    from han.services.relay import reports_record

    actor, identities, networks, envelopes = _setup_world(premise_count, per_premise)
    coordinators = _Coordinators(identities)
    configure_ids = {str(c) for c in CoordinatorCommand.objects.filter(kind=JobKind.NETWORK_CONFIGURE).values_list("command_id", flat=True)}
    configured = coordinators.run(envelopes, wanted=configure_ids, last_event="configured", timeout=60)
    reports_record(reports=configured)  # the networks are configured (not timed)
    left = CoordinatorCommand.objects.filter(kind=JobKind.NETWORK_CONFIGURE).exclude(state=JobState.DONE).count()
    if left:
        raise SystemExit(f"{left} networks were not configured")

    # The device phase: the same coordinators, each with its premise's devices in range. The devices are
    # submitted ``relay_devices`` at a time and each group relayed by one runner (timed, as a side figure).
    envelopes.clear()
    from han.services.relay_wakeup import relay_pending
    from han.tasks import han_relay_pending_task

    han_relay_pending_task.delay = lambda *args, **kwargs: None  # the runner is called below instead
    submitted: list[tuple] = []
    n = 0
    for network in networks:
        name = network.coordinator.name
        for index in range(per_premise):
            device = SimulatedDevice(
                eui64=eui64(n), install_code=install_code(), device_type=DEVICE_TYPES[index % len(DEVICE_TYPES)], model=f"SE-{index}"
            )
            n += 1
            coordinators.services[name].app.sim_network.add(device)
            submitted.append((index, network, device))
    # Interleaved across premises, as submissions from several installers arrive.
    submitted.sort(key=lambda item: (item[0], item[1].pk))
    relay_times = []
    for start in range(0, len(submitted), relay_devices):
        group = submitted[start : start + relay_devices]
        for _index, network, device in group:
            parsed = install_code_parse(code=device.install_code, eui64=device.eui64)
            device_commission(network=network, parsed=parsed, device_type=device.device_type, actor=actor)
        cpu, wall = time.process_time(), time.perf_counter()
        relay_pending()
        relay_times.append(((time.process_time() - cpu) / len(group), (time.perf_counter() - wall) / len(group)))
    jobs = dict(CoordinatorCommand.objects.filter(kind=JobKind.COMMISSION).values_list("command_id", "device_id"))
    device_of = {str(command_id): device_id for command_id, device_id in jobs.items()}
    reports = coordinators.run(envelopes, wanted=set(device_of), last_event="interviewed", timeout=120)
    coordinators.close()
    reports = [r for r in reports if r.get("event") in COMMISSION_EVENTS and r.get("command_id") in device_of]
    missing = set(device_of) - {r["command_id"] for r in reports if r["event"] == "interviewed"}
    if missing:
        raise SystemExit(f"{len(missing)} devices were not interviewed by their coordinators")
    return reports, device_of, relay_times


def _batches(reports: list[dict], device_of: dict[str, int], batch_devices: int) -> list[list[dict]]:
    order: list[str] = []
    for report in reports:
        if report["command_id"] not in order:
            order.append(report["command_id"])
    batches = []
    for start in range(0, len(order), batch_devices):
        members = set(order[start : start + batch_devices])
        batches.append([r for r in reports if r["command_id"] in members])
    return batches


def _crypto_floor(batch: list[dict]) -> tuple[float, float]:
    from han.models import Coordinator
    from han.protocol import report_detail_open, report_verify
    from han.services.head_end_keys import head_end_box_key

    keys = dict(Coordinator.objects.filter(name__in={r["coordinator"] for r in batch}).values_list("name", "verify_public_key"))
    box_key = head_end_box_key()
    cpu, wall = time.process_time(), time.perf_counter()
    for report in batch:
        report_verify(report=report, verify_public_hex=keys[report["coordinator"]])
        report_detail_open(report=report, head_end_box_key=box_key)
    return time.process_time() - cpu, time.perf_counter() - wall


def _bare_update(device_ids: list[int]) -> tuple[float, float]:
    from django.db import connection, transaction

    cpu, wall = time.process_time(), time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE han_device SET last_seen_at = now() WHERE id = ANY(%s)", [device_ids])
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--premises", type=int, default=100)
    parser.add_argument("--devices-per-premise", type=int, default=5)
    parser.add_argument("--batch-devices", type=int, default=50)
    parser.add_argument("--profile", help="write a cProfile of the timed reports_record calls to this file")
    args = parser.parse_args()

    prepare_database(DATABASE_URL)
    django_setup(DATABASE_URL)
    logging.getLogger("zigpy").setLevel(logging.WARNING)
    logging.getLogger("han").setLevel(logging.ERROR)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from amiportal.audit.selectors import audit_verify
    from han.models import Device, DeviceState
    from han.services.relay import reports_record

    setup_start = time.perf_counter()
    reports, device_of, relay_times = _prepare_reports(args.premises, args.devices_per_premise, args.batch_devices)
    batches = _batches(reports, device_of, args.batch_devices)
    print(
        f"set-up: {len(device_of)} devices at {args.premises} premises, {len(reports)} signed reports,"
        f" {len(batches)} batches of {args.batch_devices} devices ({time.perf_counter() - setup_start:.1f} s)"
    )

    # The first batch warms the process (imports, compiled queries, key parsing), as a worker's first task would.
    warm, *timed = batches
    reports_record(reports=warm)
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    measured = []
    for batch in timed:
        devices = {device_of[r["command_id"]] for r in batch}
        floor_cpu, floor_wall = _crypto_floor(batch)
        update_cpu, update_wall = _bare_update(sorted(devices))
        with CaptureQueriesContext(connection) as queries:
            if profiler:
                profiler.enable()
            cpu, wall = time.process_time(), time.perf_counter()
            outcomes = reports_record(reports=batch)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if profiler:
                profiler.disable()
        unexpected = [o for o in outcomes if o not in COMMISSION_EVENTS + ("verified",)]
        if unexpected:
            raise SystemExit(f"unexpected outcomes: {sorted(set(unexpected))}")
        count = len(devices)
        measured.append(
            (
                cpu / count,
                wall / count,
                len(queries) / count,
                floor_cpu / count,
                floor_wall / count,
                update_cpu / count,
                update_wall / count,
            )
        )
    if profiler:
        profiler.dump_stats(args.profile)

    verified = Device.objects.filter(state=DeviceState.VERIFIED).count()
    if verified != len(device_of):
        raise SystemExit(f"{verified} of {len(device_of)} devices verified")
    result = audit_verify()
    if not result.ok:
        raise SystemExit(f"audit chain does not verify: {result.reason}")

    def median(index: int) -> float:
        return statistics.median(m[index] for m in measured)

    def ms(value: float) -> str:
        return f"{value * 1000:.3f}"

    rows = [
        (
            "reports_record (the task body)",
            ms(median(0)),
            ms(median(1)),
            f"{median(2):.2f}",
            f"{median(0) / median(3):.1f}",
            f"{median(0) / median(5):.1f}",
        ),
        ("baseline: verify + open each report alone", ms(median(3)), ms(median(4)), "0", "1.0", "–"),
        ("baseline: one bare UPDATE of the devices", ms(median(5)), ms(median(6)), f"{1 / args.batch_devices:.2f}", "–", "1.0"),
        (
            f"side figure: relay_pending on {args.batch_devices} jobs (set-up)",
            ms(statistics.median(t[0] for t in relay_times[1:])),
            ms(statistics.median(t[1] for t in relay_times[1:])),
            "–",
            "–",
            "–",
        ),
    ]
    print_table(
        f"Per commissioned device (3 reports each), median of {len(measured)} batches of {args.batch_devices} devices",
        rows,
        ("what", "CPU ms", "wall ms", "statements", "CPU / crypto floor", "CPU / bare UPDATE"),
    )
    print(f"\nevery device verified, audit chain verifies ({result.checked} entries)")


if __name__ == "__main__":
    main()
