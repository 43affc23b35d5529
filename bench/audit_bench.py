"""Audit trail: append rate (one writer, four writer processes) and verification rate.

Baseline, measured in the same run: the same rows written by plain one-row
INSERT transactions into an ordinary (WAL-logged, fsynced) table of the same
shape, with no chain, lock, hash or MAC. The ratio shows what tamper evidence costs per security event.

Run: .venv/bin/python bench/audit_bench.py [--entries N]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import BENCH_DATABASE, django_setup, prepare_database, print_table  # noqa: E402


def _append_worker(count: int, label: str) -> None:
    django_setup()
    from amiportal.audit.services import audit_append

    for n in range(count):
        audit_append(action="bench.event", actor_label=label, target=f"thing:{n}", payload={"n": n, "ip": "127.0.0.1"})


def _baseline(count: int) -> float:
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_plain (LIKE audit_auditentry INCLUDING ALL)")
    start = time.perf_counter()
    for n in range(count):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_plain VALUES (%s, now(), NULL, 'bench', 'bench.event', %s, NULL, '', %s, %s, %s, %s)",
                [n + 1, f"thing:{n}", json.dumps({"n": n}), "0" * 64, "1" * 64, "2" * 64],
            )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=4000)
    entries = parser.parse_args().entries

    prepare_database()
    django_setup(BENCH_DATABASE)
    from amiportal.audit.models import AuditEntry
    from amiportal.audit.selectors import audit_verify

    baseline = _baseline(entries)

    start = time.perf_counter()
    _append_worker(entries, "single")
    single = time.perf_counter() - start

    per_process = entries // 4
    start = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    processes = [ctx.Process(target=_append_worker, args=(per_process, f"p{i}")) for i in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    concurrent = time.perf_counter() - start

    total = AuditEntry.objects.count()
    if total != entries + per_process * 4:
        raise SystemExit(f"expected {entries + per_process * 4} entries, found {total}: a writer failed")
    start = time.perf_counter()
    result = audit_verify()
    verify = time.perf_counter() - start
    assert result.ok, result.reason

    rate = lambda n, s: f"{n / s:,.0f}/s"  # noqa: E731
    rows = [
        ("plain INSERT, one row per transaction (baseline)", entries, f"{baseline:.2f}s", rate(entries, baseline), "1.00"),
        ("audit_append, 1 process", entries, f"{single:.2f}s", rate(entries, single), f"{baseline / single:.2f}"),
        (
            "audit_append, 4 processes (process start included)",
            per_process * 4,
            f"{concurrent:.2f}s",
            rate(per_process * 4, concurrent),
            f"{(baseline / entries * per_process * 4) / concurrent:.2f}",
        ),
        ("audit_verify, whole chain", total, f"{verify:.2f}s", rate(total, verify), "-"),
    ]
    print_table(f"Audit trail on PostgreSQL ({os.cpu_count()} cores)", rows, ("operation", "entries", "time", "rate", "rate vs baseline"))


if __name__ == "__main__":
    main()
