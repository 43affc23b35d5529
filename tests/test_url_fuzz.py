"""Every URL pattern, fuzzed as a persona allowed to reach it: no generated request gets a 5xx (SO-U3).

Path parameters are the persona's own valid ids about half the time (so requests reach the view
and its query handling) and otherwise hostile: huge or negative numbers, unicode, empty. Query
strings mix the keys the views read (dates, pages, ``next``, OAuth parameters) with random ones,
and values with huge numbers, unicode, calendar edges and nothing. Routes that take only POST get
generated form data built from every form field name in the apps (and, sometimes, a random file).

Not here: the ESPI API (bearer tokens only), which ``tests/thirdparty/test_schemathesis.py``
fuzzes from its OpenAPI schema, and Django's own admin (no persona is staff).

``AMI_FUZZ_EXAMPLES`` (default 50) sets the generated examples per pattern; two fixed ones
(the end of the calendar, an id beyond any row) run besides. Measured with this file and
tests/test_hostile_urls.py on 2 cores shared with other test runs: 68 patterns in 2 min 55 s
(3 min 8 s with the test database set-up; 107 s of CPU), and 5 min 26 s on a busier moment.
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.access_table import ROUTES
from tests.conftest import CsrfClient, signed_in

pytestmark = pytest.mark.django_db
EXAMPLES = int(os.environ.get("AMI_FUZZ_EXAMPLES", "50"))
SKIPPED = ("thirdparty:espi:", "admin:")
# Who sends the POST to a POST-only route (the access table lists who may GET, and a POST-only route has nobody).
POSTERS = {
    "accounts:logout": "alice",
    "accounts:logout_everywhere": "alice",
    "accounts:backup_codes": "olga",
    "accounts:totp_remove": "olga",
    "han:installer_device_retry": "ivan",
    "han:installer_device_remove": "ivan",
    "han:customer_device_remove": "alice",
    "billing:operator_premise_tariff_assign": "olga",
    "billing:operator_bill_cycle_set": "olga",
    "billing:operator_meter_unit_set": "olga",
    "billing:api_ingest": "olga",
    "premises:operator_grid_import": "olga",
    "thirdparty:developer_secret_rotate": "trent",
    "thirdparty:developer_webhook": "trent",
    "thirdparty:developer_webhook_secret_rotate": "trent",
    "han:operator_network_replace": "olga",
    "han:operator_area_command_send": "olga",
    "notifications:mark_all_read": "alice",
    "notifications:mark_read": "alice",
    "notifications:preferences": "alice",
    "thirdparty:customer_consent_revoke": "alice",
    "thirdparty:token": "anonymous",
    "thirdparty:revoke_token": "anonymous",
}
# GET routes nobody reaches by session alone, fuzzed as the persona who would use them.
VISITORS = {"thirdparty:authorize": "alice"}
QUERY_KEYS = [
    *("start", "end", "day", "page", "next", "q", "query", "format", "service_point_id", "premise", "tariff"),
    *("client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method"),
]
_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def _routes(patterns=None, prefix="", namespace=""):
    """(route name, full route template) of every named pattern."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}", prefix + str(pattern.pattern)


FUZZED = sorted((name, route) for name, route in _routes() if not name.startswith(SKIPPED))


def _persona(name: str) -> str:
    entry = ROUTES[name]
    if entry.get_not_allowed:
        return POSTERS[name]
    if name in VISITORS:
        return VISITORS[name]
    allowed = sorted(entry.allowed)
    customers = [persona for persona in allowed if persona in ("alice", "bob")]
    return (customers or allowed or ["anonymous"])[0]


def _form_field_names() -> list[str]:
    from amiportal.accounts import forms as account_forms
    from amiportal.portal import forms as portal_forms
    from amiportal.premises import forms as premises_forms
    from billing import forms as billing_forms
    from han import forms as han_forms
    from thirdparty import forms as thirdparty_forms

    names = set()
    for module in (account_forms, portal_forms, premises_forms, billing_forms, han_forms, thirdparty_forms):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, forms.BaseForm):
                names.update(getattr(value, "base_fields", {}))
    return sorted(names)


_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
_VALUES = st.one_of(
    _TEXT,
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.sampled_from(["", "0", "-1", str(2**63), "1" * 25, "9999-12-31", "0001-01-01", "2025-02-30", "1e309", "NaN", "\x00", "💡"]),
    st.dates().map(lambda day: day.isoformat()),
    st.datetimes().map(lambda moment: moment.isoformat()),
)


def _segment(valid) -> st.SearchStrategy[str]:
    hostile = st.one_of(st.integers(min_value=-(2**80), max_value=2**80).map(str), _VALUES, st.uuids().map(str), st.just("")).map(
        lambda text: quote(text, safe="")
    )
    if valid is None:
        return hostile
    return st.one_of(st.just(str(valid)), st.just(str(valid)), hostile)


def _url(route: str, segments: dict[str, str]) -> str:
    return "/" + _PARAMETER.sub(lambda match: segments[match.group("name")], route)


@pytest.fixture
def people(alice, bob, ivan, olga, trent, peter, dora):
    return {"alice": alice, "bob": bob, "ivan": ivan, "olga": olga, "trent": trent, "peter": peter, "dora": dora}


def _client(persona: str, people) -> CsrfClient:
    if persona == "anonymous":
        return CsrfClient()
    # Stepped up, so the sensitive actions' forms are reached too, not only the step-up redirect.
    client = signed_in(people[persona], stepped_up=True)
    if persona == "olga":  # customer data opened with a reason, so operator usage pages are reached, not just the reason form
        client.post(f"/operator/customers/{people['alice'].customer_account.pk}/", {"reason": "Fuzz test: ticket 0000"})
    return client


def test_every_route_is_fuzzed_or_named_as_covered_elsewhere():
    names = {name for name, _ in _routes()}
    assert {name for name in names if not name.startswith(SKIPPED)} == {name for name, _ in FUZZED}
    assert all(name in POSTERS for name, _ in FUZZED if ROUTES[name].get_not_allowed)


@pytest.mark.objective("SO-U3")
@pytest.mark.parametrize("name, route", FUZZED, ids=[name for name, _ in FUZZED])
def test_generated_requests_never_get_a_5xx(name, route, people):
    entry = ROUTES[name]
    persona = _persona(name)
    client = _client(persona, people)
    valid = entry.kwargs(people)
    parameters = [match.group("name") for match in _PARAMETER.finditer(route)]
    post = entry.get_not_allowed
    field_names = _form_field_names() if post else QUERY_KEYS
    keys = st.one_of(st.sampled_from(field_names), _TEXT.filter(bool))
    data = st.dictionaries(keys, st.one_of(_VALUES, st.lists(_VALUES, max_size=3)), max_size=6)
    upload = st.one_of(st.none(), st.binary(max_size=2000).map(lambda body: SimpleUploadedFile("fuzz.csv", body)))

    own = {p: str(valid.get(p, 1)) for p in parameters}

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    # Besides the generated ones, the edges the outside review found: the end of the calendar and an id beyond any row.
    @example(segments=own, query={"start": "9999-12-30", "end": "9999-12-31"}, file=None)
    @example(segments={p: "1" * 25 for p in parameters}, query={}, file=None)
    @given(segments=st.fixed_dictionaries({p: _segment(valid.get(p)) for p in parameters}), query=data, file=upload)
    def request_survives(segments, query, file):
        url = _url(route, segments)
        if post:
            body = dict(query)
            if file is not None:
                body["file"] = file
            response = client.post(url, body)
        else:
            response = client.get(url, query)
        if response.streaming:  # a download fails while it streams, after the status is sent
            b"".join(response.streaming_content)
        assert response.status_code < 500, f"{persona}: {'POST' if post else 'GET'} {url} {query!r} -> {response.status_code}"

    request_survives()
