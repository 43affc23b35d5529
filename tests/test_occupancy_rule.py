"""The one occupancy rule (amiportal/premises/selectors.py): same agreement row, premise-local date (SO-C4, SO-C7)."""

from datetime import UTC, date, datetime

import pytest

from amiportal.premises.selectors import current_account_ids, current_agreement, premises_occupied_now
from tests.factories import CustomerAccountFactory, PremiseFactory, ServiceAgreementFactory, UserFactory

pytestmark = pytest.mark.django_db

# 03:00 UTC on New Year's Day is still New Year's Eve in Chicago, already the afternoon in Tokyo.
NEW_YEAR_UTC = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)


def _home(zone: str, user, *, move_in: date, move_out: date | None = None):
    premise = PremiseFactory(timezone=zone)
    ServiceAgreementFactory(account=CustomerAccountFactory(user=user), premise=premise, move_in=move_in, move_out=move_out)
    return premise


@pytest.mark.objective("SO-C4")
def test_moving_in_and_out_happen_at_midnight_in_the_homes_own_zone():
    chicago_mover_in, tokyo_mover_in = UserFactory(), UserFactory()
    chicago_leaver, tokyo_leaver = UserFactory(), UserFactory()
    _home("America/Chicago", chicago_mover_in, move_in=date(2026, 1, 1))
    tokyo_home = _home("Asia/Tokyo", tokyo_mover_in, move_in=date(2026, 1, 1))
    chicago_home = _home("America/Chicago", chicago_leaver, move_in=date(2025, 1, 1), move_out=date(2025, 12, 31))
    _home("Asia/Tokyo", tokyo_leaver, move_in=date(2025, 1, 1), move_out=date(2025, 12, 31))

    assert list(premises_occupied_now(user=chicago_mover_in, now=NEW_YEAR_UTC)) == []
    assert list(premises_occupied_now(user=tokyo_mover_in, now=NEW_YEAR_UTC)) == [tokyo_home]
    assert list(premises_occupied_now(user=chicago_leaver, now=NEW_YEAR_UTC)) == [chicago_home]
    assert list(premises_occupied_now(user=tokyo_leaver, now=NEW_YEAR_UTC)) == []


@pytest.mark.objective("SO-C4")
def test_a_former_occupant_is_not_current_because_someone_else_lives_there_now():
    former, current = UserFactory(), UserFactory()
    premise = _home("America/Chicago", former, move_in=date(2020, 1, 1), move_out=date(2023, 12, 31))
    ServiceAgreementFactory(account=CustomerAccountFactory(user=current), premise=premise, move_in=date(2024, 1, 1))
    assert list(premises_occupied_now(user=former)) == []
    assert list(premises_occupied_now(user=current)) == [premise]
    assert current_account_ids(premise_ids={premise.pk}) == {premise.pk: current.customer_account.pk}
    assert current_agreement(premise=premise).account.user == current


def test_a_vacant_premise_has_no_current_account():
    premise = _home("America/Chicago", UserFactory(), move_in=date(2020, 1, 1), move_out=date(2021, 1, 1))
    assert current_account_ids(premise_ids={premise.pk}) == {premise.pk: None}
    assert current_agreement(premise=premise) is None


@pytest.mark.objective("SO-C4")
def test_one_premises_compiled_read_gives_what_the_read_of_many_gives():
    """``current_account_ids`` of one premise and of several run queries compiled once per process (several: the ORM's
    on SQLite). Same answers; the next test compares the compiled read of several with the ORM's."""
    users = [UserFactory() for _ in range(6)]
    tokyo_new = _home("Asia/Tokyo", users[0], move_in=date(2026, 1, 1))
    chicago_new = _home("America/Chicago", users[1], move_in=date(2026, 1, 1))
    chicago_left = _home("America/Chicago", users[2], move_in=date(2025, 1, 1), move_out=date(2025, 12, 31))
    moved_on = _home("America/Chicago", users[3], move_in=date(2020, 1, 1), move_out=date(2023, 12, 31))
    ServiceAgreementFactory(account=CustomerAccountFactory(user=users[4]), premise=moved_on, move_in=date(2024, 1, 1))
    # Overlapping agreements (a data error): the earliest move-in wins either way.
    overlap = _home("America/Chicago", users[5], move_in=date(2022, 1, 1), move_out=date(2030, 12, 31))
    ServiceAgreementFactory(account=CustomerAccountFactory(user=UserFactory()), premise=overlap, move_in=date(2023, 1, 1))
    premises = [tokyo_new, chicago_new, chicago_left, moved_on, overlap, PremiseFactory()]
    for now in (NEW_YEAR_UTC, datetime(2026, 1, 1, 12, 0, tzinfo=UTC), datetime(2023, 6, 1, tzinfo=UTC), None):
        together = current_account_ids(premise_ids={premise.pk for premise in premises}, now=now)
        for premise in premises:
            assert current_account_ids(premise_ids={premise.pk}, now=now) == {premise.pk: together[premise.pk]}
    assert current_account_ids(premise_ids={tokyo_new.pk}, now=NEW_YEAR_UTC) == {tokyo_new.pk: users[0].customer_account.pk}
    assert current_account_ids(premise_ids={chicago_new.pk}, now=NEW_YEAR_UTC) == {chicago_new.pk: None}
    assert current_account_ids(premise_ids={chicago_left.pk}, now=NEW_YEAR_UTC) == {chicago_left.pk: users[2].customer_account.pk}
    assert current_account_ids(premise_ids={moved_on.pk}) == {moved_on.pk: users[4].customer_account.pk}
    assert current_account_ids(premise_ids={overlap.pk}) == {overlap.pk: users[5].customer_account.pk}


@pytest.mark.postgres
def test_several_premises_compiled_candidates_are_the_orms():
    from amiportal.premises.selectors import _PREMISES_CANDIDATES, _in_force_candidates, _loose_window, _premises_agreements

    users = [UserFactory() for _ in range(3)]
    premises = [
        _home("Asia/Tokyo", users[0], move_in=date(2026, 1, 1)),
        _home("America/Chicago", users[1], move_in=date(2025, 1, 1), move_out=date(2025, 12, 31)),
        _home("America/Chicago", users[2], move_in=date(2020, 1, 1), move_out=date(2023, 12, 31)),
        PremiseFactory(),
    ]
    ids = [premise.pk for premise in premises]
    for now in (NEW_YEAR_UTC, datetime(2023, 6, 1, tzinfo=UTC), datetime(2019, 1, 1, tzinfo=UTC)):
        window = _loose_window(now)
        for wanted in (ids, ids[:2], [ids[3]], []):
            expected = sorted(_in_force_candidates(_premises_agreements(wanted), **window))
            assert sorted(_PREMISES_CANDIDATES.rows(premise_ids=wanted, **window)) == expected
