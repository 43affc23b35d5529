"""Queries compiled once per process give what the ORM gives, for each value passed."""

from __future__ import annotations

import pytest

from amiportal.compiled_queries import CompiledQuery
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
