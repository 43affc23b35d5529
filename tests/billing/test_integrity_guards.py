"""Readings and real-time prices are append-only in the database, and every write is audited with
a content hash (issue 10, findings 12 and 13)."""

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from amiportal.audit.models import AuditEntry
from billing.content_hash import stored_batch_content_sha256
from billing.models import IntervalReading, PricingKind, RealTimePrice, Tariff
from billing.services.tariffs import premise_tariff_assign, real_time_prices_publish, tariff_version_create
from billing.tariff_engine import PriceBook
from tests.billing.helpers import ingest, readings, utc
from tests.factories import MeterFactory, PremiseFactory
from tests.test_audit import as_database_administrator

pytestmark = pytest.mark.django_db
HOUR = utc(2025, 6, 1, 17)


@pytest.fixture
def meter():
    return MeterFactory(serial_number="E-1")


@pytest.fixture
def rtp_premise():
    premise = PremiseFactory()
    MeterFactory(premise=premise, serial_number="E-RTP")
    tariff = Tariff.objects.create(code="RTP", name="Real time")
    tariff_version_create(tariff=tariff, effective_from=date(2024, 1, 1), pricing=PricingKind.REAL_TIME, flat_rate=Decimal("11"))
    premise_tariff_assign(premise=premise, tariff=tariff, start=date(2024, 1, 1))
    return premise, tariff


def refused(statement: str, params=()) -> str:
    """Run one statement in its own savepoint; return the database's refusal."""
    with pytest.raises(Exception, match="append-only") as caught:  # noqa: PT012 (the savepoint must wrap the statement)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)
    return str(caught.value)


def last_entry(action: str) -> dict:
    return json.loads(AuditEntry.objects.filter(action=action).latest("seq").payload)


# --- Readings -------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["billing_intervalreading", "billing_realtimeprice"])
def test_the_update_guard_covers_every_column_but_the_supersede_flags(table):
    """A column added later must be added to the trigger too, or an UPDATE could rewrite it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s", [table])
        columns = {name for (name,) in cursor.fetchall()} - {"is_current", "superseded_at"}
        cursor.execute(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = %s",
            [table, f"{table}_update_only_supersedes"],
        )
        (definition,) = cursor.fetchone()
    assert columns and all(f"old.{name}" in definition and f"new.{name}" in definition for name in columns), definition


@pytest.mark.postgres
@pytest.mark.objective("SO-U2")
def test_the_database_refuses_to_edit_or_delete_a_reading(meter):
    ingest(readings("E-1", HOUR, hours=1))
    refused("UPDATE billing_intervalreading SET value = value + 1")
    refused("DELETE FROM billing_intervalreading")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL ami.allow_truncate = off")  # as on a production connection
        refused("TRUNCATE billing_intervalreading CASCADE")
    assert sorted(IntervalReading.objects.values_list("value", flat=True)) == [250] * 4


@pytest.mark.postgres
@pytest.mark.objective("SO-U2")
def test_only_the_supersede_step_may_update_a_reading_and_nothing_else_with_it(meter):
    ingest(readings("E-1", HOUR, hours=1))
    first = IntervalReading.objects.order_by("start").first()
    # Superseding while changing the value, or un-superseding, is a rewrite.
    refused("UPDATE billing_intervalreading SET is_current = false, superseded_at = now(), value = 9 WHERE id = %s", [first.pk])
    refused(
        "UPDATE billing_intervalreading SET is_current = false, superseded_at = now(), start = start + interval '1 day' WHERE id = %s",
        [first.pk],
    )
    refused("UPDATE billing_intervalreading SET superseded_at = now() WHERE id = %s", [first.pk])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE billing_intervalreading SET is_current = false, superseded_at = now() WHERE id = %s", [first.pk])
    refused("UPDATE billing_intervalreading SET is_current = true, superseded_at = NULL WHERE id = %s", [first.pk])
    refused("UPDATE billing_intervalreading SET superseded_at = now() - interval '1 day' WHERE id = %s", [first.pk])


@pytest.mark.objective("SO-U2")
def test_a_correction_still_supersedes_under_the_guard(meter):
    ingest(readings("E-1", HOUR, hours=1))
    report = ingest(readings("E-1", HOUR, hours=1, value=lambda m: 400 if m.minute == 30 else 250))
    assert report.corrected == 1
    history = IntervalReading.objects.filter(meter=meter, start=HOUR + timedelta(minutes=30)).order_by("version")
    assert [(r.version, r.value, r.is_current) for r in history] == [(1, 250, False), (2, 400, True)]


@pytest.mark.objective("SO-U2")
def test_the_ingest_audit_entry_holds_a_hash_of_exactly_the_rows_written(meter):
    first = ingest(readings("E-1", HOUR, hours=2))
    entry = last_entry("billing.ingest")
    assert (entry["written"], entry["superseded"]) == (8, 0)
    assert len(entry["content_sha256"]) == 64
    assert entry["content_sha256"] == stored_batch_content_sha256(batch_id=first.batch_id)
    first_hash = entry["content_sha256"]

    correction = ingest(readings("E-1", HOUR, hours=2, value=lambda m: 300 if m.minute == 0 else 250))
    entry = last_entry("billing.ingest")
    assert (entry["written"], entry["superseded"], entry["duplicates"]) == (2, 2, 6)
    assert entry["content_sha256"] == stored_batch_content_sha256(batch_id=correction.batch_id)
    assert entry["content_sha256"] != first_hash


@pytest.mark.objective("SO-U2")
def test_a_reading_changed_behind_the_services_back_no_longer_matches_its_audited_hash(meter):
    report = ingest(readings("E-1", HOUR, hours=1))
    audited = last_entry("billing.ingest")["content_sha256"]
    with as_database_administrator():
        assert IntervalReading.objects.filter(batch_id=report.batch_id, start=HOUR).update(value=251) == 1
    assert stored_batch_content_sha256(batch_id=report.batch_id) != audited


def test_a_batch_of_duplicates_writes_nothing_and_says_so(meter):
    ingest(readings("E-1", HOUR, hours=1))
    again = ingest(readings("E-1", HOUR, hours=1))
    entry = last_entry("billing.ingest")
    assert (entry["written"], entry["duplicates"]) == (0, 4)
    assert entry["content_sha256"] == stored_batch_content_sha256(batch_id=again.batch_id)


# --- Real-time prices -----------------------------------------------------------------


@pytest.mark.objective("SO-U2")
def test_an_overwritten_price_is_a_new_version_audited_with_old_and_new(rtp_premise, olga):
    premise, tariff = rtp_premise
    real_time_prices_publish(tariff=tariff, prices=[(HOUR, Decimal("10")), (HOUR + timedelta(hours=1), Decimal("12"))], actor=olga)
    written = real_time_prices_publish(
        tariff=tariff, prices=[(HOUR, Decimal("99")), (HOUR + timedelta(hours=1), Decimal("12"))], actor=olga
    )
    assert written == 1
    history = RealTimePrice.objects.filter(tariff=tariff, start=HOUR).order_by("version")
    assert [(p.version, p.cents_per_kwh, p.is_current, p.superseded_at is not None) for p in history] == [
        (1, Decimal("10"), False, True),
        (2, Decimal("99"), True, False),
    ]
    entry = AuditEntry.objects.filter(action="billing.real_time_prices_published").latest("seq")
    assert (entry.actor_id, entry.target) == (olga.pk, f"tariff:{tariff.pk}")
    payload = json.loads(entry.payload)
    assert payload["revised"] == [{"hour": HOUR.isoformat(), "old": "10.0000", "new": "99.0000", "version": 2}]
    assert (payload["hours"], payload["written"], payload["unchanged"]) == (2, 1, 1)
    assert len(payload["content_sha256"]) == 64
    day = HOUR.date()
    assert PriceBook(premise, day, day).price(HOUR).cents_per_kwh == Decimal("99")


def test_republishing_the_same_prices_writes_nothing(rtp_premise):
    _, tariff = rtp_premise
    real_time_prices_publish(tariff=tariff, prices=[(HOUR, Decimal("10"))])
    assert real_time_prices_publish(tariff=tariff, prices=[(HOUR, Decimal("10.0000"))]) == 0
    assert RealTimePrice.objects.filter(tariff=tariff).count() == 1
    payload = last_entry("billing.real_time_prices_published")
    assert (payload["written"], payload["unchanged"], payload["revised"]) == (0, 1, [])


def test_a_bad_price_list_is_refused_whole_with_reasons(rtp_premise):
    _, tariff = rtp_premise
    real_time_prices_publish(tariff=tariff, prices=[(HOUR, Decimal("10"))])
    bad = [
        (HOUR, Decimal("99")),
        (HOUR + timedelta(hours=1), Decimal("1.23456")),
        (datetime(2025, 6, 1, 19), Decimal("5")),
        (datetime(2025, 6, 2, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))), Decimal("5")),
        (HOUR + timedelta(hours=3), Decimal("5")),
        (HOUR + timedelta(hours=3), Decimal("6")),
    ]
    with pytest.raises(ValidationError) as caught:
        real_time_prices_publish(tariff=tariff, prices=bad)
    messages = " ".join(caught.value.messages)
    assert "at most four decimals" in messages and "listed twice" in messages
    assert messages.count("not the start of an hour") == 2
    assert list(RealTimePrice.objects.values_list("cents_per_kwh", flat=True)) == [Decimal("10")]


def test_negative_market_prices_are_accepted(rtp_premise):
    _, tariff = rtp_premise
    assert real_time_prices_publish(tariff=tariff, prices=[(HOUR.astimezone(UTC), Decimal("-2.5"))]) == 1


@pytest.mark.postgres
@pytest.mark.objective("SO-U2")
def test_the_database_refuses_to_edit_or_delete_a_price(rtp_premise):
    _, tariff = rtp_premise
    real_time_prices_publish(tariff=tariff, prices=[(HOUR, Decimal("10"))])
    message = refused("UPDATE billing_realtimeprice SET cents_per_kwh = 99")
    assert "billing_realtimeprice" in message and "UPDATE" in message
    refused("DELETE FROM billing_realtimeprice")
    refused("UPDATE billing_realtimeprice SET is_current = false, superseded_at = now(), cents_per_kwh = 99")
    assert list(RealTimePrice.objects.values_list("cents_per_kwh", flat=True)) == [Decimal("10")]


# --- Utility bill summaries (Green Button) --------------------------------------------


@pytest.mark.objective("SO-U2")
def test_a_revised_bill_summary_is_audited_with_old_and_new_figures(olga):
    from billing.services.greenbutton import greenbutton_import
    from tests.billing.test_greenbutton import _feed
    from tests.billing.test_greenbutton_summaries import JAN_1, _summary

    premise = PremiseFactory(service_point_id="SP-SUM9")
    meter = MeterFactory(premise=premise, serial_number="E-SUM9")
    greenbutton_import(premise=premise, data=_feed(_summary(1, JAN_1, 31, 5_000_000, 600)), actor=olga)
    first = last_entry("billing.bill_summaries_stored")
    assert (first["written"], first["revised"]) == (1, [])
    greenbutton_import(premise=premise, data=_feed(_summary(1, JAN_1, 31, 5_500_000, 650)), actor=olga)
    entry = AuditEntry.objects.filter(action="billing.bill_summaries_stored").latest("seq")
    assert (entry.actor_id, entry.target) == (olga.pk, f"meter:{meter.pk}")
    (revision,) = json.loads(entry.payload)["revised"]
    assert (revision["old"]["bill_amount"], revision["new"]["bill_amount"]) == (5_000_000, 5_500_000)
    assert (revision["old"]["consumption"], revision["new"]["consumption"]) == (600_000, 650_000)
    assert json.loads(entry.payload)["content_sha256"] != first["content_sha256"]
    greenbutton_import(premise=premise, data=_feed(_summary(1, JAN_1, 31, 5_500_000, 650)), actor=olga)
    assert AuditEntry.objects.filter(action="billing.bill_summaries_stored").count() == 2, "an unchanged summary writes nothing"
