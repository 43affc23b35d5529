"""Billing benchmarks on PostgreSQL: ingest, dashboard, interval data, Green Button export.

    make bench BENCH=billing                              # 200 meters, a year each (about 7 million readings)
    .venv/bin/python bench/billing_bench.py --meters 20   # a quicker run
    .venv/bin/python bench/billing_bench.py --reuse       # no ingest: the pages on the database a full run left

It (re)creates its own database (AMI_BENCH_DATABASE_URL, default amiportal_bench on 127.0.0.1) and prints
one table. Every figure has a baseline measured in the same run on the same rows:
  ingest     readings_ingest (validation, versioning, binary COPY into the readings table, rollups,
             batch record and audit entry) against a raw COPY of the same final row tuples into a
             table made with CREATE TABLE .. (LIKE billing_intervalreading INCLUDING ALL): the same
             columns, identity, check constraints and all four indexes (primary key, the partial
             covering unique index, the history index, BRIN), filled meter by meter alongside the
             readings table so both grow alike. The raw COPY is done twice per meter, in text and
             binary format into two such tables, and the faster of the two is the baseline;
  dashboard  the customer dashboard page (server time through Django's test client, signed in)
             against the bare SQL that fetches the numbers it shows (the tariff versions and
             event days, today's intervals, yesterday's and today's hourly rollups with last year's
             day's up to the same hour, this cycle's and last year's per-TOU-period rollups, the
             utility's bill summaries, the similar-homes row), timed alternately run by
             run. The dashboard premise gets today's intervals up to now first, and the
             similar-homes ranking is made as the daily beat task makes it (its time is shown; it
             is not part of the page). Issue 13's goal: the page's median at most 3.5 times that
             bare SQL. A second row sets the page against all the SQL it runs: those reads plus
             what every signed-in page reads around them (the user with their roles, second factor
             and unread count; the premise with the reader's occupancies; its meters; whether it has
             a HAN network), as the same compiled statements; shown, not the goal;
  periods    every period's chart data (day, week, month, billing period, last 30 days, year; in
             energy and in money) for the dashboard meter, as the page builds it;
  intervals  a year of 15-minute chart data (intervals.json) against the bare SQL for those rows
             (one row per reading, as before; the endpoint's own two array queries are shown too);
  export     Green Button XML for a year (time and peak Python memory, written to /dev/null)
             against the bare SQL for those rows.
Timings are medians of repeated runs (ingest: one pass). After loading, the tables get
VACUUM ANALYZE: the cluster runs with autovacuum off, and without a vacuum the visibility map is
never set, so no index-only scan could skip the heap as it does in steady state.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
import zoneinfo
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._setup import django_setup, prepare_database  # noqa: E402 (needs ROOT on the path)


def _median_ms(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _alternating_medians_ms(*functions, repeat: int) -> tuple[float, ...]:
    """Medians of each function, timed alternately (one of each per round)."""
    times: list[list[float]] = [[] for _ in functions]
    for _ in range(repeat):
        for function, bucket in zip(functions, times, strict=True):
            started = time.perf_counter()
            function()
            bucket.append((time.perf_counter() - started) * 1000)
    return tuple(statistics.median(bucket) for bucket in times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meters", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument(
        "--database", default=os.environ.get("AMI_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/amiportal_bench")
    )
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="skip the ingest: reuse a database a full run left (same --meters and --days, on the same UTC day) and measure "
        "only the dashboard, the chart data and the export; the ingest row is left out of the table",
    )
    args = parser.parse_args()

    if not args.reuse:
        prepare_database(args.database)
    os.environ.setdefault("AMI_PROFILE", "test")
    django_setup(args.database)

    from django.db import connection

    from amiportal.premises.models import CustomerAccount, Meter
    from billing.formats.espi_write import greenbutton_feed
    from billing.models import Channel, IntervalReading, Source
    from billing.selectors import window_for_dates
    from billing.services.ingest import readings_ingest
    from billing.services.similar_homes import similar_homes_refresh
    from tests.conftest import signed_in

    today = datetime.now(UTC).date()
    first_day = today - timedelta(days=args.days)
    start = datetime(first_day.year, first_day.month, first_day.day, 6, tzinfo=UTC)
    intervals = args.days * 96

    if args.reuse:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        meters = list(Meter.objects.filter(serial_number__startswith="B").order_by("serial_number"))
        if len(meters) != args.meters:
            raise SystemExit(f"--reuse: the database holds {len(meters)} bench meters, not {args.meters}; run without --reuse first")
        dashboard_meter = meters[0]
        premise = dashboard_meter.premise
        user = CustomerAccount.objects.get(account_number="AC-BENCH").user
        client = signed_in(user)
        rows = []
    else:
        rows, dashboard_meter, premise, client = _load(args, today, start, intervals)

    # Today so far for the dashboard premise (the year above ends at 06:00 UTC), as a head-end
    # delivers it; in a reused database only what is new since the last run goes in.
    now = datetime.now(UTC)
    so_far = int((now - (start + timedelta(days=args.days))).total_seconds() // 900)
    readings_ingest(
        readings=_rows_for(dashboard_meter, start + timedelta(days=args.days), so_far, offset=intervals), source=Source.HEAD_END
    )
    with connection.cursor() as cursor:
        for table in ("billing_intervalreading", "billing_usagerollup", "billing_periodrollup"):
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("SELECT count(*) FROM billing_intervalreading")
        table_rows = cursor.fetchone()[0]

    # The similar-homes ranking, as the daily beat task makes it (here for the premise's yesterday).
    local_today = now.astimezone(zoneinfo.ZoneInfo(premise.timezone)).date()
    began = time.perf_counter()
    ranked = similar_homes_refresh(as_of=local_today - timedelta(days=1), recompute=True)
    refresh_ms = (time.perf_counter() - began) * 1000

    # --- Dashboard ------------------------------------------------------------------------------
    url = f"/customer/premises/{premise.pk}/usage/"
    assert client.get(url).status_code == 200
    assert b"similar residential premises" in client.get(url).content
    today = local_today
    cycle_start = today.replace(day=1)
    day_window = window_for_dates(premise, today, today)
    two_days_window = window_for_dates(premise, today - timedelta(days=1), today)
    last_year_first, last_year_last = cycle_start.replace(year=cycle_start.year - 1), today.replace(year=today.year - 1)
    last_year_day = window_for_dates(premise, last_year_last, last_year_last)
    last_year_cutoff = last_year_day.start + timedelta(hours=now.astimezone(zoneinfo.ZoneInfo(premise.timezone)).hour)

    def bare_dashboard_sql():
        # What the page reads for its numbers (billing.dashboard.dashboard_build, default view: today):
        # the tariff versions and event days (prices), today's intervals and hours (the chosen period's
        # chart) and, in one read, yesterday's and today's hours (today against yesterday) with the
        # same day last year's hours up to this hour (the same span to the same time), the
        # per-TOU-period rollups of this cycle and of the same days last year, the utility's bill
        # summaries and the similar-homes row. (A tiered home
        # also reads the month's days, a home with solar the year's: this one has neither.) Each range names both
        # channels, as the page's reads do, so both walk the same short index ranges.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT v.* FROM billing_premisetariff a JOIN billing_tariffversion v ON v.tariff_id = a.tariff_id WHERE a.premise_id = %s",
                [premise.pk],
            )
            cursor.fetchall()
            cursor.execute(
                "SELECT e.day, e.start_hour, e.end_hour FROM billing_premisetariff a JOIN billing_criticalpeakevent e "
                "ON e.tariff_id = a.tariff_id WHERE a.premise_id = %s AND e.day >= %s",
                [premise.pk, last_year_first],
            )
            cursor.fetchall()
            cursor.execute(
                "SELECT start, channel, value FROM billing_intervalreading "
                "WHERE meter_id=%s AND channel IN (1, 2) AND is_current AND start >= %s AND start < %s",
                [dashboard_meter.pk, day_window.start, day_window.end],
            )
            cursor.fetchall()
            cursor.execute(
                "SELECT period_start, channel, value FROM billing_usagerollup WHERE meter_id=%s AND channel IN (1, 2) AND granularity=1 "
                "AND ((period_start >= %s AND period_start < %s) OR (period_start >= %s AND period_start < %s))",
                [dashboard_meter.pk, last_year_day.start, last_year_cutoff, two_days_window.start, two_days_window.end],
            )
            cursor.fetchall()
            for first, last in ((cycle_start, today), (last_year_first, last_year_last)):
                cursor.execute(
                    "SELECT day, channel, period, value FROM billing_periodrollup "
                    "WHERE meter_id=%s AND channel IN (1, 2) AND day >= %s AND day <= %s",
                    [dashboard_meter.pk, first, last],
                )
                cursor.fetchall()
            cursor.execute("SELECT * FROM billing_utilitybillsummary WHERE premise_id = %s", [premise.pk])
            cursor.fetchall()
            cursor.execute(
                "SELECT total_wh, group_size, below, above, others_median_wh FROM billing_similarhomesrank "
                "WHERE meter_id = %s AND as_of <= %s ORDER BY as_of DESC LIMIT 1",
                [dashboard_meter.pk, today],
            )
            cursor.fetchall()

    # What every signed-in page of the portal reads around those numbers, as compiled SQL: the user with their roles,
    # second factor and unread count, the premise with the reader's occupancies, its meters with whether it has a HAN (one read).
    from amiportal.accounts.selectors import _USER_WITH_FACTS
    from amiportal.premises.selectors import _AGREEMENTS_WITH_PREMISE
    from billing.commodities import _PREMISE_METERS

    bench_user_id = CustomerAccount.objects.get(account_number="AC-BENCH").user_id

    def bare_page_sql():
        _USER_WITH_FACTS.rows(user_id=bench_user_id)
        _AGREEMENTS_WITH_PREMISE.rows(premise_id=premise.pk, user_id=bench_user_id)
        _PREMISE_METERS.rows(premise_id=premise.pk)
        bare_dashboard_sql()

    # Page and bare SQL alternate, run by run, so a change in the machine's load falls on all alike.
    dashboard_ms, bare_dashboard_ms, bare_page_ms = _alternating_medians_ms(
        lambda: client.get(url), bare_dashboard_sql, bare_page_sql, repeat=max(41, args.repeat)
    )

    # --- Every period's chart data (billing.period_charts), as the dashboard builds it ------------
    from amiportal.premises.selectors import occupancies_for
    from billing.period_charts import period_chart
    from billing.periods import period_for
    from billing.selectors import occupancy_windows
    from billing.tariff_engine import PriceBook

    occupancies = occupancies_for(user=CustomerAccount.objects.get(account_number="AC-BENCH").user, premise=premise)
    period_ms = {}
    for kind in ("day", "week", "month", "cycle", "30days", "year"):
        for show in ("energy", "money"):
            period = period_for(kind, today - timedelta(days=40) if kind != "year" else today)

            def chart(period=period, show=show):
                book = PriceBook(premise, period.first.replace(day=1), today + timedelta(days=2))
                windows = occupancy_windows(premise, occupancies, period.first, today)
                period_chart(premise=premise, meter=dashboard_meter, period=period, show=show, windows=windows, book=book, last_day=today)

            period_ms[(kind, show)] = _median_ms(chart, max(5, args.repeat // 3))
    slowest = max(period_ms, key=period_ms.get)

    # --- A year of 15-minute chart data --------------------------------------------------------
    chart_first = today - timedelta(days=365)
    chart_url = f"/customer/premises/{premise.pk}/usage/intervals.json?start={chart_first}&end={today}"
    chart_window = window_for_dates(premise, chart_first, today)
    payload = client.get(chart_url).json()
    intervals_ms = _median_ms(lambda: client.get(chart_url), max(5, args.repeat // 3))

    def bare_intervals_sql():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT start, channel, seconds, value FROM billing_intervalreading "
                "WHERE meter_id=%s AND is_current AND start >= %s AND start < %s ORDER BY start, channel",
                [dashboard_meter.pk, chart_window.start, chart_window.end],
            )
            return cursor.fetchall()

    bare_intervals_ms = _median_ms(bare_intervals_sql, max(5, args.repeat // 3))

    from billing.selectors import _CHANNEL_ARRAYS

    def array_intervals_sql():
        with connection.cursor() as cursor:
            for channel in (Channel.DELIVERED, Channel.RECEIVED):
                cursor.execute(_CHANNEL_ARRAYS, [dashboard_meter.pk, channel, chart_window.start, chart_window.end])
                cursor.fetchall()

    array_intervals_ms = _median_ms(array_intervals_sql, max(5, args.repeat // 3))

    # --- Green Button export of a year -----------------------------------------------------------
    def export():
        with open(os.devnull, "w") as sink:
            for chunk in greenbutton_feed(premise=premise, windows=[chart_window], base_url="https://bench.example/"):
                sink.write(chunk)

    export()
    export_ms = _median_ms(export, 3)
    tracemalloc.start()
    export()
    _, export_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    exported = IntervalReading.objects.filter(
        meter=dashboard_meter, is_current=True, start__gte=chart_window.start, start__lt=chart_window.end
    ).count()

    rows += [
        (
            "similar-homes daily ranking",
            f"{refresh_ms:.1f} ms ({ranked} homes ranked)",
            "",
            None,
            "daily, off the page",
        ),
        (
            "dashboard page",
            f"{dashboard_ms:.1f} ms median",
            f"bare SQL {bare_dashboard_ms:.1f} ms",
            dashboard_ms / bare_dashboard_ms,
            "<= 3.5 x bare SQL",
        ),
        (
            "dashboard page, against all its SQL",
            f"{dashboard_ms:.1f} ms median",
            f"bare SQL with the user and access reads {bare_page_ms:.1f} ms",
            dashboard_ms / bare_page_ms,
            "(shown, not the goal)",
        ),
        (
            "any period's chart data",
            f"slowest {period_ms[slowest]:.1f} ms ({slowest[0]}, {slowest[1]}); year in money {period_ms[('year', 'money')]:.1f} ms",
            f"day in energy {period_ms[('day', 'energy')]:.1f} ms",
            None,
            "< 100 ms",
        ),
        (
            "year of 15-min chart data",
            f"{intervals_ms:.1f} ms median ({len(payload['start']):,} intervals; its SQL {array_intervals_ms:.1f} ms)",
            f"bare SQL {bare_intervals_ms:.1f} ms",
            intervals_ms / bare_intervals_ms,
            "< 100 ms",
        ),
        (
            "Green Button export, 1 year",
            f"{export_ms:.0f} ms, peak {export_peak / 2**20:.1f} MiB ({exported:,} readings)",
            f"bare SQL {bare_intervals_ms:.1f} ms",
            export_ms / bare_intervals_ms,
            "< 2000 ms, bounded memory",
        ),
    ]
    print(f"\nbilling benchmark · {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · PostgreSQL · table holds {table_rows:,} readings\n")
    print(f"| {'measure':<28} | {'result':<64} | {'baseline (same run)':<60} | {'ratio':>7} | goal")
    print(f"|{'-' * 30}|{'-' * 66}|{'-' * 62}|{'-' * 9}|------")
    for name, value, baseline, ratio, goal in rows:
        shown = "" if ratio is None else f"{ratio:.2f}"
        print(f"| {name:<28} | {value:<64} | {baseline:<60} | {shown:>7} | {goal}")
    return 0


def _rows_for(meter, begin: datetime, count: int, offset: int = 0) -> list:
    """``count`` 15-minute readings from ``begin``; ``offset`` continues the value pattern of an earlier series."""
    from billing.models import Channel
    from billing.services.ingest import RawReading

    step = timedelta(minutes=15)
    seed = meter.pk * 7919
    return [
        RawReading("", meter.serial_number, Channel.DELIVERED, begin + step * i, 900, 80 + (seed + (i + offset) * 37) % 400, "Wh")
        for i in range(count)
    ]


def _load(args, today: date, start: datetime, intervals: int):
    """Fill the database: ``args.meters`` meter-years (timed against a raw COPY), a second year for the first meter, a customer."""
    from django.db import connection, transaction

    from amiportal.accounts.roles import Role, role_assign
    from amiportal.premises.models import CustomerAccount, CustomerClass, Meter, MeterKind, Premise, ServiceAgreement
    from billing.models import PricingKind, Source, Tariff
    from billing.services.ingest import readings_ingest
    from billing.services.tariffs import premise_tariff_assign, tariff_version_create
    from tests.billing.tariffs import TOU
    from tests.conftest import signed_in
    from tests.factories import UserFactory

    zone_name = "America/Chicago"
    tariff = Tariff.objects.create(code="BENCH-TOU", name="Bench TOU")
    tariff_version_create(tariff=tariff, effective_from=date(2020, 1, 1), pricing=PricingKind.TOU, definition=TOU)
    meters = []
    for index in range(args.meters):
        premise = Premise.objects.create(
            service_point_id=f"SP-B{index:05d}",
            address_line=f"{index} Bench Road",
            city="Bench",
            postal_code="0",
            customer_class=CustomerClass.RESIDENTIAL,
            timezone=zone_name,
        )
        premise_tariff_assign(premise=premise, tariff=tariff, start=date(2020, 1, 1))
        meters.append(
            Meter.objects.create(premise=premise, serial_number=f"B{index:07d}", kind=MeterKind.ELECTRIC, installed_on=date(2020, 1, 1))
        )

    # --- Ingest -------------------------------------------------------------------------------
    ingest_seconds = 0.0
    total = 0
    raw_tuples_seconds = 0.0
    raw_binary_seconds = 0.0
    columns = "meter_id, channel, start, seconds, value, quality, source, version, is_current, batch_id"
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_raw_copy (LIKE billing_intervalreading INCLUDING ALL)")
        cursor.execute("CREATE TABLE bench_raw_copy_binary (LIKE billing_intervalreading INCLUDING ALL)")

    def raw_copy(statement: str, tuples: list[tuple], types: list[str] | None) -> float:
        began = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            with cursor.cursor.copy(statement) as copy:
                if types:
                    copy.set_types(types)
                for item in tuples:
                    copy.write_row(item)
        return time.perf_counter() - began

    for meter in meters:
        batch = _rows_for(meter, start, intervals)
        began = time.perf_counter()
        report = readings_ingest(readings=batch, source=Source.HEAD_END)
        ingest_seconds += time.perf_counter() - began
        assert report.accepted == len(batch), report.as_dict()
        total += len(batch)
        # Raw COPY of the same rows, as the final tuples the ingest stored, into identical tables.
        tuples = [(meter.pk, 1, row.start, 900, row.value, 0, Source.HEAD_END, 1, True, report.batch_id) for row in batch]
        raw_tuples_seconds += raw_copy(f"COPY bench_raw_copy ({columns}) FROM STDIN", tuples, None)
        raw_binary_seconds += raw_copy(
            f"COPY bench_raw_copy_binary ({columns}) FROM STDIN (FORMAT BINARY)",
            tuples,
            ["int8", "int2", "timestamptz", "int4", "int8", "int2", "int2", "int4", "bool", "int8"],
        )
    ingest_rate = total / ingest_seconds
    copy_text_rate = total / raw_tuples_seconds
    copy_binary_rate = total / raw_binary_seconds
    copy_rate = max(copy_text_rate, copy_binary_rate)

    # A second year before the first for meter 0: the dashboard premise holds two years.
    dashboard_meter = meters[0]
    older_start = start - timedelta(days=args.days)
    readings_ingest(readings=_rows_for(dashboard_meter, older_start, intervals), source=Source.HEAD_END)
    premise = dashboard_meter.premise
    user = UserFactory(email="bench@example.test")
    role_assign(user=user, role=Role.CUSTOMER)
    account = CustomerAccount.objects.create(account_number="AC-BENCH", name="Bench", account_class=CustomerClass.RESIDENTIAL, user=user)
    ServiceAgreement.objects.create(account=account, premise=premise, move_in=older_start.date())
    client = signed_in(user)
    rows = [
        (
            "ingest",
            f"{ingest_rate:,.0f} readings/s ({total:,} readings, {args.meters} meters)",
            f"raw COPY {copy_rate:,.0f} readings/s (text {copy_text_rate:,.0f}, binary {copy_binary_rate:,.0f})",
            ingest_rate / copy_rate,
            ">= 0.5 of raw COPY",
        )
    ]
    return rows, dashboard_meter, premise, client


if __name__ == "__main__":
    raise SystemExit(main())
