"""Where the customer dashboard page's time goes: its queries, and a cProfile of page views.

    .venv/bin/python bench/dashboard_profile.py                 # queries of one page view, then 20 views profiled
    .venv/bin/python bench/dashboard_profile.py --views 50 --top 40

Runs on the database a ``bench/billing_bench.py`` run left (AMI_BENCH_DATABASE_URL, default
amiportal_bench); it writes nothing there but the session. No timing here is a pass or a fail:
it is a map for the next change (docs/billing-benchmarks.md).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._dashboard import dashboard_signed_in, database_argument  # noqa: E402 (needs ROOT on the path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    database_argument(parser)
    parser.add_argument("--views", type=int, default=20)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    _user, client, url, _meter = dashboard_signed_in(args.database)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    print(f"{len(queries.captured_queries)} queries:")
    for number, query in enumerate(queries.captured_queries, 1):
        print(f"{number:3} {query['time']:>6}s  {query['sql'][:180]}")
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(args.views):
        client.get(url)
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(args.top)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
