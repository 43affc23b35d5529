"""HAN provisioning through real processes: latency, throughput and coordinator memory.

Everything goes through a real Redis broker, a real Celery worker process
(prefork, concurrency 2, as in the Procfile) and real ``manage.py
han_coordinator`` processes on the simulated radio; the database is a fresh
PostgreSQL database.

- Latency: install-code submission (``install_code_parse`` + ``device_commission``,
  what the installer form calls) to "joined" and to "verified", one device at a
  time, seen by polling the device row every 5 ms. Goal: median < 150 ms, p95 < 250 ms.
- Throughput: N devices across M premises (default 1,000 across 200, one
  coordinator process hosting every premise), submitted as fast as --submitters
  installer-form callers (threads, default 4) can, until the last one is verified.
  Goal: at least 100 devices/s on the 2-core machine. The worker tasks it took are counted from the
  worker's log. ``--submitters 1,4`` (the default) runs it twice on fresh devices, once per caller count:
  the earlier outside figure (39.9 devices/s) was taken with one caller, the docs' (50.9-59.8) with four.
- Memory: RSS of an idle coordinator process hosting 1, 50 and 200 simulated
  premises (5 simulated devices in range of each); the slope is the cost per premise.
  Also the RSS of the throughput coordinator once all its devices have joined.
- Where the CPU went during the throughput run: worker, coordinator(s), this process,
  PostgreSQL and Redis (those two are shared with anything else on the machine), the
  PostgreSQL backends serving this benchmark's own database (sampled), and the sum of ours.

Baselines, measured in the same run:
- a no-op Celery task round trip through the same broker and worker (latency), and
  a burst of 4 per device (throughput; before reports and relays were batched a device
  took 4 tasks: relay, then the permitted, joined and interviewed reports);
- the coordinator's own work for one device (verify, unseal, permit, join,
  ZDO + Basic interview, signed reports) in this process, without broker or database.

Run: .venv/bin/python bench/han_bench.py [--premises 200] [--devices 1000] [--latency-devices 50]
     [--memory-points 1,50,200] [--coordinator-processes 1] [--worker-concurrency 2] [--submitters 1,4]
     [--worker-settings MODULE] [--keep]
     (--quick: 20 premises, 100 devices, 10 latency devices, memory 1,10,20)
Needs PostgreSQL (AMI_BENCH_HAN_DATABASE_URL, default database amiportal_bench_han, dropped and
recreated, so concurrent runs of other benchmarks keep theirs) and Redis
(AMI_BENCH_REDIS_URL, default redis://127.0.0.1:6379/9; flushed at start and end).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from celery import shared_task  # noqa: E402

from bench._han_values import create_premises, eui64, in_process_coordinator, install_code, percentile  # noqa: E402
from bench._setup import BENCH_DATABASE, ROOT, django_setup, prepare_database, print_table  # noqa: E402

# Its own database, so concurrent runs of other benchmarks keep theirs (AMI_BENCH_DATABASE_URL may already name it).
DATABASE_URL = os.environ.get("AMI_BENCH_HAN_DATABASE_URL", BENCH_DATABASE if BENCH_DATABASE.endswith("_han") else BENCH_DATABASE + "_han")
REDIS_URL = os.environ.get("AMI_BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
POLL_SECONDS = 0.005  # how often the latency phase looks at the device row, as the progress page would
DEVICE_TYPES = ["ihd", "pct", "load_control", "evse", "smart_appliance"]

_ping_client = None


@shared_task(name="bench.han_ping", ignore_result=True)
def han_ping(reply_to: str) -> None:
    """The baseline task: does nothing but say it ran. Imported by the worker with ``--include bench.han_bench``."""
    global _ping_client
    if _ping_client is None:
        import redis
        from celery import current_app

        _ping_client = redis.Redis.from_url(current_app.conf.broker_url)
    _ping_client.rpush(reply_to, b"1")


# --- helpers -------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def _descendants(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
    return found


def _stat(pid: int) -> tuple[str, int, list[str]]:
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text.rsplit(")", 1)[1].split()
    return text[text.index("(") + 1 : text.rindex(")")], int(fields[1]), fields


def cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """User + system CPU of a process and its live descendants (a worker's pool processes).

    ``reaped`` adds the children it has already waited for: PostgreSQL's backends, one per connection.
    """
    ticks = 0
    for each in _descendants(pid):
        with contextlib.suppress(OSError):
            fields = _stat(each)[2]
            ticks += int(fields[11]) + int(fields[12])
            if reaped and each == pid:
                ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def server_pids(name: str) -> list[int]:
    """The top processes named ``name`` (PostgreSQL's postmaster, redis-server): shared with everyone on the machine."""
    names = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                comm, ppid, _ = _stat(int(entry.name))
                names[int(entry.name)] = (comm, ppid)
    return [pid for pid, (comm, ppid) in names.items() if comm == name and names.get(ppid, ("", 0))[0] != name]


def server_cpu(name: str) -> float:
    return sum(cpu_seconds(pid, reaped=True) for pid in server_pids(name))


class DatabaseBackendsCpu:
    """CPU of the PostgreSQL backends serving one database, sampled every ``interval`` seconds.

    PostgreSQL's own total includes every other database on the machine (other engineers'
    benchmarks); a backend's process title names its database, so this counts only ours.
    A backend that ends between two samples loses at most its last ``interval`` of CPU.
    """

    def __init__(self, database: str, interval: float = 0.2) -> None:
        import threading

        self.database = database
        self.interval = interval
        self.baseline: dict[int, int] = {}
        self.latest: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> dict[int, int]:
        ticks = {}
        for postmaster in server_pids("postgres"):
            with contextlib.suppress(OSError):
                for child in Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split():
                    with contextlib.suppress(OSError):
                        title = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                        if f" {self.database} " in f" {title} ":
                            fields = _stat(int(child))[2]
                            ticks[int(child)] = int(fields[11]) + int(fields[12])
        return ticks

    def start(self) -> None:
        self.baseline = self._sample()
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.latest.update(self._sample())

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self.latest.update(self._sample())
        ticks = sum(value - self.baseline.get(pid, 0) for pid, value in self.latest.items())
        return ticks / os.sysconf("SC_CLK_TCK")


def wait_until(predicate, *, timeout: float, what: str, interval: float = 0.1, processes=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if processes is not None:
            processes.check_alive()
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


class Processes:
    """Worker and coordinator subprocesses, each in its own session so a stop takes its children too."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.env = os.environ | {
            "AMI_PROFILE": "development",
            "DATABASE_URL": DATABASE_URL,
            "CELERY_BROKER_URL": REDIS_URL,
            "PYTHONUNBUFFERED": "1",
        }
        self.running: dict[str, subprocess.Popen] = {}
        self.worker_settings = ""

    def start(self, label: str, *args: str) -> subprocess.Popen:
        log = open(self.workdir / f"{label}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.running[label] = process
        return process

    def worker(self, concurrency: int) -> subprocess.Popen:
        process = self._start_worker(concurrency)
        wait_until(lambda: " ready." in self.log("worker"), timeout=120, what="the Celery worker", processes=self)
        return process

    def _start_worker(self, concurrency: int) -> subprocess.Popen:
        env = self.env
        if self.worker_settings:
            self.env = env | {"DJANGO_SETTINGS_MODULE": self.worker_settings}
        try:
            return self._start_celery(concurrency)
        finally:
            self.env = env

    def _start_celery(self, concurrency: int) -> subprocess.Popen:
        return self.start(
            "worker",
            "-m",
            "celery",
            "-A",
            "amiportal",
            "worker",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "INFO",
            "-Q",
            "celery",
            "--include",
            "bench.han_bench",
            "--hostname",
            f"hanbench{os.getpid()}@%h",
        )

    def coordinator(self, label: str, names: list[str], devices_file: Path) -> subprocess.Popen:
        args = ["manage.py", "han_coordinator", "--key-dir", str(self.workdir / "keys"), "--simulated-devices", str(devices_file)]
        for name in names:
            args += ["--name", name]
        process = self.start(label, *args)
        wait_until(
            lambda: self.log(label).count(" up (") >= len(names),
            timeout=120 + len(names) * 0.5,
            what=f"{label} to bring up {len(names)} coordinators",
            processes=self,
        )
        return process

    def log(self, label: str) -> str:
        path = self.workdir / f"{label}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def check_alive(self) -> None:
        for label, process in self.running.items():
            if process.poll() is not None:
                raise RuntimeError(f"{label} exited with {process.returncode}:\n{self.log(label)[-3000:]}")

    def stop(self, label: str) -> None:
        process = self.running.pop(label, None)
        if process is None:
            return
        if process.poll() is None:
            process.terminate()  # the main process stops its own children (Celery's warm shutdown)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever is left in its session
        process.wait()

    def stop_all(self) -> None:
        for label in list(self.running):
            self.stop(label)


# --- the world -----------------------------------------------------------------------------


def create_networks(premises, prefix: str, key_dir: Path):
    """One coordinator per premise, its key file where its process will find it, registered and configured."""
    from han.protocol import CoordinatorIdentity
    from han.services.networks import coordinator_register, han_network_create

    networks = []
    for premise in premises:
        name = f"{prefix}-{premise.service_point_id.rsplit('-', 1)[1]}".lower()
        identity = CoordinatorIdentity.generate(name)
        identity.save(key_dir / f"{name}.key")
        coordinator = coordinator_register(name=name, box_public_key=identity.box_public_hex, verify_public_key=identity.verify_public_hex)
        networks.append(han_network_create(premise=premise, coordinator=coordinator))
    return networks


def simulated_rows(networks, per_network: int, start: int) -> list[dict]:
    rows, n = [], start
    for network in networks:
        for index in range(per_network):
            rows.append(
                {
                    "eui64": eui64(n),
                    "install_code": install_code(),
                    "device_type": DEVICE_TYPES[index % len(DEVICE_TYPES)],
                    "manufacturer": "Bench Devices",
                    "model": f"SE-{index}",
                    "coordinators": [network.coordinator.name],
                    "network_id": network.pk,
                }
            )
            n += 1
    return rows


def all_configured(networks) -> bool:
    from han.models import CoordinatorCommand, JobKind, JobState

    return (
        not CoordinatorCommand.objects.filter(kind=JobKind.NETWORK_CONFIGURE, network__in=[n.pk for n in networks])
        .exclude(state=JobState.DONE)
        .exists()
    )


def submit(row: dict, network, actor):
    """What the installer form does: parse the code (zigpy CRC + AES-MMO), then the commissioning service."""
    from han.install_codes import install_code_parse
    from han.services.commissioning import device_commission

    parsed = install_code_parse(code=row["install_code"], eui64=row["eui64"])
    return device_commission(network=network, parsed=parsed, device_type=row["device_type"], actor=actor)


# --- measurements --------------------------------------------------------------------------


def measure_ping(count: int, burst: int) -> tuple[list[float], float]:
    import redis

    from amiportal.celery import app as celery_app

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=120)
    for _ in range(5):  # warm the worker's pool processes and both connections
        celery_app.send_task("bench.han_ping", args=["bench:han:warm"])
        client.blpop("bench:han:warm", timeout=30)
    round_trips = []
    for n in range(count):
        start = time.perf_counter()
        celery_app.send_task("bench.han_ping", args=[f"bench:han:ping:{n}"])
        if client.blpop(f"bench:han:ping:{n}", timeout=30) is None:
            raise TimeoutError("the worker did not run the no-op task")
        round_trips.append(time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(burst):
        celery_app.send_task("bench.han_ping", args=["bench:han:burst"])
    wait_until(lambda: client.llen("bench:han:burst") >= burst, timeout=300, what="the no-op burst", interval=0.01)
    return round_trips, time.perf_counter() - start


def measure_coordinator_alone(count: int) -> list[float]:
    """The coordinator's own work per device, in this process: envelope in, signed 'interviewed' report out."""
    import logging
    import uuid

    from han.coordinator.simulated import SimulatedControllerApplication, SimulatedDevice, SimulatedNetwork
    from han.protocol import CoordinatorIdentity, command_build
    from han.services.head_end_keys import head_end_signing_key

    logging.getLogger("zigpy").setLevel(logging.WARNING)  # keep this process's console readable
    logging.getLogger("han.coordinator").setLevel(logging.WARNING)
    identity = CoordinatorIdentity.generate("bench-alone")
    signing_key = head_end_signing_key()
    devices = [SimulatedDevice(eui64=eui64(0xA00000 + n), install_code=install_code()) for n in range(count)]

    async def main() -> list[float]:
        app = await SimulatedControllerApplication.new(SimulatedControllerApplication.default_config(), auto_form=True)
        app.sim_network = SimulatedNetwork(devices)
        done: dict[str, float] = {}

        def send_report(report: dict) -> None:
            if report["event"] == "interviewed":
                done[report["command_id"]] = time.perf_counter()

        service = in_process_coordinator(identity=identity, app=app, send_report=send_report)
        timings = []
        for device in devices:
            command_id = str(uuid.uuid4())
            start = time.perf_counter()
            envelope = command_build(
                signing_key=signing_key,
                command_type="permit_join",
                command_id=command_id,
                coordinator=identity.name,
                recipient_public_hex=identity.box_public_hex,
                body={"eui64": device.eui64, "device_type": device.device_type, "permit_seconds": 60, "restore": False},
                secret=device.link_key,
            )
            await service.handle(envelope)
            while command_id not in done:
                await asyncio.sleep(0.0005)
            timings.append(done[command_id] - start)
        for task in list(service._background):
            task.cancel()
        await app.shutdown()
        return timings

    return asyncio.run(main())


def measure_latency(rows: list[dict], networks_by_id: dict, actor, processes: Processes) -> tuple[list[float], list[float]]:
    from han.models import Device, DeviceState

    joined_states = {DeviceState.JOINED, DeviceState.INTERVIEWED, DeviceState.VERIFIED}
    to_joined, to_verified = [], []
    for row in rows:
        start = time.perf_counter()
        device = submit(row, networks_by_id[row["network_id"]], actor)
        joined_at = None
        deadline = start + 30
        while True:
            state = Device.objects.filter(pk=device.pk).values_list("state", flat=True).get()
            now = time.perf_counter()
            if joined_at is None and state in joined_states:
                joined_at = now
            if state == DeviceState.VERIFIED:
                break
            if state == DeviceState.FAILED or now > deadline:
                processes.check_alive()
                raise RuntimeError(f"device {row['eui64']} ended {state}: {Device.objects.get(pk=device.pk).failure_reason}")
            time.sleep(POLL_SECONDS)
        to_joined.append(joined_at - start)
        to_verified.append(now - start)
    return to_joined, to_verified


def measure_throughput(rows: list[dict], networks_by_id: dict, actor, processes: Processes, submitters: int) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections
    from django.db.models import Count

    from han.models import Device, DeviceState

    def submit_share(share: list[dict]) -> list[int]:
        # One caller per thread, each on its own database connection, as several web workers would be.
        try:
            return [submit(row, networks_by_id[row["network_id"]], actor).pk for row in share]
        finally:
            connections.close_all()

    tasks_before = processes.log("worker").count(" succeeded in ")
    shares = [rows[i::submitters] for i in range(submitters)]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=submitters) as pool:
        ids = [pk for share_ids in pool.map(submit_share, shares) for pk in share_ids]
    submitted = time.perf_counter() - start
    joined_at = None
    deadline = time.monotonic() + 120 + len(rows) * 0.5
    while True:
        counts = dict(Device.objects.filter(pk__in=ids).values_list("state").annotate(n=Count("id")))
        now = time.perf_counter()
        joined = sum(counts.get(s, 0) for s in (DeviceState.JOINED, DeviceState.INTERVIEWED, DeviceState.VERIFIED))
        if joined_at is None and joined == len(ids):
            joined_at = now
        if counts.get(DeviceState.VERIFIED, 0) == len(ids):
            break
        if counts.get(DeviceState.FAILED) or time.monotonic() > deadline:
            processes.check_alive()
            raise RuntimeError(f"throughput run did not finish: {counts}")
        processes.check_alive()
        time.sleep(0.05)
    time.sleep(0.5)  # the last task's log line
    tasks = processes.log("worker").count(" succeeded in ") - tasks_before
    return {"submitted": submitted, "joined": joined_at - start, "verified": now - start, "tasks": tasks}


def measure_throughput_and_cpu(rows, networks_by_id, actor, processes: Processes, submitters: int, worker_pid: int, coordinators) -> dict:
    """One throughput run, with the CPU each process spent on it (and this benchmark's database backends)."""

    def cpu_now() -> tuple[float, ...]:
        return (
            cpu_seconds(worker_pid),
            sum(cpu_seconds(p.pid) for p in coordinators),
            sum(os.times()[:2]),
            server_cpu("postgres"),
            server_cpu("redis-server"),
        )

    own_database = DatabaseBackendsCpu(DATABASE_URL.rsplit("/", 1)[1].split("?")[0])
    own_database.start()
    before = cpu_now()
    throughput = measure_throughput(rows, networks_by_id, actor, processes, submitters)
    after = cpu_now()
    return {
        "submitters": submitters,
        "throughput": throughput,
        "spent": [a - b for b, a in zip(before, after, strict=True)],
        "own_database_cpu": own_database.stop(),
    }


def measure_memory(points: list[int], processes: Processes, devices_file: Path) -> list[tuple[int, int]]:
    """Idle coordinator processes hosting N simulated premises (no head-end registration needed to start)."""
    rows = []
    for count in points:
        label = f"coordinator-mem-{count}"
        process = processes.coordinator(label, [f"bench-mem-{n:05d}" for n in range(count)], devices_file)
        time.sleep(3)  # every queue consumer connected and waiting
        rows.append((count, rss_kib(process.pid)))
        processes.stop(label)
    return rows


# --- main ----------------------------------------------------------------------------------


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # so a SIGTERM still runs the clean-up in main()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--premises", type=int, default=200)
    parser.add_argument("--devices", type=int, default=1000, help="throughput devices, spread evenly over --premises")
    parser.add_argument("--latency-devices", type=int, default=50)
    parser.add_argument("--memory-points", default="1,50,200", help="premises per idle coordinator process, comma-separated")
    parser.add_argument("--coordinator-processes", type=int, default=1, help="split the throughput premises over this many processes")
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument(
        "--submitters",
        default="1,4",
        help="threads submitting the throughput devices at once (installers at work); comma-separated for one throughput run each,"
        " on fresh devices, in the same run (1 was the default of the earlier outside measurement, 4 of the docs' figures)",
    )
    parser.add_argument(
        "--worker-settings",
        default="",
        help="Django settings module for the worker only (on PYTHONPATH), to try a setting before changing amiportal/settings.py",
    )
    parser.add_argument("--pings", type=int, default=200, help="no-op round trips for the baseline")
    parser.add_argument("--quick", action="store_true", help="a small run: 20 premises, 100 devices, 10 latency devices")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, keys) afterwards")
    args = parser.parse_args()
    if args.quick:
        args.premises, args.devices, args.latency_devices, args.memory_points, args.pings = 20, 100, 10, "1,10,20", 50
    memory_points = [int(p) for p in args.memory_points.split(",") if p.strip()]
    submitter_runs = [int(n) for n in str(args.submitters).split(",") if n.strip()]
    per_premise = max(1, args.devices // args.premises)
    latency_premises = max(1, (args.latency_devices + 4) // 5)

    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    os.environ["CELERY_BROKER_URL"] = REDIS_URL
    prepare_database(DATABASE_URL)
    django_setup(DATABASE_URL)

    from amiportal.accounts.models import User

    workdir = Path(tempfile.mkdtemp(prefix="han-bench-"))
    (workdir / "keys").mkdir()
    processes = Processes(workdir)
    processes.worker_settings = args.worker_settings
    previous_sigterm = signal.signal(signal.SIGTERM, _interrupt)
    ok = False
    try:
        processes.worker(args.worker_concurrency)
        actor = User.objects.create_user(email="installer@bench.invalid", full_name="Bench Installer")

        throughput_networks = create_networks(create_premises("BENCH-T", args.premises), "bench-t", workdir / "keys")
        latency_networks = create_networks(create_premises("BENCH-L", latency_premises), "bench-l", workdir / "keys")
        latency_rows = simulated_rows(latency_networks, 5, 0)[: args.latency_devices]
        throughput_runs = [simulated_rows(throughput_networks, per_premise, 0x10000 * (1 + i)) for i in range(len(submitter_runs))]
        throughput_rows = throughput_runs[0]
        memory_rows = [
            {"eui64": eui64(0x800000 + n * 8 + i), "install_code": install_code(), "device_type": DEVICE_TYPES[i],
             "coordinators": [f"bench-mem-{n:05d}"]}
            for n in range(max(memory_points, default=0)) for i in range(5)
        ]  # fmt: skip
        devices_file = workdir / "simulated_devices.json"
        devices_file.write_text(json.dumps(latency_rows + [row for run in throughput_runs for row in run] + memory_rows))
        networks_by_id = {n.pk: n for n in throughput_networks + latency_networks}

        load_at_start = os.getloadavg()[0]
        print(
            f"premises {args.premises} + {latency_premises} (latency), {len(throughput_rows)} throughput devices,"
            f" {len(latency_rows)} latency devices; work directory {workdir}",
            flush=True,
        )

        # Baselines first, on an otherwise idle worker.
        ping_round_trips, ping_burst = measure_ping(args.pings, 4 * len(throughput_rows))
        alone = measure_coordinator_alone(args.latency_devices)

        memory = measure_memory(memory_points, processes, devices_file)

        latency_names = [n.coordinator.name for n in latency_networks]
        throughput_names = [n.coordinator.name for n in throughput_networks]
        processes.coordinator("coordinator-latency", latency_names, devices_file)
        groups = [throughput_names[i :: args.coordinator_processes] for i in range(args.coordinator_processes)]
        throughput_processes = [processes.coordinator(f"coordinator-t{i}", group, devices_file) for i, group in enumerate(groups)]
        wait_until(
            lambda: all_configured(latency_networks + throughput_networks), timeout=300, what="networks configured", processes=processes
        )
        rss_before = sum(rss_kib(p.pid) for p in throughput_processes)

        to_joined, to_verified = measure_latency(latency_rows, networks_by_id, actor, processes)
        worker_pid = processes.running["worker"].pid
        runs = []
        for submitters, rows in zip(submitter_runs, throughput_runs, strict=True):
            runs.append(measure_throughput_and_cpu(rows, networks_by_id, actor, processes, submitters, worker_pid, throughput_processes))
        time.sleep(1)
        rss_after = sum(rss_kib(p.pid) for p in throughput_processes)
        load_at_end = os.getloadavg()[0]
        ok = True
    finally:
        processes.stop_all()
        signal.signal(signal.SIGTERM, previous_sigterm)
        redis.Redis.from_url(REDIS_URL).flushdb()
        if ok and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"logs and keys kept in {workdir}", file=sys.stderr)

    # Other work on the machine skews every number here; say how busy it was.
    print(
        f"\n{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores,"
        f" 1-minute load average {load_at_start:.1f} at start, {load_at_end:.1f} at end"
    )
    ping_median = statistics.median(ping_round_trips)
    alone_median = statistics.median(alone)
    cores = os.cpu_count()
    rows = [
        ("no-op Celery task round trip (baseline)", len(ping_round_trips), ms(ping_median), ms(percentile(ping_round_trips, 0.95)), "1.0"),
        (
            "coordinator alone: envelope to interviewed (baseline)",
            len(alone),
            ms(alone_median),
            ms(percentile(alone, 0.95)),
            f"{alone_median / ping_median:.1f}",
        ),
        (
            "submission to joined",
            len(to_joined),
            ms(statistics.median(to_joined)),
            ms(percentile(to_joined, 0.95)),
            f"{statistics.median(to_joined) / ping_median:.1f}",
        ),
        (
            "submission to verified",
            len(to_verified),
            ms(statistics.median(to_verified)),
            ms(percentile(to_verified, 0.95)),
            f"{statistics.median(to_verified) / ping_median:.1f}",
        ),
    ]
    print_table(
        f"HAN commissioning latency, one device at a time ({cores} cores; goal: median < 150 ms, p95 < 250 ms)",
        rows,
        ("path", "devices", "median", "p95", "median / no-op task"),
    )

    devices = len(throughput_rows)
    ping_rate = 4 * devices / ping_burst
    rows = [(f"{4 * devices:,} no-op tasks through the worker (baseline)", f"{ping_burst:.2f}s", f"{ping_rate:,.0f} tasks/s", "-", "1.00")]
    for run in runs:
        throughput, callers = run["throughput"], run["submitters"]
        tasks = throughput["tasks"]
        rows += [
            (
                f"{callers} caller(s): submit {devices:,} devices (form service)",
                f"{throughput['submitted']:.2f}s",
                f"{devices / throughput['submitted']:,.0f} devices/s",
                "-",
                "-",
            ),
            (
                f"{callers} caller(s): {devices:,} devices verified, {args.premises} premises",
                f"{throughput['verified']:.2f}s",
                f"{devices / throughput['verified']:,.1f} devices/s",
                f"{tasks / throughput['verified']:,.0f} tasks/s ({tasks / devices:.2f} per device)",
                f"{(tasks / throughput['verified']) / ping_rate:.2f}",
            ),
        ]
    print_table(
        f"HAN commissioning throughput ({args.coordinator_processes} coordinator process(es),"
        f" worker concurrency {args.worker_concurrency}{', worker settings ' + args.worker_settings if args.worker_settings else ''};"
        " goal >= 100 devices/s)",
        rows,
        ("run", "time", "rate", "worker tasks/s", "task rate vs no-op"),
    )

    labels = (
        "Celery worker (main + pool processes)",
        "coordinator process(es)",
        "this process: form service + polling",
        "PostgreSQL, all databases (incl. other users' work)",
        "  of which this benchmark's database (backends sampled)",
        "Redis (incl. other users' work)",
        "this benchmark in all (worker, coordinator, this process, its database, Redis)",
        "idle, or other users' processes on the machine",
    )
    columns = []
    for run in runs:
        spent, own_database_cpu, seconds = run["spent"], run["own_database_cpu"], run["throughput"]["verified"]
        wall_cpu = seconds * (cores or 1)
        ours = spent[0] + spent[1] + spent[2] + own_database_cpu + spent[4]
        values = [spent[0], spent[1], spent[2], spent[3], own_database_cpu, spent[4], ours, wall_cpu - sum(spent)]
        columns.append([f"{v / devices * 1000:.1f} ms ({v / wall_cpu:.0%})" for v in values])
    print_table(
        f"Where the CPU went during each throughput run: CPU per device (share of {cores} cores over the run)",
        [(label, *(column[i] for column in columns)) for i, label in enumerate(labels)],
        ("process", *(f"{run['submitters']} caller(s), {run['throughput']['verified']:.1f}s" for run in runs)),
    )

    rows = [(count, f"{kib / 1024:.1f} MiB", f"{kib / count / 1024:.2f} MiB") for count, kib in memory]
    if len(memory) >= 2:
        (c0, k0), (c1, k1) = memory[0], memory[-1]
        rows.append((f"slope {c0}->{c1}", f"{(k1 - k0) / 1024:.1f} MiB", f"{(k1 - k0) / (c1 - c0):,.0f} KiB per premise"))
    rows.append(
        (
            f"{args.premises} (throughput, idle, networks configured)",
            f"{rss_before / 1024:.1f} MiB",
            f"{rss_before / args.premises / 1024:.2f} MiB",
        )
    )
    rows.append(
        (
            f"{args.premises} (after {devices:,} devices joined)",
            f"{rss_after / 1024:.1f} MiB",
            f"+{(rss_after - rss_before) / devices:,.1f} KiB per joined device",
        )
    )
    print_table("Coordinator process memory (RSS) by simulated premises hosted", rows, ("premises", "RSS", "per premise"))


if __name__ == "__main__":
    main()
