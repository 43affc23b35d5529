"""Row locks never wait on the audit chain's lock in a cycle (found by ``bench/han_bench.py``, 2026-12-03).

An installer's submission appends its audit entry (taking the chain's lock) and commits; only
then does PostgreSQL check its deferred foreign keys, which take a KEY SHARE lock on the
referenced coordinator. A batch of coordinator reports locks that coordinator row first and
appends its audit entries last. With the batch's lock a plain ``FOR UPDATE``, the two waited
for each other and PostgreSQL killed both ("deadlock detected") under four installers.
Every row lock of the project is ``FOR NO KEY UPDATE``: it serializes writers of the row just
the same, and never blocks a foreign key that points at it.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from amiportal.audit.services import audit_append
from han.install_codes import install_code_parse
from han.models import Device, DeviceType
from han.services.commissioning import device_commission
from han.services.relay import _Batch, _reports_preload
from tests.han.conftest import install_code_for, random_eui64

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
APPS = ("amiportal", "billing", "han", "thirdparty")


def test_a_submission_commits_while_a_report_batch_holds_its_coordinator(alice_network, ivan):
    locked, submitted = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def report_batch() -> None:
        # What ``reports_record`` does first: lock the reporting coordinators' rows, then (last) append its audit.
        try:
            with transaction.atomic():
                _reports_preload([{"coordinator": alice_network.coordinator.name, "event": "online"}], _Batch(now=timezone.now()))
                locked.set()
                submitted.wait(timeout=30)
                audit_append(action="test.report_batch", actor_label="test")
        except BaseException as exc:  # noqa: BLE001 (reported by the main thread)
            failures.append(exc)
        finally:
            connection.close()

    batch = threading.Thread(target=report_batch)
    batch.start()
    try:
        assert locked.wait(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '5s'")  # under the old lock the COMMIT below waited for the batch
        eui64 = random_eui64()
        device_commission(
            network=alice_network,
            parsed=install_code_parse(code=install_code_for(), eui64=eui64),
            device_type=DeviceType.IN_HOME_DISPLAY,
            actor=ivan,
        )
    finally:
        submitted.set()
        batch.join(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert not failures
    assert Device.objects.filter(eui64=eui64).exists()


def test_every_row_lock_in_the_project_leaves_foreign_keys_free():
    plain = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"select_for_update\((?![^)]*no_key=True)", line):
                    plain.append(f"{path.relative_to(ROOT)}:{number}")
    assert plain == [], "lock rows with select_for_update(no_key=True) (see this module's docstring): " + ", ".join(plain)
