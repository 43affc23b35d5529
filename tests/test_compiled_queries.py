"""Queries compiled once per process give what the ORM gives, for each value passed."""

from __future__ import annotations

import pytest

from amiportal.compiled_queries import AnyOf, CompiledQuery
from amiportal.premises.models import Meter, ServiceAgreement
from tests.factories import MeterFactory, ServiceAgreementFactory

pytestmark = pytest.mark.django_db


def test_rows_and_objects_match_the_orm_for_each_value():
    first, second = MeterFactory(), MeterFactory()
    MeterFactory(premise=first.premise)
    compiled = CompiledQuery(
        lambda premise_id: Meter.objects.filter(premise_id=premise_id).order_by("serial_number"), "premise_id", instances=True
    )
    for meter in (first, second):
        expected = list(Meter.objects.filter(premise_id=meter.premise_id).order_by("serial_number"))
        got = compiled.objects(premise_id=meter.premise_id)
        assert [m.pk for m in got] == [m.pk for m in expected]
        assert [(m.serial_number, m.kind, m.installed_on, m.premise_id) for m in got] == [
            (m.serial_number, m.kind, m.installed_on, m.premise_id) for m in expected
        ]
        assert not got[0]._state.adding  # as loaded from the database: saving updates the row
    assert compiled.objects(premise_id=-1) == []


def test_two_values_each_in_its_place():
    agreement = ServiceAgreementFactory()
    other = ServiceAgreementFactory()
    compiled = CompiledQuery(
        lambda premise_id, user_id: ServiceAgreement.objects.filter(premise_id=premise_id, account__user_id=user_id).values_list("pk"),
        "premise_id",
        "user_id",
    )
    assert compiled.rows(premise_id=agreement.premise_id, user_id=agreement.account.user_id) == [(agreement.pk,)]
    # Swapped: the premise of one with the user of the other finds nothing.
    assert compiled.rows(premise_id=agreement.premise_id, user_id=other.account.user_id) == []


def test_a_value_missing_or_extra_is_refused():
    compiled = CompiledQuery(lambda premise_id: Meter.objects.filter(premise_id=premise_id), "premise_id")
    with pytest.raises(TypeError):
        compiled.rows()
    with pytest.raises(TypeError):
        compiled.rows(premise_id=1, user_id=2)
    with pytest.raises(ValueError):
        compiled.rows(premise_id="1; DROP TABLE x")


def test_a_queryset_using_a_value_twice_is_refused_when_compiled():
    compiled = CompiledQuery(lambda premise_id: Meter.objects.filter(premise_id=premise_id, id=premise_id), "premise_id")
    with pytest.raises(ValueError, match="exactly once"):
        compiled.rows(premise_id=1)


def test_values_come_back_as_the_orm_gives_them():
    """The ORM's converters run on each column: JSON decoded, datetimes aware (SQLite returns them naive), booleans."""
    from django.contrib.auth import get_user_model

    from han.models import AreaRequest
    from tests.factories import UserFactory

    user = UserFactory()
    area = AreaRequest.objects.create(
        kind="status_read", device_class="metering", substation="S", premises_in_area=3, commands_created=1, skipped={"no_network": 2}
    )
    columns = ("skipped", "created_at", "premises_in_area")
    compiled = CompiledQuery(lambda pk: AreaRequest.objects.filter(pk=pk).values_list(*columns), "pk")
    assert compiled.rows(pk=area.pk) == list(AreaRequest.objects.filter(pk=area.pk).values_list(*columns))
    assert compiled.rows(pk=area.pk)[0][0] == {"no_network": 2}
    users = CompiledQuery(lambda pk: get_user_model().objects.filter(pk=pk), "pk", instances=True)
    (loaded,) = users.objects(pk=user.pk)
    assert loaded.date_joined == user.date_joined and loaded.date_joined.tzinfo is not None
    assert loaded.is_active is True


def test_string_and_date_values_match_the_orm():
    from datetime import date

    early = ServiceAgreementFactory(move_in=date(2020, 3, 1))
    late = ServiceAgreementFactory(move_in=date(2024, 6, 1))
    compiled = CompiledQuery(
        lambda service_point_id, moved_in_by: ServiceAgreement.objects.filter(
            premise__service_point_id=service_point_id, move_in__lte=moved_in_by
        ).values_list("pk", "move_in"),
        "service_point_id",
        "moved_in_by",
        types={"service_point_id": str, "moved_in_by": date},
    )
    for agreement in (early, late):
        for day in (date(2019, 12, 31), date(2020, 3, 1), date(2024, 5, 31), date(2030, 1, 1)):
            expected = list(
                ServiceAgreement.objects.filter(premise__service_point_id=agreement.premise.service_point_id, move_in__lte=day).values_list(
                    "pk", "move_in"
                )
            )
            assert compiled.rows(service_point_id=agreement.premise.service_point_id, moved_in_by=day) == expected
    # A string is compared as it is: SQL in it is only text, and no other premise's rows come back.
    assert compiled.rows(service_point_id=f"{early.premise.service_point_id}' OR '1'='1", moved_in_by=date(2030, 1, 1)) == []


def test_a_value_of_the_wrong_kind_is_refused():
    from datetime import date, datetime

    compiled = CompiledQuery(
        lambda eui64, day: ServiceAgreement.objects.filter(premise__service_point_id=eui64, move_in=day),
        "eui64",
        "day",
        types={"eui64": str, "day": date},
    )
    with pytest.raises(TypeError):
        compiled.rows(eui64=12, day=date(2026, 1, 1))
    with pytest.raises(TypeError):
        compiled.rows(eui64="x", day="2026-01-01")
    with pytest.raises(TypeError):
        compiled.rows(eui64="x", day=datetime(2026, 1, 1))  # a datetime is a date to Python, not to a DateField
    with pytest.raises(TypeError):
        CompiledQuery(lambda pk: Meter.objects.filter(pk=pk), "pk", types={"pk": float})
    with pytest.raises(TypeError):
        CompiledQuery(lambda pk: Meter.objects.filter(pk=pk), "pk", types={"other": str})


def test_a_string_the_orm_transforms_is_refused_when_compiled():
    """``icontains`` passes ``%value%``, not the value: swapping the value in would change the lookup, so it is refused."""
    compiled = CompiledQuery(lambda text: Meter.objects.filter(serial_number__icontains=text), "text", types={"text": str})
    with pytest.raises(ValueError, match="exactly once"):
        compiled.rows(text="abc")


def test_a_query_without_values_runs_as_compiled():
    first, second = MeterFactory(), MeterFactory()
    compiled = CompiledQuery(lambda: Meter.objects.order_by("-pk").values_list("pk")[:1])
    assert compiled.rows() == [(max(first.pk, second.pk),)]


@pytest.mark.postgres  # column = ANY(array)
def test_a_list_value_finds_what_the_orms_in_finds_whatever_its_length():
    meters = [MeterFactory() for _ in range(3)]
    compiled = CompiledQuery(
        lambda serials: Meter.objects.filter(AnyOf("serial_number", serials)).order_by("pk"),
        "serials",
        types={"serials": list},
        instances=True,
    )
    for wanted in ([], [meters[0].serial_number], [m.serial_number for m in meters], [meters[2].serial_number, "no such meter"]):
        expected = list(Meter.objects.filter(serial_number__in=wanted).order_by("pk"))
        assert [m.pk for m in compiled.objects(serials=wanted)] == [m.pk for m in expected]
    sql, params = compiled.sql_with_params(serials=("a", "b", "c"))
    assert sql.count("%s") == 1 and params == [["a", "b", "c"]]


@pytest.mark.postgres  # column = ANY(array)
def test_a_list_value_must_be_a_list_and_an_int_value_is_not_one():
    compiled = CompiledQuery(lambda serials: Meter.objects.filter(AnyOf("serial_number", serials)), "serials", types={"serials": list})
    with pytest.raises(TypeError):
        compiled.rows(serials="not a list")
    ints = CompiledQuery(lambda premise_id: Meter.objects.filter(premise_id=premise_id), "premise_id")
    with pytest.raises(TypeError):
        ints.rows(premise_id=[1, 2])


def test_a_datetime_value_is_swapped_in_as_the_orm_passes_it():
    from datetime import UTC, datetime, timedelta

    from han.models import RelayWakeup

    moment = datetime(2026, 12, 3, 18, 0, 0, 123456, tzinfo=UTC)
    RelayWakeup.objects.create(pk=1, requested_at=moment)
    compiled = CompiledQuery(lambda at: RelayWakeup.objects.filter(requested_at=at).values_list("pk"), "at", types={"at": datetime})
    assert compiled.rows(at=moment) == list(RelayWakeup.objects.filter(requested_at=moment).values_list("pk")) == [(1,)]
    assert compiled.rows(at=moment + timedelta(microseconds=1)) == []
    with pytest.raises(TypeError):
        compiled.rows(at=moment.replace(tzinfo=None))  # naive: refused, never guessed at
