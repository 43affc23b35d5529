"""Real processes for the fault tests: their own Redis broker, gunicorn, a Celery worker and beat.

The broker is a redis-server started for the test on a free port, so stopping it
disturbs nobody else's tests on the machine's shared Redis.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

from tests.conftest import wait_for
from tests.han.test_relay_processes import Processes

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OwnRedis:
    """A throw-away redis-server (no persistence: stopping it loses whatever it held, like a crashed broker)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        wait_for(lambda: self._answers(client), timeout=15, interval=0.1)

    @staticmethod
    def _answers(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


class FaultProcesses(Processes):
    """The relay tests' process set, plus gunicorn and a beat with short intervals."""

    def beat(self, *entries: str, every_seconds: float = 2) -> subprocess.Popen:
        self.env["AMI_TEST_BEAT_SECONDS"] = str(every_seconds)
        schedule = self.tmp_path / "beat-schedule"
        return self.start("beat", str(ROOT / "tests" / "faults" / "beat_fast.py"), str(schedule), *entries)

    def web(self, *, workers: int = 1, timeout: int = 30) -> str:
        """Start gunicorn as the Procfile does (gunicorn.conf.py included); returns its base URL."""
        port = free_port()
        bind = f"127.0.0.1:{port}"
        self.start("web", "-m", "gunicorn", "amiportal.wsgi", "--bind", bind, "--workers", str(workers), "--timeout", str(timeout))

        def listening() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return True
            except OSError:
                return False

        wait_for(listening, timeout=60, interval=0.3)
        return f"http://127.0.0.1:{port}"

    def web_workers(self) -> list[int]:
        """The pids of gunicorn's worker processes (the children of its master)."""
        master = self.running["web"].pid
        found = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
        return [int(pid) for pid in found]

    def kill(self, name: str) -> None:
        """SIGKILL the process and everything it started: no chance to clean up."""
        process = self.running.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        """At the end of a fault test nothing needs a graceful stop: kill, so teardown takes no shutdown timeouts."""
        for name in list(self.running):
            self.kill(name)


def elapsed_since(start: float) -> float:
    return round(time.monotonic() - start, 1)


def figures(scenario: str, **counts: object) -> None:
    """Print a scenario's figures (run pytest with -s to see them; docs/reliability.md quotes them)."""
    print(f"\nFAULT {scenario}: " + ", ".join(f"{name}={value}" for name, value in counts.items()), flush=True)
