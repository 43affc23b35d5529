"""Every route declares who may reach it, and each persona is checked against it (SO-C4, SO-C7)."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.access_table import ROUTES
from tests.conftest import CsrfClient, signed_in

pytestmark = pytest.mark.django_db


def _walk(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}"
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}<unnamed {pattern.pattern}>"


def all_route_names():
    return sorted(set(_walk(get_resolver().url_patterns)))


def _table_entry(name):
    if name in ROUTES:
        return ROUTES[name]
    namespace = name.split(":")[0]
    return ROUTES.get(f"{namespace}:*")


def test_every_route_is_in_the_access_table():
    missing = [name for name in all_route_names() if _table_entry(name) is None]
    assert not missing, f"routes with no entry in tests/access_table.py: {missing}"


def test_the_access_table_names_only_real_routes():
    names = set(all_route_names())
    stale = [name for name in ROUTES if not name.endswith(":*") and name not in names]
    assert not stale, f"access table entries for routes that no longer exist: {stale}"


@pytest.fixture
def people(alice, bob, peter, ivan, olga, trent, dora):
    return {"alice": alice, "bob": bob, "peter": peter, "ivan": ivan, "olga": olga, "trent": trent, "dora": dora}


REFUSED = {301, 302, 401, 403, 404, 405}


@pytest.mark.objective("SO-C4")
@pytest.mark.parametrize("persona", ["anonymous", "alice", "bob", "peter", "ivan", "olga", "trent", "dora"])
def test_each_persona_reaches_exactly_its_routes(people, persona):
    client = CsrfClient() if persona == "anonymous" else signed_in(people[persona])
    problems = []
    for name in all_route_names():
        entry = _table_entry(name)
        if name.endswith(":*") or "<unnamed" in name or name.startswith("admin:"):
            continue
        url = reverse(name, kwargs=entry.kwargs(people))
        response = client.get(url)
        if entry.get_not_allowed:
            if response.status_code not in REFUSED:
                problems.append(f"{name}: GET answered {response.status_code}")
            continue
        allowed = persona in entry.allowed
        if allowed and response.status_code >= 400:
            problems.append(f"{name}: {persona} should reach it, got {response.status_code}")
        if not allowed:
            if response.status_code not in REFUSED:
                problems.append(f"{name}: {persona} should be refused, got {response.status_code}")
            if response.status_code == 302 and persona != "anonymous" and "/accounts/" not in response.url:
                problems.append(f"{name}: {persona} redirected to {response.url}, not refused")
    assert not problems, "\n".join(problems)


@pytest.mark.objective("SO-C4")
@pytest.mark.objective("SO-C7")
@pytest.mark.parametrize("persona", ["bob", "peter", "dora"])
def test_outsiders_with_the_right_role_do_not_learn_that_an_object_exists(people, persona):
    """Another customer, the home's former occupant, another organisation's developer: 404, never 403 or a page."""
    from tests.thirdparty.devices import stepped_up

    client = stepped_up(people[persona])  # a fresh step-up, so a step-up gate cannot answer before the lookup
    problems, checked = [], 0
    for name in all_route_names():
        entry = _table_entry(name)
        if entry is None or persona not in entry.not_found_for:
            continue
        checked += 1
        url = reverse(name, kwargs=entry.kwargs(people))
        response = client.post(url) if entry.get_not_allowed else client.get(url)
        if response.status_code != 404:
            problems.append(f"{name}: {persona} got {response.status_code}, expected 404")
    assert checked, f"no route names {persona} in not_found_for"
    assert not problems, "\n".join(problems)


@pytest.mark.objective("SO-C4")
def test_admin_is_closed_to_everyone_but_verified_staff(people):
    from amiportal.accounts.roles import Role, role_assign
    from tests.conftest import add_totp
    from tests.factories import UserFactory

    for persona in ["olga", "ivan", "alice"]:
        response = signed_in(people[persona]).get("/admin/")
        assert response.status_code == 302, persona
    ada = UserFactory(email="ada@example.test", is_staff=True, is_superuser=True)
    role_assign(user=ada, role=Role.ADMIN)
    assert signed_in(ada, verified=False).get("/admin/").url == "/accounts/two-factor/setup/"
    add_totp(ada)
    assert signed_in(ada, verified=False).get("/admin/").url == "/accounts/two-factor/verify/"
    assert signed_in(ada).get("/admin/").status_code == 200


@pytest.mark.objective("SO-C13")
def test_admin_changes_are_audited(alice):
    from amiportal.accounts.roles import Role, role_assign
    from amiportal.audit.models import AuditEntry
    from tests.conftest import add_totp
    from tests.factories import UserFactory

    ada = UserFactory(email="ada@example.test", is_staff=True, is_superuser=True)
    role_assign(user=ada, role=Role.ADMIN)
    add_totp(ada)
    meter = alice.customer_account.agreements.get().premise.meters.get()
    client = signed_in(ada)
    client.post("/admin/premises/meter/", {"staff_access_reason": "Ticket 77: meter limited after inspection"})
    page = client.get(f"/admin/premises/meter/{meter.pk}/change/")
    assert page.status_code == 200
    response = client.post(
        f"/admin/premises/meter/{meter.pk}/change/",
        {
            "premise": meter.premise_id,
            "serial_number": meter.serial_number,
            "kind": "electric",
            "status": "limited",
            "installed_on": "2022-01-01",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.get(action="admin.changed")
    assert entry.target == f"premises.meter:{meter.pk}" and "status" in entry.payload and entry.actor_id == ada.pk
