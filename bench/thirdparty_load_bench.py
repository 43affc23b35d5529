"""Third-party API under concurrent load through gunicorn: requests per second on PostgreSQL.

    .venv/bin/python bench/thirdparty_load_bench.py                          # 600 requests per row, 4 workers: 2.5-3.5 min on 2 cores
    .venv/bin/python bench/thirdparty_load_bench.py --requests 2000 --workers 2

It (re)creates its own database (amiportal_bench_load on 127.0.0.1, or AMI_BENCH_LOAD_DATABASE_URL),
builds --premises consented premises with --days of 15-minute readings through the project's own
services (readings ingest, application registration, the customer's consent screen, the OAuth token
exchange with PKCE), starts gunicorn on a free loopback port (AMI_PROFILE=development, sync workers,
high rate limits) and drives it from this process with a thread pool (urllib3, loopback only).

Scenarios, each at every --concurrency, interleaved per concurrency level so machine-load drift hits
all of them alike:
  healthz (baseline)   GET /healthz: no authentication, one SELECT 1 - the cost of gunicorn + Django;
  ReadServiceStatus    the cheapest authenticated call: token, live consent check, rate limits, access log;
  day, JSON / XML      one premise-local day's IntervalBlock (96 readings), JSON and ESPI Atom XML.
Requests rotate over the premises' tokens and over 28 different days. Any non-2xx answer is an error.
Reported per row: requests/s, median and p95 latency as the client sees it, errors, req/s relative to
the baseline at the same concurrency, and CPU per request of the gunicorn workers, of their PostgreSQL
backends and of this client (from /proc), which depend far less than req/s on how busy the machine is.
gunicorn is stopped at the end, also on error.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._setup import django_setup, prepare_database, print_table  # noqa: E402

DATABASE_URL = os.environ.get("AMI_BENCH_LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/amiportal_bench_load")
RATE = "100000/second"  # per-second windows keep DRF's per-key timestamp lists short (as 600/minute would)
ZONE = "America/Chicago"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_world(days: int, premises: int) -> list[dict]:
    """Consented premises with readings, and a live access token for each, made the way the portal makes them."""
    os.environ["AMI_PROFILE"] = "development"
    django_setup(DATABASE_URL)
    from django.db import connections
    from django.test import Client

    from amiportal.accounts.roles import Role, role_assign
    from amiportal.premises.models import CustomerAccount, CustomerClass, Meter, MeterKind, Premise, ServiceAgreement
    from billing.models import Channel, Source
    from billing.services.ingest import RawReading, readings_ingest
    from tests.conftest import signed_in
    from tests.factories import UserFactory
    from tests.thirdparty import world
    from thirdparty.models import Consent, ConsentStatus
    from thirdparty.scopes import HISTORY_CHOICES, MAX_HISTORY_MONTHS

    today = datetime.now(UTC).date()
    first = today - timedelta(days=days)
    begin = datetime(first.year, first.month, first.day, 6, tzinfo=UTC)  # premise-local midnight (CST)
    step = timedelta(minutes=15)
    developer = UserFactory(email="load-dev@example.test")
    role_assign(user=developer, role=Role.THIRD_PARTY_DEVELOPER)
    application = world.register(developer)
    months = next(m for m in HISTORY_CHOICES if m * 30 >= days + 2)
    out = []
    for n in range(premises):
        premise = Premise.objects.create(
            service_point_id=f"SP-LOAD-{n}",
            address_line=f"{n} Load Street",
            city="Bench",
            postal_code="0",
            customer_class=CustomerClass.RESIDENTIAL,
            timezone=ZONE,
        )
        meter = Meter.objects.create(premise=premise, serial_number=f"LOAD{n:04d}", kind=MeterKind.ELECTRIC, installed_on=date(2020, 1, 1))
        rows = [
            RawReading("", meter.serial_number, Channel.DELIVERED, begin + step * i, 900, 80 + ((i + n) * 37) % 400, "Wh")
            for i in range(days * 96)
        ]
        readings_ingest(readings=rows, source=Source.HEAD_END)
        customer = UserFactory(email=f"load-customer-{n}@example.test")
        role_assign(user=customer, role=Role.CUSTOMER)
        account = CustomerAccount.objects.create(
            account_number=f"AC-LOAD-{n}", name=f"Load {n}", account_class=CustomerClass.RESIDENTIAL, user=customer
        )
        ServiceAgreement.objects.create(account=account, premise=premise, move_in=first - timedelta(days=1))
        tokens = world.obtain_tokens(
            signed_in(customer), Client(), application, customer, history=months, scope=f"FB=4_5_15;HistoryLength={MAX_HISTORY_MONTHS}"
        )
        consent = Consent.objects.get(customer=customer, status=ConsentStatus.ACTIVE)
        out.append({"token": tokens["access_token"], "consent": consent.pk, "meter": meter.pk})
    connections.close_all()
    return out


# --- gunicorn ---------------------------------------------------------------------------------


def start_gunicorn(port: int, workers: int, log_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "AMI_PROFILE": "development",
        "DATABASE_URL": DATABASE_URL,
        "AMI_TP_RATE_PER_CLIENT": RATE,
        "AMI_TP_RATE_PER_CONSENT": RATE,
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    command = [str(ROOT / ".venv/bin/gunicorn"), "amiportal.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    # gunicorn 27 otherwise opens one control socket per user (~/.gunicorn/gunicorn.ctl), shared with any other gunicorn running.
    command.append("--no-control-socket")
    log = log_path.open("w")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # the master: graceful stop of its workers
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def worker_pids(master: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except OSError:
        return []


# --- CPU accounting (server side, from /proc) ------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def _backend_pids() -> list[int]:
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    with psycopg.connect(DATABASE_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchall()
    return [r[0] for r in rows]


def server_cpu(master: int) -> tuple[dict[int, float], dict[int, float]]:
    """CPU seconds so far of each gunicorn worker, and of each PostgreSQL backend connected to the bench database."""
    return tuple({pid: cpu for pid in pids if (cpu := _cpu_seconds(pid)) is not None} for pids in (worker_pids(master), _backend_pids()))


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


# --- The load client ------------------------------------------------------------------------------


def drive(pool, make_request, total: int, concurrency: int) -> dict:
    """``total`` requests from ``concurrency`` threads; each thread sends its next request as soon as the last one is answered."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def loop():
        mine, bad = [], []
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            path, headers = make_request(i)
            started = time.perf_counter()
            try:
                response = pool.request("GET", path, headers=headers, retries=False, preload_content=True)
                status = response.status
            except Exception as exc:  # noqa: BLE001 - a failed request is counted, not raised
                status, response = None, exc
            mine.append(time.perf_counter() - started)
            if status is None or not 200 <= status < 300:
                body = response.data[:200] if status is not None else repr(response)
                bad.append(f"{status} {path}: {body}")
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    threads = [threading.Thread(target=loop) for _ in range(concurrency)]
    client_cpu = time.process_time()
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "wall": wall,
        "rps": len(latencies) / wall,
        "median_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[max(0, int(len(latencies) * 0.95) - 1)] * 1000,
        "errors": errors,
        "client_cpu": time.process_time() - client_cpu,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=60, help="days of 15-minute readings per premise (60)")
    parser.add_argument("--premises", type=int, default=4, help="consented premises, one customer and token each (4)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (4)")
    parser.add_argument("--requests", type=int, default=600, help="requests per scenario and concurrency level (600)")
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated client concurrency levels (1,4,16)")
    parser.add_argument("--port", type=int, default=0, help="loopback port for gunicorn (default: a free one, never 8000)")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]

    import urllib3

    started = time.perf_counter()
    prepare_database(DATABASE_URL)
    subjects = build_world(args.days, args.premises)
    setup_seconds = time.perf_counter() - started

    today = datetime.now(UTC).date()
    days = [(today - timedelta(days=d)).strftime("%Y%m%d") for d in range(3, 31)]  # whole premise-local days, all with data
    root = "/espi/1_1/resource"

    def authed(accept: str, path_of):
        def make(i: int):
            subject = subjects[i % len(subjects)]
            return path_of(subject, i), {"Authorization": f"Bearer {subject['token']}", "Accept": accept}

        return make

    def day_path(subject, i):
        return f"{root}/Subscription/{subject['consent']}/UsagePoint/{subject['meter']}/MeterReading/1/IntervalBlock/{days[i % len(days)]}"

    scenarios = [
        ("healthz (baseline)", lambda i: ("/healthz", {})),
        ("ReadServiceStatus, JSON", authed("application/json", lambda s, i: f"{root}/ReadServiceStatus")),
        ("IntervalBlock, 1 day, JSON", authed("application/json", day_path)),
        ("IntervalBlock, 1 day, ESPI XML", authed("application/atom+xml", day_path)),
    ]

    port = args.port or _free_port()
    workdir = Path(tempfile.mkdtemp(prefix="amiportal-load-"))
    log_path = workdir / "gunicorn.log"
    server = start_gunicorn(port, args.workers, log_path)
    results = []
    failed = False
    try:
        pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=max(levels), block=True, timeout=urllib3.Timeout(connect=5, read=60))
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{log_path.read_text()[-3000:]}")
            try:
                if pool.request("GET", "/healthz", retries=False).status == 200:
                    break
            except urllib3.exceptions.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer /healthz within 60 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)

        # What one request of each kind returns (and warm every worker: imports, URL resolver, DB connection).
        sizes = {}
        for name, make in scenarios:
            warm = drive(pool, make, 10 * args.workers, args.workers)
            if warm["errors"]:
                raise RuntimeError(f"{name}: warm-up failed: {warm['errors'][0]}")
            path, headers = make(0)
            sizes[name] = len(pool.request("GET", path, headers=headers, retries=False).data)
        path, headers = scenarios[2][1](0)
        sample = json.loads(pool.request("GET", path, headers=headers, retries=False).data)
        per_day = len(sample["content"]["IntervalReading"])

        for concurrency in levels:
            baseline = None
            for name, make in scenarios:
                before = server_cpu(server.pid)
                result = drive(pool, make, args.requests, concurrency)
                after = server_cpu(server.pid)
                result["app_cpu_ms"] = cpu_delta(before[0], after[0]) * 1000 / result["requests"]
                result["db_cpu_ms"] = cpu_delta(before[1], after[1]) * 1000 / result["requests"]
                baseline = baseline or result["rps"]
                result.update(name=name, concurrency=concurrency, ratio=result["rps"] / baseline)
                results.append(result)
                print(
                    f"  {name:32} c={concurrency:<3} {result['rps']:7.1f} req/s  errors {len(result['errors'])}",
                    file=sys.stderr,
                    flush=True,
                )
                if result["errors"]:
                    failed = True
                    print(f"    first error: {result['errors'][0]}", file=sys.stderr)
    finally:
        stop_gunicorn(server)

    print_table(
        f"Third-party API through gunicorn ({args.workers} sync workers), {args.premises} consented premises x "
        f"{args.days} days of 15-minute readings; {per_day} readings per day block; "
        f"JSON day {sizes[scenarios[2][0]] / 1024:.0f} KiB, XML day {sizes[scenarios[3][0]] / 1024:.0f} KiB; CPU columns per request",
        [
            (
                r["name"],
                r["concurrency"],
                f"{r['requests']:,}",
                f"{r['rps']:.0f}",
                f"{r['median_ms']:.1f} ms",
                f"{r['p95_ms']:.1f} ms",
                len(r["errors"]),
                f"{r['ratio']:.2f}",
                f"{r['app_cpu_ms']:.1f} ms",
                f"{r['db_cpu_ms']:.1f} ms",
                f"{r['client_cpu'] * 1000 / r['requests']:.2f} ms",
            )
            for r in results
        ],
        (
            "scenario",
            "concurrency",
            "requests",
            "req/s",
            "median",
            "p95",
            "errors",
            "vs healthz",
            "gunicorn CPU",
            "Postgres CPU",
            "client CPU",
        ),
    )
    print(f"\nset-up (database, readings, consents, tokens) {setup_seconds:.1f} s; gunicorn log: {log_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
