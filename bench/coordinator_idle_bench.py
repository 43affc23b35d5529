"""CPU of an idle ``han_coordinator`` process hosting many simulated premises (issue 12: "idle coordinators cost almost nothing").

Starts ``manage.py han_coordinator --name p0 ... --name pN`` from a checkout (``--root``,
default this one) on the simulated radio, waits until every premise is up and the
start-up has settled, then reads the process's CPU time (utime + stime in
``/proc/<pid>/stat``) over ``--seconds``. Nothing is sent to it: this is the cost of
waiting for commands (queue reads, heartbeats).

Run: .venv/bin/python bench/coordinator_idle_bench.py [--premises 200] [--seconds 30] [--root /path/to/checkout]
Needs Redis (AMI_BENCH_REDIS_URL, default redis://127.0.0.1:6379/9; the coordinator's queues live there).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15 of stat)


def measure(*, root: Path, premises: int, seconds: float, settle: float, redis_url: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as work:
        devices = Path(work) / "devices.json"
        devices.write_text("[]")
        names = [arg for n in range(premises) for arg in ("--name", f"idle-{n}")]
        env = os.environ | {"AMI_PROFILE": "test", "CELERY_BROKER_URL": redis_url, "PYTHONDONTWRITEBYTECODE": "1"}
        log = open(Path(work) / "coordinator.log", "w+b")  # noqa: SIM115
        command = [sys.executable, "manage.py", "han_coordinator", *names, "--key-dir", str(Path(work) / "keys")]
        process = subprocess.Popen(
            [*command, "--simulated-devices", str(devices)],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            started = time.monotonic()
            while Path(log.name).read_text(errors="replace").count(" up (") < premises:
                if process.poll() is not None:
                    raise RuntimeError(Path(log.name).read_text(errors="replace")[-2000:])
                time.sleep(0.5)
            up_after = time.monotonic() - started
            time.sleep(settle)
            before, clock = cpu_seconds(process.pid), time.monotonic()
            time.sleep(seconds)
            used, elapsed = cpu_seconds(process.pid) - before, time.monotonic() - clock
            threads = len(os.listdir(f"/proc/{process.pid}/task"))
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return {
        "premises": premises,
        "up_after_s": round(up_after, 1),
        "cpu_s": round(used, 2),
        "window_s": round(elapsed, 1),
        "cpu_percent_of_a_core": round(100 * used / elapsed, 2),
        "threads": threads,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--premises", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--settle", type=float, default=10, help="seconds to wait after start-up before measuring")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose manage.py to run")
    args = parser.parse_args()
    redis_url = os.environ.get("AMI_BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
    result = measure(root=args.root, premises=args.premises, seconds=args.seconds, settle=args.settle, redis_url=redis_url)
    print(" ".join(f"{k}={v}" for k, v in result.items()), flush=True)


if __name__ == "__main__":
    main()
