"""Notification centre: 100,000 customers get a critical-peak notice, rendered, de-duplicated and queued.

    .venv/bin/python bench/notifications_bench.py                   # 100,000 customers
    .venv/bin/python bench/notifications_bench.py --customers 10000 # a quicker run

It (re)creates its database (bench/_setup.py: AMI_BENCH_DATABASE_URL, or --database-url) and seeds the
customers with COPY: a user, an account, a premise (in four time zones), an open service agreement and
the critical-peak tariff for each. Tasks go to the Redis broker at --broker-url (its "celery" queue is emptied
before and after). One table:
  declared         ``critical_peak.declared_send``: audience by the occupancy rule, text per premise
                   zone, INSERT ... ON CONFLICT DO NOTHING, preferences, one delivery per channel,
                   and the email deliveries handed to Celery in chunks after commit;
  sent again       the same event again: every key is already there, nothing is stored or queued;
  baseline         the same number of already-rendered rows COPYed into a plain table of the same
                   shape: no audience, no de-duplication, no preferences, no deliveries, no broker.
The last line reads ``notifications: N queued in S s`` (N email deliveries queued, S for "declared").
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._setup import BENCH_DATABASE, django_setup, prepare_database, print_table  # noqa: E402

ZONES = ("America/Chicago", "America/New_York", "America/Denver", "America/Los_Angeles")


def _copy(model, columns: list[str], rows) -> None:
    """COPY rows (tuples in ``columns`` order) into the model's table."""
    from django.db import connection

    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _ids(model, **filters) -> list[int]:
    return list(model.objects.filter(**filters).order_by("pk").values_list("pk", flat=True))


def seed(customers: int):
    from django.utils import timezone

    from amiportal.accounts.models import User
    from amiportal.premises.models import CustomerAccount, Premise, ServiceAgreement
    from billing.models import PremiseTariff, PricingKind, Tariff
    from billing.services.tariffs import tariff_version_create

    now, move_in = timezone.now(), date(2024, 1, 1)
    _copy(
        User,
        ["password", "is_superuser", "email", "full_name", "is_active", "is_staff", "date_joined", "session_generation"],
        (("!", False, f"c{n}@bench.test", f"Customer {n}", True, False, now, 0) for n in range(customers)),
    )
    users = _ids(User)
    _copy(
        CustomerAccount,
        ["account_number", "name", "account_class", "user_id", "created_at"],
        ((f"B{n:09d}", f"Customer {n}", "residential", user, now) for n, user in enumerate(users)),
    )
    _copy(
        Premise,
        ["service_point_id", "address_line", "city", "postal_code", "customer_class", "timezone", "has_der"],
        ((f"BSP{n:09d}", f"{n} Bench Street", "Benchville", "00000", "residential", ZONES[n % 4], False) for n in range(customers)),
    )
    accounts, premises = _ids(CustomerAccount), _ids(Premise)
    _copy(ServiceAgreement, ["account_id", "premise_id", "move_in"], ((a, p, move_in) for a, p in zip(accounts, premises, strict=True)))
    tariff = Tariff.objects.create(code="BENCH-CPP", name="Peak Saver")
    from decimal import Decimal

    tariff_version_create(
        tariff=tariff, effective_from=move_in, pricing=PricingKind.FLAT, flat_rate=Decimal(12), critical_peak_multiplier=Decimal(3)
    )
    _copy(PremiseTariff, ["premise_id", "tariff_id", "start"], ((p, tariff.pk, move_in) for p in premises))
    return tariff


def baseline_copy(count: int) -> float:
    """Pre-rendered rows into a plain table of the same shape (no constraints, no indexes)."""
    from django.db import connection, transaction
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_plain (LIKE notifications_notification INCLUDING DEFAULTS)")
    now, batch = timezone.now(), uuid.uuid4()
    columns = ["id", "kind", "subject", "premise_id", "period", "user_id", "title", "body", "display_text", "link", "created_at", "batch"]
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY bench_plain ({', '.join(columns)}) FROM STDIN") as copy:
            for n in range(count):
                copy.write_row((n + 1, "critical_peak", "e:1", n + 1, "declared", n + 1, "Title", "Body", "Display", "/x", now, batch))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database-url", default=os.environ.get("AMI_BENCH_DATABASE_URL", BENCH_DATABASE))
    parser.add_argument("--broker-url", default=os.environ.get("AMI_BENCH_BROKER_URL", "redis://127.0.0.1:6379/15"))
    args = parser.parse_args()

    prepare_database(args.database_url)
    os.environ["CELERY_BROKER_URL"] = args.broker_url
    os.environ.setdefault("AMI_PROFILE", "development")
    django_setup(args.database_url)
    import redis
    from django.db import transaction
    from django.utils import timezone

    from amiportal.notifications.kinds import critical_peak
    from amiportal.notifications.models import Delivery, Notification
    from billing.models import CriticalPeakEvent

    broker = redis.Redis.from_url(args.broker_url)
    broker.delete("celery")
    started = time.perf_counter()
    tariff = seed(args.customers)
    seeded = time.perf_counter() - started
    print(f"seeded {args.customers:,} customers in {seeded:.1f} s", flush=True)

    from amiportal.accounts.models import User

    olga = User.objects.create(email="olga@bench.test", password="!")
    event = CriticalPeakEvent.objects.create(
        tariff=tariff, day=timezone.localdate() + timedelta(days=1), start_hour=16, end_hour=19, declared_by=olga
    )

    started = time.perf_counter()
    result = critical_peak.declared_send(event_id=event.pk)  # commits, then queues the chunks
    declared = time.perf_counter() - started
    tasks = broker.llen("celery")

    started = time.perf_counter()
    again = critical_peak.declared_send(event_id=event.pk)
    repeated = time.perf_counter() - started

    with transaction.atomic():
        baseline = baseline_copy(args.customers)
    stored, deliveries = Notification.objects.count(), Delivery.objects.count()
    broker.delete("celery")

    print_table(
        f"Critical-peak notice to {args.customers:,} customers (PostgreSQL, Celery tasks on Redis)",
        [
            ("declared", f"{declared:.2f}", f"{declared / baseline:.1f}x", result.stored, result.queued, tasks),
            ("sent again", f"{repeated:.2f}", f"{repeated / baseline:.1f}x", again.stored, again.queued, 0),
            ("baseline (plain COPY)", f"{baseline:.2f}", "1.0x", args.customers, 0, 0),
        ],
        ("step", "seconds", "vs baseline", "stored", "deliveries queued", "tasks queued"),
    )
    print(f"\nrows: {stored:,} notifications, {deliveries:,} deliveries (inbox delivered on storing, email queued)")
    assert stored == args.customers and again.stored == 0 and result.queued == args.customers
    print(f"notifications: {result.queued} queued in {declared:.1f} s")
    return 0 if declared <= 60 else 1


if __name__ == "__main__":
    sys.exit(main())
