"""Similar homes: ranked once a day per customer class, read as one row by the dashboard, shown only to a large enough group."""

from datetime import UTC, date, datetime, timedelta

import pytest

from amiportal.premises.models import CustomerClass, MeterKind
from amiportal.premises.selectors import Occupancy
from billing.dashboard import SIMILAR_HOMES_MIN_GROUP, SIMILAR_HOMES_STALE_DAYS, similar_homes
from billing.models import SimilarHomesRank, SimilarHomesRun
from billing.services.ingest import local_day_bounds
from billing.services.similar_homes import (
    SIMILAR_HOMES_DAYS,
    SIMILAR_HOMES_KEEP_DAYS,
    similar_homes_due_day,
    similar_homes_refresh,
)
from billing.tasks import similar_homes_refresh_task
from tests.billing.helpers import ingest, readings
from tests.factories import MeterFactory, PremiseFactory

pytestmark = pytest.mark.django_db

AS_OF = date(2025, 7, 30)
TODAY = AS_OF + timedelta(days=1)
LIVED_THERE = [Occupancy(date(2025, 1, 1), None)]


def _home(wh_per_hour: int | None, *, customer_class=CustomerClass.RESIDENTIAL, zone="America/Chicago", last=AS_OF, days=30):
    """A premise with one electric meter and, unless None, ``wh_per_hour`` in every hour of its local days up to ``last``."""
    premise = PremiseFactory(customer_class=customer_class, timezone=zone)
    meter = MeterFactory(premise=premise)
    if wh_per_hour is not None:
        start, _ = local_day_bounds(last - timedelta(days=days - 1), zone)
        _, end = local_day_bounds(last, zone)
        hours = int((end - start).total_seconds() // 3600)
        ingest(readings(meter.serial_number, start, hours=hours, seconds=3600, value=lambda moment: wh_per_hour))
    return premise, meter


def _shown(premise, meter, *, today=TODAY, occupancies=LIVED_THERE):
    return similar_homes(premise=premise, meter=meter, today=today, occupancies=occupancies)


@pytest.mark.objective("BF-CUST-1")
def test_the_daily_ranking_gives_each_home_its_place_among_the_other_homes():
    per_hour = [1, 2, 2, 3, 5, 8, 8, 13, 21]  # ties included
    homes = [_home(value) for value in per_hour]
    assert similar_homes_refresh(as_of=AS_OF) == len(homes)
    totals = {meter.pk: value * 24 * SIMILAR_HOMES_DAYS for (_, meter), value in zip(homes, per_hour, strict=True)}
    for premise, meter in homes:
        mine = totals[meter.pk]
        others = sorted(total for pk, total in totals.items() if pk != meter.pk)
        shown = _shown(premise, meter)
        assert shown["shown"] is True
        assert shown["percentile"] == round(100 * sum(1 for o in others if o < mine) / len(others))
        assert shown["less_than"] == round(100 * sum(1 for o in others if o > mine) / len(others))
        assert shown["group_size"] == len(others)
        assert shown["kwh"] == round(mine / 1000, 3)
        assert shown["median_kwh"] == round(others[len(others) // 2] / 1000, 3)
        assert (shown["first_day"], shown["last_day"]) == (AS_OF - timedelta(days=SIMILAR_HOMES_DAYS - 1), AS_OF)


def test_homes_of_another_class_gas_meters_and_homes_without_usage_in_the_window_are_not_compared():
    premise, meter = _home(10)
    for value in (20, 30, 40, 50, 60):
        _home(value)
    _home(1, customer_class=CustomerClass.COMMERCIAL)
    _home(None)  # no readings at all
    _home(99, last=AS_OF - timedelta(days=SIMILAR_HOMES_DAYS))  # usage only before the window
    gas_premise = PremiseFactory()
    MeterFactory(premise=gas_premise, kind=MeterKind.GAS)
    similar_homes_refresh(as_of=AS_OF)
    shown = _shown(premise, meter)
    assert (shown["group_size"], shown["percentile"], shown["less_than"]) == (5, 0, 100)
    commercial = SimilarHomesRank.objects.get(customer_class=CustomerClass.COMMERCIAL)
    assert (commercial.group_size, commercial.others_median_wh) == (1, None)


def test_each_home_is_ranked_on_its_own_local_days():
    _home(10, zone="America/Los_Angeles")
    similar_homes_refresh(as_of=AS_OF)
    assert SimilarHomesRank.objects.get().total_wh == 10 * 24 * SIMILAR_HOMES_DAYS


@pytest.mark.objective("SO-C7")
def test_fewer_other_homes_than_the_minimum_hide_every_figure():
    homes = [_home(10 * (index + 1)) for index in range(SIMILAR_HOMES_MIN_GROUP)]
    similar_homes_refresh(as_of=AS_OF)
    hidden = _shown(*homes[0])
    assert hidden == {"shown": False, "reason": hidden["reason"]} and "Too few" in hidden["reason"]
    _home(1)
    similar_homes_refresh(as_of=AS_OF, recompute=True)
    assert _shown(*homes[0])["group_size"] == SIMILAR_HOMES_MIN_GROUP


@pytest.mark.objective("SO-C7")
def test_a_new_occupant_sees_no_comparison_until_they_held_the_whole_ranked_window():
    homes = [_home(10 * (index + 1)) for index in range(SIMILAR_HOMES_MIN_GROUP + 1)]
    similar_homes_refresh(as_of=AS_OF)
    premise, meter = homes[0]
    moved_in_10_days_ago = [Occupancy(TODAY - timedelta(days=10), None)]
    assert _shown(premise, meter, occupancies=moved_in_10_days_ago)["shown"] is False
    # Moved in on the window's first day: shown; a day later: not (the ranking covers a day before them).
    first = AS_OF - timedelta(days=SIMILAR_HOMES_DAYS - 1)
    assert _shown(premise, meter, occupancies=[Occupancy(first, None)])["shown"] is True
    assert _shown(premise, meter, occupancies=[Occupancy(first + timedelta(days=1), None)])["shown"] is False


def test_without_a_recent_ranking_nothing_is_shown():
    homes = [_home(10 * (index + 1)) for index in range(SIMILAR_HOMES_MIN_GROUP + 1)]
    premise, meter = homes[0]
    assert "No comparison for these days" in _shown(premise, meter)["reason"]
    similar_homes_refresh(as_of=AS_OF)
    newest_usable = TODAY + timedelta(days=SIMILAR_HOMES_STALE_DAYS)
    assert _shown(premise, meter, today=newest_usable)["last_day"] == AS_OF
    assert _shown(premise, meter, today=newest_usable + timedelta(days=1))["shown"] is False
    assert _shown(premise, meter, today=AS_OF)["shown"] is False  # a ranking never covers the viewer's today


def test_a_day_is_ranked_once_unless_recomputed_and_old_rankings_go():
    homes = [_home(10 * (index + 1)) for index in range(3)]
    assert similar_homes_refresh(as_of=AS_OF) == 3
    assert similar_homes_refresh(as_of=AS_OF) is None
    assert similar_homes_refresh(as_of=AS_OF, recompute=True) == 3
    assert SimilarHomesRank.objects.filter(as_of=AS_OF).count() == 3
    later = AS_OF + timedelta(days=SIMILAR_HOMES_KEEP_DAYS + 1)
    similar_homes_refresh(as_of=later)
    assert not SimilarHomesRank.objects.filter(as_of=AS_OF).exists()
    assert list(SimilarHomesRun.objects.values_list("as_of", flat=True)) == [later]
    assert homes


def test_the_beat_task_ranks_the_newest_day_that_has_ended_in_every_zone():
    assert similar_homes_due_day(datetime(2025, 7, 31, 11, 59, tzinfo=UTC)) == date(2025, 7, 29)
    assert similar_homes_due_day(datetime(2025, 7, 31, 12, 0, tzinfo=UTC)) == date(2025, 7, 30)
    _home(10, last=similar_homes_due_day())
    assert similar_homes_refresh_task() == 1
    assert similar_homes_refresh_task() is None  # claimed: a second run (or a second worker) does nothing
    assert SimilarHomesRun.objects.get().as_of == similar_homes_due_day()
