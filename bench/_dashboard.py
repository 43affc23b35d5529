"""What the dashboard benchmarks share: the bench customer signed in on the database ``billing_bench.py`` left."""

from __future__ import annotations

import argparse
import os

from bench._setup import django_setup


def database_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database", default=os.environ.get("AMI_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/amiportal_bench")
    )


def dashboard_signed_in(database: str):
    """(the bench customer, a test client signed in as them, the dashboard URL of the first bench meter), after one view."""
    os.environ.setdefault("AMI_PROFILE", "test")
    django_setup(database)

    from amiportal.premises.models import CustomerAccount, Meter
    from tests.conftest import signed_in

    meter = Meter.objects.filter(serial_number__startswith="B").order_by("serial_number").first()
    if meter is None:
        raise SystemExit("no bench meters here: run bench/billing_bench.py first")
    user = CustomerAccount.objects.get(account_number="AC-BENCH").user
    client = signed_in(user)
    url = f"/customer/premises/{meter.premise_id}/usage/"
    assert client.get(url).status_code == 200
    return user, client, url, meter
