"""An ingest POST cut off mid-write: the gunicorn worker killed, or its PostgreSQL backend terminated (SO-U2).

Real processes: gunicorn on the test database. The batch is stopped after it has written its
readings and before it commits (``stall.py``); then the fault. Nothing may be half-written,
the client must see an error, and sending the same file again must store it exactly once.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import requests

from amiportal.audit.models import AuditEntry
from billing.models import IngestBatch, IntervalReading
from tests.billing.helpers import csv_text, readings, utc
from tests.conftest import signed_in
from tests.factories import MeterFactory
from tests.faults.processes import elapsed_since, figures
from tests.faults.stall import audit_chain_held, backend_ended

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

READINGS = 96 * 7  # a week of 15-minute readings


def _operator_session(user) -> requests.Session:
    client = signed_in(user)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value, domain="127.0.0.1")
    session.cookies.set("csrftoken", client.csrf_token(), domain="127.0.0.1")
    session.headers["X-CSRFToken"] = client.csrf_token()
    return session


def _post_in_background(session: requests.Session, url: str, body: str) -> dict:
    outcome: dict = {}

    def post() -> None:
        try:
            outcome["response"] = session.post(url, files={"file": ("week.csv", body, "text/csv")}, timeout=60)
        except requests.RequestException as error:
            outcome["error"] = error

    outcome["thread"] = threading.Thread(target=post, daemon=True)
    outcome["thread"].start()
    return outcome


def _nothing_written() -> tuple[int, int, int]:
    return IntervalReading.objects.count(), IngestBatch.objects.count(), AuditEntry.objects.filter(action="billing.ingest").count()


def _retry_stores_it_once(session: requests.Session, url: str, body: str) -> tuple[requests.Response, requests.Response]:
    retried = session.post(url, files={"file": ("week.csv", body, "text/csv")}, timeout=60)
    again = session.post(url, files={"file": ("week.csv", body, "text/csv")}, timeout=60)
    return retried, again


@pytest.fixture
def week():
    MeterFactory(serial_number="E-FAULT")
    return csv_text(readings("E-FAULT", utc(2025, 6, 1), hours=24 * 7))


@pytest.mark.objective("SO-U2")
def test_a_web_worker_killed_mid_ingest_leaves_nothing_and_the_retry_stores_the_batch_once(olga, week, fault_processes):
    base_url = fault_processes.web(workers=1)
    url = f"{base_url}/api/billing/ingest/"
    session = _operator_session(olga)
    with audit_chain_held() as chain:
        outcome = _post_in_background(session, url, week)
        backend = chain.stalled_ingest()  # the worker has written the readings, not committed them
        (worker,) = fault_processes.web_workers()
        os.kill(worker, signal.SIGKILL)
        outcome["thread"].join(30)
    killed_at = time.monotonic()
    assert "error" in outcome, "the client sees the connection cut, not a success"
    backend_ended(backend)  # with the lock free it runs on, finds its client gone, and rolls back
    half_written = _nothing_written()
    assert half_written == (0, 0, 0)

    retried, again = _retry_stores_it_once(session, url, week)  # gunicorn has started a new worker meanwhile
    recovered_in = elapsed_since(killed_at)
    assert (retried.status_code, retried.json()["accepted"]) == (201, READINGS)
    assert (again.status_code, again.json()["accepted"], again.json()["duplicates"]) == (201, 0, READINGS)
    stored = IntervalReading.objects.count()
    figures(
        "web worker killed mid-ingest",
        readings=READINGS,
        half_written=sum(half_written),
        lost=READINGS - stored,
        duplicated=stored - READINGS,
        retry_stored_within_s=recovered_in,
    )
    assert stored == READINGS and IngestBatch.objects.count() == 2


@pytest.mark.objective("SO-U2")
def test_a_database_backend_terminated_mid_ingest_leaves_nothing_and_the_client_is_told_to_send_again(olga, week, fault_processes):
    base_url = fault_processes.web(workers=1)
    url = f"{base_url}/api/billing/ingest/"
    session = _operator_session(olga)
    with audit_chain_held() as chain:
        outcome = _post_in_background(session, url, week)
        backend = chain.stalled_ingest()
        chain.terminate(backend)
        chain.backend_gone(backend)
        outcome["thread"].join(30)
    terminated_at = time.monotonic()
    response = outcome["response"]
    assert response.status_code == 503
    assert response.json()["status"] == "not stored" and "send" in response.json()["error"].lower()
    half_written = _nothing_written()
    assert half_written == (0, 0, 0)

    retried, again = _retry_stores_it_once(session, url, week)  # the same worker, on a new connection
    recovered_in = elapsed_since(terminated_at)
    assert (retried.status_code, retried.json()["accepted"]) == (201, READINGS)
    assert (again.status_code, again.json()["duplicates"]) == (201, READINGS)
    stored = IntervalReading.objects.count()
    figures(
        "PostgreSQL backend terminated mid-ingest",
        readings=READINGS,
        half_written=sum(half_written),
        lost=READINGS - stored,
        duplicated=stored - READINGS,
        retry_stored_within_s=recovered_in,
    )
    assert stored == READINGS
