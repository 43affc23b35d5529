"""Real processes: starting beat and a worker signs an audit checkpoint within seconds, not after the
first hourly schedule (issue 10, finding 11)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from amiportal.audit.models import AuditCheckpoint
from amiportal.audit.selectors import audit_verify
from amiportal.audit.services import audit_append
from tests.conftest import database_url_for_subprocess, wait_for

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.objective("SO-U8")
def test_starting_beat_and_a_worker_signs_a_checkpoint_at_once(transactional_db, tmp_path):
    import redis

    broker = os.environ["AMI_TEST_REDIS_URL"]
    redis.Redis.from_url(broker).flushdb()
    for n in range(3):
        audit_append(action="test.event", actor_label="tester", payload={"n": n})
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "CELERY_BROKER_URL": broker,
        "AMI_PROFILE": "test",
        "AMI_AUDIT_CHECKPOINT_MINUTES": "60",  # the hourly schedule: its first run would be an hour away
    }
    celery = [sys.executable, "-m", "celery", "-A", "amiportal"]
    processes = [
        subprocess.Popen([*celery, "beat", "--loglevel", "WARNING", "--schedule", str(tmp_path / "beat-schedule")], cwd=ROOT, env=env),
        subprocess.Popen(
            [*celery, "worker", "--concurrency", "1", "--loglevel", "WARNING", "--without-gossip", "--without-mingle"], cwd=ROOT, env=env
        ),
    ]
    try:
        checkpoint = wait_for(lambda: AuditCheckpoint.objects.first(), timeout=60)
        assert checkpoint.seq == 3
        assert audit_verify().ok
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
