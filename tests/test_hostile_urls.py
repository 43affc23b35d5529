"""Hostile URLs: ids too large for a row and days at the end of the calendar get a 404 or a clear 400, never a 500."""

import pytest
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve
from django.urls.converters import IntConverter

from amiportal.converters import LARGEST_ID
from billing.forms import DAY_OUT_OF_RANGE
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db
HUGE_ID = "1" * 25


def _converters(patterns, prefix=""):
    for pattern in patterns:
        route = f"{prefix}{pattern.pattern}"
        yield from ((route, name, converter) for name, converter in getattr(pattern.pattern, "converters", {}).items())
        if isinstance(pattern, URLResolver):
            yield from _converters(pattern.url_patterns, route)
        else:
            assert isinstance(pattern, URLPattern)


def test_no_route_takes_an_unbounded_integer():
    found = _converters(get_resolver().url_patterns)
    unbounded = [f"{route} ({name})" for route, name, converter in found if isinstance(converter, IntConverter)]
    assert not unbounded, f"use <id:...> (amiportal/converters.py), not <int:...>: {unbounded}"


def test_a_25_digit_id_matches_no_route():
    """Refused by the converter, before any view: on SQLite (the development database) the lookup overflowed into a 500."""
    paths = [f"operator/customers/1/premises/{HUGE_ID}/usage/", f"customer/premises/{HUGE_ID}/usage/", f"han/operator/networks/{HUGE_ID}/"]
    for path in paths:
        with pytest.raises(Resolver404):
            resolve(f"/{path}")
    assert resolve(f"/customer/premises/{LARGEST_ID}/usage/").kwargs == {"premise_id": LARGEST_ID}


@pytest.mark.objective("SO-C4")
def test_a_25_digit_premise_id_in_the_operators_usage_url_is_a_404(olga, alice):
    account = alice.customer_account
    assert signed_in(olga).get(f"/operator/customers/{account.pk}/premises/{HUGE_ID}/usage/").status_code == 404
    assert signed_in(olga).get(f"/operator/customers/{HUGE_ID}/premises/1/usage/").status_code == 404
    assert signed_in(olga).get(f"/operator/customers/{HUGE_ID}/").status_code == 404


@pytest.mark.parametrize("number", [str(LARGEST_ID), str(LARGEST_ID + 1), HUGE_ID])
def test_ids_up_to_the_largest_row_id_reach_the_view_and_larger_ones_do_not(alice, number):
    response = signed_in(alice).get(f"/customer/premises/{number}/usage/")
    assert response.status_code == 404  # not hers, or no such route: the same answer, never a 500


def test_the_espi_api_answers_a_huge_id_with_404(alice):
    assert signed_in(alice).get(f"/espi/1_1/resource/Subscription/{HUGE_ID}/UsagePoint").status_code == 404


@pytest.mark.objective("SO-C5")
@pytest.mark.parametrize("download", ["readings.csv", "greenbutton.xml", "intervals.json"])
def test_a_download_at_the_end_of_the_calendar_is_a_clear_400(alice, download):
    premise = alice.customer_account.agreements.get().premise
    response = signed_in(alice).get(f"/customer/premises/{premise.pk}/usage/{download}?start=9999-12-30&end=9999-12-31")
    assert response.status_code == 400
    assert DAY_OUT_OF_RANGE in response.content.decode()


def test_a_download_within_the_calendar_bounds_still_works(alice):
    premise = alice.customer_account.agreements.get().premise
    response = signed_in(alice).get(f"/customer/premises/{premise.pk}/usage/readings.csv?start=2099-12-30&end=2099-12-31")
    assert response.status_code == 200


@pytest.mark.objective("SO-U3")
def test_a_nul_character_in_a_query_or_form_is_refused_with_400_not_a_500(alice):
    """PostgreSQL text cannot hold NUL: the fuzz found a client_id with one reaching a lookup."""
    client = signed_in(alice)
    assert client.get("/oauth/authorize/", {"client_id": "abc\x00", "response_type": "code"}).status_code == 400
    assert client.post("/customer/notifications/read-all/", {"x\x00": "1"}).status_code == 400
    assert client.get("/customer/", {"q": "fine"}).status_code == 200
