"""The system as real processes: a Celery worker on Redis, and `make run` end to end."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from amiportal.audit.models import AuditCheckpoint
from amiportal.audit.services import audit_append
from tests.conftest import database_url_for_subprocess, wait_for

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.objective("SO-U8")
def test_a_real_worker_on_redis_signs_an_audit_checkpoint(transactional_db):
    import redis

    from amiportal.audit.tasks import audit_checkpoint_task
    from amiportal.celery import app

    broker = os.environ["AMI_TEST_REDIS_URL"]
    redis.Redis.from_url(broker).flushdb()
    for n in range(3):
        audit_append(action="test.event", actor_label="tester", payload={"n": n})
    env = {**os.environ, "DATABASE_URL": database_url_for_subprocess(), "CELERY_BROKER_URL": broker, "AMI_PROFILE": "test"}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "amiportal",
            "worker",
            "--concurrency",
            "1",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        with app.connection_for_write(broker) as connection:
            audit_checkpoint_task.apply_async(connection=connection)
        checkpoint = wait_for(lambda: AuditCheckpoint.objects.first(), timeout=60)
        assert checkpoint.seq == 3
    finally:
        worker.terminate()
        worker.wait(timeout=30)


@pytest.mark.skipif(os.environ.get("AMI_TEST_SKIP_MAKE_RUN") == "1", reason="AMI_TEST_SKIP_MAKE_RUN=1")
def test_make_run_starts_web_worker_and_beat_and_ctrl_c_stops_them(tmp_path):
    """`make run` on the embedded defaults (SQLite, filesystem broker), as a newcomer runs it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "AMI_PROFILE", "MAKEFLAGS", "MFLAGS"}}
    env.update({"AMI_VAR_DIR": str(tmp_path / "var"), "AMI_PORT": str(port), "PYTHONUNBUFFERED": "1"})
    log = tmp_path / "run.log"
    with log.open("w") as out:
        process = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:

        def web_answers():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_for(web_answers, timeout=240, interval=1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) as response:
            assert b"Sign in" in response.read()
        wait_for(lambda: "ready." in log.read_text() and "beat: Starting" in log.read_text(), timeout=60, interval=1)
        text = log.read_text()
        assert "olga@demo.ami" in text, "the demo logins are printed"
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's process group
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise AssertionError("make run did not stop within 30 s of Ctrl-C:\n" + log.read_text()[-3000:]) from None
    time.sleep(1)
    leftovers = subprocess.run(["pgrep", "-f", f"127.0.0.1:{port}"], capture_output=True, text=True).stdout.strip()
    assert not leftovers, f"processes still running after Ctrl-C: {leftovers}"
