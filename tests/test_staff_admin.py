"""Staff through the Django admin: customer, premise, occupancy and HAN records (SO-C5, SO-C7, SO-C13).

Persona: Ada, an admin (superuser) with an authenticator. Operators (Olga, even with the
staff flag) are not offered these records at all; Ada must give a reason first, and every
view and change is audited, changes with old and new values.
"""

from __future__ import annotations

import json

import pytest

from amiportal.accounts.roles import Role, role_assign
from amiportal.audit.models import AuditEntry
from amiportal.premises.models import Meter
from han.models import CoordinatorCommand, JobKind, WorkOrder
from tests.conftest import add_totp, signed_in
from tests.factories import UserFactory
from tests.han import world as han_world

pytestmark = pytest.mark.django_db

REASON = "Ticket 5120: meter exchange paperwork"
CUSTOMER_RECORDS = [
    "/admin/premises/customeraccount/",
    "/admin/premises/premise/",
    "/admin/premises/meter/",
    "/admin/premises/serviceagreement/",
    "/admin/han/device/",
    "/admin/han/hannetwork/",
    "/admin/han/workorder/",
    "/admin/han/coordinatorcommand/",
    "/admin/han/coordinator/",
    "/admin/accounts/user/",
]


@pytest.fixture
def ada(db):
    user = UserFactory(email="ada@example.test", full_name="Ada Admin", is_staff=True, is_superuser=True)
    role_assign(user=user, role=Role.ADMIN)
    add_totp(user)
    return user


@pytest.fixture
def people(alice, bob, ivan, olga, trent):
    return {"alice": alice, "bob": bob, "ivan": ivan, "olga": olga, "trent": trent}


def _entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def _with_reason(user):
    client = signed_in(user)
    response = client.post("/admin/premises/customeraccount/", {"staff_access_reason": REASON})
    assert response.status_code == 302
    return client


@pytest.mark.objective("SO-C7")
def test_an_operator_with_the_staff_flag_is_offered_no_customer_or_han_records(olga, alice):
    olga.is_staff = True
    olga.save(update_fields=["is_staff"])
    client = signed_in(olga)
    index = client.get("/admin/")
    assert index.status_code == 200
    page = index.content.decode()
    assert "Customer accounts" not in page and "Premises" not in page and "Devices" not in page
    account = alice.customer_account
    for url in [*CUSTOMER_RECORDS, f"/admin/premises/customeraccount/{account.pk}/change/"]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert alice.email not in response.content.decode()


@pytest.mark.objective("SO-C5")
def test_an_admin_without_a_reason_sees_no_customer_data(ada, alice):
    client = signed_in(ada)
    account = alice.customer_account
    for url in [*CUSTOMER_RECORDS, f"/admin/premises/customeraccount/{account.pk}/change/"]:
        response = client.get(url)
        page = response.content.decode()
        assert response.status_code == 200 and "Why do you need customer records?" in page, url
        assert alice.email not in page and account.name not in page and account.account_number not in page, url
    too_short = client.post("/admin/premises/customeraccount/", {"staff_access_reason": "because"})
    assert too_short.status_code == 400 and "at least 10 characters" in too_short.content.decode()
    assert not _entries("staff.admin_customer_records_opened") and not _entries("admin.list_viewed")


@pytest.mark.objective("SO-C13")
def test_an_admin_gives_a_reason_and_each_list_and_record_view_is_audited_for_the_customer(ada, alice):
    client = _with_reason(ada)
    (opened,) = _entries("staff.admin_customer_records_opened")
    assert opened.actor_id == ada.pk and json.loads(opened.payload) == {"reason": REASON}

    listing = client.get("/admin/premises/customeraccount/", {"q": "Alice"})
    assert listing.status_code == 200 and alice.customer_account.name in listing.content.decode()
    (listed,) = _entries("admin.list_viewed")
    assert listed.target == "premises.customeraccount" and json.loads(listed.payload) == {"query": "q=Alice"}

    account = alice.customer_account
    record = client.get(f"/admin/premises/customeraccount/{account.pk}/change/")
    assert record.status_code == 200 and account.account_number in record.content.decode()
    (customer_sees,) = _entries("staff.customer_data_opened")
    assert customer_sees.customer_account_id == account.pk and json.loads(customer_sees.payload) == {"reason": REASON}
    (viewed,) = _entries("admin.viewed")
    assert (viewed.target, viewed.customer_account_id, viewed.actor_id) == (f"premises.customeraccount:{account.pk}", account.pk, ada.pk)

    # A HAN record of Alice's home is hers too.
    device = han_world.han_world({"alice": alice, "ivan": ada})["device"]
    assert client.get(f"/admin/han/device/{device.pk}/change/").status_code == 200
    assert _entries("admin.viewed")[-1].customer_account_id == account.pk


@pytest.mark.objective("SO-C13")
def test_a_meter_serial_change_records_old_and_new_values(ada, alice):
    meter = alice.customer_account.agreements.get().premise.meters.get()
    old_serial = meter.serial_number
    client = _with_reason(ada)
    form = {
        "premise": meter.premise_id,
        "serial_number": "MT-SWAPPED-1",
        "kind": "electric",
        "status": "active",
        "installed_on": "2022-01-01",
    }
    response = client.post(f"/admin/premises/meter/{meter.pk}/change/", form)
    assert response.status_code == 302
    entry = _entries("admin.changed")[-1]
    assert (entry.target, entry.customer_account_id) == (f"premises.meter:{meter.pk}", alice.customer_account.pk)
    assert json.loads(entry.payload)["changes"] == [{"field": "serial_number", "old": old_serial, "new": "MT-SWAPPED-1"}]


@pytest.mark.objective("SO-C13")
def test_a_meter_serial_change_through_the_premise_page_records_old_and_new_values(ada, alice):
    premise = alice.customer_account.agreements.get().premise
    meter = premise.meters.get()
    old_serial = meter.serial_number
    client = _with_reason(ada)
    form = {
        "service_point_id": premise.service_point_id,
        "address_line": premise.address_line,
        "city": premise.city,
        "postal_code": premise.postal_code,
        "customer_class": premise.customer_class,
        "timezone": premise.timezone,
        "meters-TOTAL_FORMS": "1",
        "meters-INITIAL_FORMS": "1",
        "meters-MIN_NUM_FORMS": "0",
        "meters-MAX_NUM_FORMS": "1000",
        "meters-0-id": meter.pk,
        "meters-0-premise": premise.pk,
        "meters-0-serial_number": "MT-SWAPPED-2",
        "meters-0-kind": meter.kind,
        "meters-0-status": meter.status,
        "meters-0-installed_on": meter.installed_on.isoformat(),
    }
    response = client.post(f"/admin/premises/premise/{premise.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Meter.objects.get(pk=meter.pk).serial_number == "MT-SWAPPED-2"
    entry = next(e for e in _entries("admin.changed") if e.target == f"premises.meter:{meter.pk}")
    payload = json.loads(entry.payload)
    assert payload["changes"] == [{"field": "serial_number", "old": old_serial, "new": "MT-SWAPPED-2"}]
    assert payload["via"] == f"premises.premise:{premise.pk}" and entry.customer_account_id == alice.customer_account.pk


@pytest.mark.objective("SO-C13")
def test_a_work_order_created_in_admin_is_audited_with_premise_and_installer(ada, alice, ivan):
    premise = alice.customer_account.agreements.get().premise
    client = _with_reason(ada)
    response = client.post(
        "/admin/han/workorder/add/", {"premise": premise.pk, "installer": ivan.pk, "summary": "Fit a display", "status": "open"}
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    work_order = WorkOrder.objects.get()
    entry = _entries("admin.added")[-1]
    assert (entry.target, entry.customer_account_id) == (f"han.workorder:{work_order.pk}", alice.customer_account.pk)
    changes = {change["field"]: change["new"] for change in json.loads(entry.payload)["changes"]}
    assert changes["premise"] == premise.pk and changes["installer"] == ivan.pk


@pytest.mark.objective("SO-C13")
def test_a_commands_parameters_and_results_cannot_be_edited_in_admin(ada, people):
    world = han_world.han_world(people)
    job = CoordinatorCommand.objects.create(
        kind=JobKind.LOAD_CONTROL,
        network=world["network"],
        coordinator=world["network"].coordinator,
        device=world["device"],
        parameters={"criticality": 3, "duration_minutes": 30},
    )
    client = _with_reason(ada)
    page = client.get(f"/admin/han/coordinatorcommand/{job.pk}/change/")
    assert page.status_code == 200
    assert 'name="parameters"' not in page.content.decode() and 'name="result"' not in page.content.decode()
    response = client.post(
        f"/admin/han/coordinatorcommand/{job.pk}/change/", {"parameters": '{"criticality": 9, "duration_minutes": 1440}'}
    )
    assert response.status_code == 403
    job.refresh_from_db()
    assert job.parameters == {"criticality": 3, "duration_minutes": 30}
    assert client.get("/admin/han/coordinatorcommand/add/").status_code == 403


@pytest.mark.objective("SO-C13")
def test_a_move_out_recorded_in_admin_goes_through_the_occupancy_service(ada, alice):
    agreement = alice.customer_account.agreements.get()
    client = _with_reason(ada)
    url = f"/admin/premises/serviceagreement/{agreement.pk}/change/"
    before_move_in = agreement.move_in.replace(year=agreement.move_in.year - 1).isoformat()
    refused = client.post(url, {"move_out": before_move_in}, follow=True)
    assert "Move-out cannot be before move-in." in refused.content.decode()
    agreement.refresh_from_db()
    assert agreement.move_out is None and not _entries("premise.move_out")

    response = client.post(url, {"move_out": "2026-06-30"})
    assert response.status_code == 302
    agreement.refresh_from_db()
    assert agreement.move_out.isoformat() == "2026-06-30"
    (moved,) = _entries("premise.move_out")
    assert (moved.actor_id, moved.customer_account_id) == (ada.pk, alice.customer_account.pk)
    change = json.loads(_entries("admin.changed")[-1].payload)["changes"]
    assert change == [{"field": "move_out", "old": None, "new": "2026-06-30"}]
    assert client.post(f"/admin/premises/serviceagreement/{agreement.pk}/delete/", {"post": "yes"}).status_code == 403


@pytest.mark.objective("SO-C13")
def test_a_move_in_over_an_occupied_premise_is_refused_in_admin(ada, alice, bob):
    premise = alice.customer_account.agreements.get().premise
    client = _with_reason(ada)
    # A closed stay while Alice lives there: no database constraint sees it, the occupancy service does.
    form = {"account": bob.customer_account.pk, "premise": premise.pk, "move_in": "2026-01-01", "move_out": "2026-02-01"}
    response = client.post("/admin/premises/serviceagreement/add/", form, follow=True)
    assert "is occupied on 2026-01-01" in response.content.decode()
    assert not premise.agreements.filter(account=bob.customer_account).exists()
    assert not _entries("premise.move_in")


@pytest.mark.objective("SO-C13")
def test_an_admin_setting_a_customers_password_is_gated_and_audited(ada, alice):
    url = f"/admin/accounts/user/{alice.pk}/password/"
    new_password = {"password1": "a-new-long-passphrase-2026", "password2": "a-new-long-passphrase-2026", "usable_password": "true"}
    gate = signed_in(ada).post(url, new_password)
    assert gate.status_code == 200 and "Why do you need customer records?" in gate.content.decode()
    alice.refresh_from_db()
    assert not alice.check_password("a-new-long-passphrase-2026")

    response = _with_reason(ada).post(url, new_password)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = _entries("admin.user_password_set")[-1]
    assert (entry.actor_id, entry.customer_account_id, entry.target) == (ada.pk, alice.customer_account.pk, f"accounts.user:{alice.pk}")
    assert "passphrase" not in entry.payload
