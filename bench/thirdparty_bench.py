"""Third-party API benchmarks on PostgreSQL: a month of 15-minute data, the consent-check overhead, a year's batch.

    .venv/bin/python bench/thirdparty_bench.py            # one premise, 400 days of 15-minute readings
    .venv/bin/python bench/thirdparty_bench.py --days 60  # a quicker run

It (re)creates its database (bench/_setup.py: AMI_BENCH_DATABASE_URL, or --database-url) and prints one table:
  month JSON / XML   IntervalBlock list for the last 30 days of one consented premise (2,880 readings),
                     server time through the view with a real bearer token;
  no consent check   the same view and query with the token lookup, the live consent check, the rate
                     limits and the access-log write taken out (the baseline for the overhead ratio);
  batch year         Batch/Subscription in ESPI XML for the whole history, streamed: time and peak
                     Python memory (tracemalloc) while the stream is consumed.
Timings are medians of repeated runs; checked and unchecked calls alternate, so machine load hits both alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._setup import BENCH_DATABASE, django_setup, prepare_database, print_table  # noqa: E402


def _median_ms(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _paired_ms(first, second, repeat: int) -> tuple[float, float]:
    """Medians of two functions measured alternately, so drift in machine load hits both alike."""
    a, b = [], []
    for _ in range(repeat):
        for function, times in ((first, a), (second, b)):
            started = time.perf_counter()
            function()
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(a), statistics.median(b)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--database-url", default=BENCH_DATABASE, help="Dropped and recreated (default: AMI_BENCH_DATABASE_URL).")
    parser.add_argument("--repeat", type=int, default=31)
    args = parser.parse_args()

    prepare_database(args.database_url)
    # The test profile: a per-process cache for the rate limits, as in the test suite.
    os.environ.setdefault("AMI_PROFILE", "test")
    django_setup(args.database_url)
    from django.conf import settings

    settings.AMI_TP_RATE_PER_CLIENT = settings.AMI_TP_RATE_PER_CONSENT = "1000000/minute"

    from django.test import Client, RequestFactory

    from amiportal.accounts.roles import Role, role_assign
    from amiportal.premises.models import CustomerAccount, CustomerClass, Meter, MeterKind, Premise, ServiceAgreement
    from billing.models import Channel, Source
    from billing.services.ingest import RawReading, readings_ingest
    from tests.conftest import signed_in
    from tests.factories import UserFactory
    from tests.thirdparty import world
    from thirdparty.api.auth import ConsentCredentials
    from thirdparty.api.views import IntervalBlockListApi
    from thirdparty.models import Consent
    from thirdparty.scopes import HISTORY_CHOICES, MAX_HISTORY_MONTHS

    zone = "America/Chicago"
    today = datetime.now(UTC).date()
    first = today - timedelta(days=args.days)
    premise = Premise.objects.create(
        service_point_id="SP-TPB",
        address_line="1 Bench Road",
        city="Bench",
        postal_code="0",
        customer_class=CustomerClass.RESIDENTIAL,
        timezone=zone,
    )
    meter = Meter.objects.create(premise=premise, serial_number="TPB0001", kind=MeterKind.ELECTRIC, installed_on=date(2020, 1, 1))
    begin = datetime(first.year, first.month, first.day, 6, tzinfo=UTC)
    step = timedelta(minutes=15)
    rows = [
        RawReading("", meter.serial_number, Channel.DELIVERED, begin + step * i, 900, 80 + (i * 37) % 400, "Wh")
        for i in range(args.days * 96)
    ]
    readings_ingest(readings=rows, source=Source.HEAD_END)

    customer = UserFactory(email="bench-customer@example.test")
    role_assign(user=customer, role=Role.CUSTOMER)
    account = CustomerAccount.objects.create(account_number="AC-TPB", name="Bench", account_class=CustomerClass.RESIDENTIAL, user=customer)
    ServiceAgreement.objects.create(account=account, premise=premise, move_in=first - timedelta(days=1))
    developer = UserFactory(email="bench-dev@example.test")
    role_assign(user=developer, role=Role.THIRD_PARTY_DEVELOPER)
    application = world.register(developer)
    months = next(m for m in HISTORY_CHOICES if m * 30 >= args.days + 2)
    tokens = world.obtain_tokens(
        signed_in(customer), Client(), application, customer, history=months, scope=f"FB=4_5_15;HistoryLength={MAX_HISTORY_MONTHS}"
    )
    consent = Consent.objects.get()
    bearer = f"Bearer {tokens['access_token']}"

    month_start = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = f"/espi/1_1/resource/Subscription/{consent.pk}/UsagePoint/{meter.pk}/MeterReading/1/IntervalBlock"
    params = {"published-min": month_start}
    factory = RequestFactory()
    checked_view = IntervalBlockListApi.as_view()

    class _Preloaded:
        """The credentials the check would produce, handed over without looking anything up."""

        credentials = ConsentCredentials(token=type("T", (), {"scope": consent.scope_text()})(), consent=consent)

        def authenticate(self, request):
            return customer, self.credentials

        def authenticate_header(self, request):
            return "Bearer"

    class UncheckedIntervalBlockList(IntervalBlockListApi):
        authentication_classes = [_Preloaded]
        throttle_classes = []

        def finalize_response(self, request, response, *args, **kwargs):
            return super(IntervalBlockListApi.__mro__[1], self).finalize_response(request, response, *args, **kwargs)

    unchecked_view = UncheckedIntervalBlockList.as_view()
    kwargs = {"subscription_id": consent.pk, "usage_point_id": meter.pk, "meter_reading_id": 1}

    def call(view, accept):
        request = factory.get(path, params, HTTP_AUTHORIZATION=bearer, HTTP_ACCEPT=accept)
        response = view(request, **kwargs)
        response.render()
        assert response.status_code == 200, response.content[:300]
        return response

    json_bytes = len(call(checked_view, "application/json").content)
    xml_bytes = len(call(checked_view, "application/atom+xml").content)
    readings = sum(len(b["content"]["IntervalReading"]) for b in call(checked_view, "application/json").data["entries"])
    json_ms, bare_json_ms = _paired_ms(
        lambda: call(checked_view, "application/json"), lambda: call(unchecked_view, "application/json"), args.repeat
    )
    xml_ms, bare_xml_ms = _paired_ms(
        lambda: call(checked_view, "application/atom+xml"), lambda: call(unchecked_view, "application/atom+xml"), args.repeat
    )
    # Through the whole middleware stack too, as a third party sees it.
    client = Client()
    full_json_ms = _median_ms(lambda: client.get(path, params, HTTP_AUTHORIZATION=bearer, HTTP_ACCEPT="application/json"), args.repeat)

    batch_path = f"/espi/1_1/resource/Batch/Subscription/{consent.pk}"
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get(batch_path, HTTP_AUTHORIZATION=bearer, HTTP_ACCEPT="application/atom+xml")
    batch_bytes = sum(len(chunk) for chunk in response.streaming_content)
    batch_seconds = time.perf_counter() - started
    _, batch_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print_table(
        f"Third-party API, one consented premise, {args.days} days of 15-minute readings ({len(rows):,} rows)",
        [
            (
                "month, JSON (view, with consent check)",
                f"{readings:,} readings",
                f"{json_ms:.1f} ms",
                f"{json_bytes / 1024:.0f} KiB",
                f"{json_ms / bare_json_ms:.2f}",
            ),
            (
                "month, ESPI XML (view, with consent check)",
                f"{readings:,} readings",
                f"{xml_ms:.1f} ms",
                f"{xml_bytes / 1024:.0f} KiB",
                f"{xml_ms / bare_xml_ms:.2f}",
            ),
            ("month, JSON, no consent check (baseline)", f"{readings:,} readings", f"{bare_json_ms:.1f} ms", "", "1.00"),
            ("month, ESPI XML, no consent check (baseline)", f"{readings:,} readings", f"{bare_xml_ms:.1f} ms", "", "1.00"),
            (
                "month, JSON, whole middleware stack",
                f"{readings:,} readings",
                f"{full_json_ms:.1f} ms",
                "",
                f"{full_json_ms / bare_json_ms:.2f}",
            ),
            (
                "batch, whole history, ESPI XML streamed",
                f"{len(rows):,} readings",
                f"{batch_seconds * 1000:.0f} ms",
                f"{batch_bytes / 1024 / 1024:.1f} MiB",
                f"peak {batch_peak / 1024 / 1024:.1f} MiB",
            ),
        ],
        ("request", "data", "median time", "size", "ratio / memory"),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
