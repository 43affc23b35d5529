"""The customer dashboard page, timed by part (no profiler): where its time goes, against its bare SQL.

    .venv/bin/python bench/dashboard_parts.py [--repeat 40]

Runs on the database a ``bench/billing_bench.py`` run left (AMI_BENCH_DATABASE_URL). Every part is
timed alternately with the others, round by round, so a change in the machine's load falls on all
alike; medians in ms. Nothing here is a pass or a fail (docs/billing-benchmarks.md).

Two rows give the floor under every signed-in page (``bench/_floor_urls.py``): a customer page that does nothing
(the middleware, the session, the user and the role check) and one that only reads the access rule and renders
the layout. Whatever the dashboard's own numbers cost comes on top of those.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._dashboard import dashboard_signed_in, database_argument  # noqa: E402 (needs ROOT on the path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    database_argument(parser)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    user, client, url, meter = dashboard_signed_in(args.database)

    from django.db import connection
    from django.template.loader import render_to_string
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from amiportal.accounts.backends import PortalModelBackend
    from amiportal.premises.selectors import premise_and_occupancies_for_customer
    from billing.dashboard import dashboard_build
    from billing.views import _download_form

    request = RequestFactory().get(url)
    request.user = PortalModelBackend().get_user(user.pk)
    request.user.is_verified = lambda: False  # as django_otp's middleware marks a customer without a second factor
    request.session = client.session
    premise, occupancies = premise_and_occupancies_for_customer(user=request.user, premise_id=meter.premise_id)
    context = dashboard_build(premise=premise, occupancies=occupancies, query={})
    context["download_form"] = _download_form(premise, occupancies)

    def select_1():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    from django.test import override_settings

    floor = override_settings(ROOT_URLCONF="bench._floor_urls")
    floor.enable()
    for page in ("empty", "layout"):
        assert client.get(f"/bench-floor/{page}/{meter.premise_id}/").status_code == 200
    parts = {
        "whole page (test client)": lambda: client.get(url),
        "signed-in page doing nothing": lambda: client.get(f"/bench-floor/empty/{meter.premise_id}/"),
        "... with the access read and layout": lambda: client.get(f"/bench-floor/layout/{meter.premise_id}/"),
        "user load (user_for_request)": lambda: PortalModelBackend().get_user(user.pk),
        "access (premise and occupancies)": lambda: premise_and_occupancies_for_customer(user=request.user, premise_id=meter.premise_id),
        "dashboard_build": lambda: dashboard_build(premise=premise, occupancies=occupancies, query={}),
        "template render": lambda: render_to_string("billing/dashboard.html", context, request=request),
        "SELECT 1": select_1,
    }
    counts = {}
    for name, function in parts.items():
        with CaptureQueriesContext(connection) as queries:
            function()
        counts[name] = len(queries.captured_queries)
    times: dict[str, list[float]] = {name: [] for name in parts}
    for _ in range(args.repeat):
        for name, function in parts.items():
            started = time.perf_counter()
            function()
            times[name].append((time.perf_counter() - started) * 1000)
    print(f"load average {os.getloadavg()[0]:.2f}, {args.repeat} rounds")
    for name in parts:
        print(f"{name:36} {statistics.median(times[name]):7.2f} ms  {counts[name]:2} queries")
    floor.disable()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
