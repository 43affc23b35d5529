"""Utility-only DRLC criticality levels (7-9): refused to third parties unless an admin granted them (SO-C2, SO-C13)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from amiportal.accounts.roles import Role, role_assign
from amiportal.audit.models import AuditEntry
from amiportal.celery import app as celery_app
from han.models import CoordinatorCommand, JobKind
from tests.conftest import add_totp, signed_in
from tests.factories import UserFactory
from tests.thirdparty import world
from tests.thirdparty.devices import DEVICE_SCOPES, control_tokens, device_path, signed_post, stepped_up, verified_thermostat
from thirdparty.models import AccessLogEntry, Consent

pytestmark = pytest.mark.django_db


@pytest.fixture
def relayed(monkeypatch):
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr("han.broker.command_publish", lambda *, coordinator_name, envelope: sent.append((coordinator_name, envelope)))
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)
    monkeypatch.setattr(celery_app.conf, "task_eager_propagates", True)
    return sent


@pytest.fixture
def people(alice, bob, ivan, olga, trent):
    return {"alice": alice, "bob": bob, "ivan": ivan, "olga": olga, "trent": trent}


@pytest.fixture
def device(people):
    return verified_thermostat(people)


@pytest.fixture
def control_app(trent):
    return world.register(trent, name="Thermostat Co", scopes=DEVICE_SCOPES)


@pytest.fixture
def control(api, control_app, alice, device):
    token = control_tokens(api, control_app, alice)
    consent = Consent.objects.order_by("-pk").first()
    return token, consent, world.premise_of(alice).meters.get().pk


@pytest.fixture
def ada(db):
    admin = UserFactory(email="ada@example.test", full_name="Ada Admin", is_staff=True, is_superuser=True)
    role_assign(user=admin, role=Role.ADMIN)
    add_totp(admin)
    return admin


def _send(api, app, control, device, criticality: int):
    token, consent, meter_id = control
    body = json.dumps({"device_classes": ["hvac"], "duration_minutes": 30, "criticality": criticality}).encode()
    return signed_post(api, app, device_path(consent, meter_id, device, "LoadControl"), token, body)


def _grant_url(app) -> str:
    return reverse("thirdparty:operator_application_criticalities", args=[app.pk])


@pytest.mark.objective("SO-C2")
@pytest.mark.objective("SO-C13")
@pytest.mark.parametrize("criticality", [7, 8, 9])
def test_a_third_party_cannot_send_a_utility_only_criticality(criticality, api, control_app, control, device, relayed):
    response = _send(api, control_app, control, device, criticality)

    assert response.status_code == 403, response.content
    problem = response.json()
    assert problem["title"] == "Criticality not granted" and problem["status"] == 403
    assert problem["criticality"] == criticality and problem["allowed_criticalities"] == [1, 2, 3, 4, 5, 6]
    assert "reserved for the utility" in problem["detail"] and "Nothing was sent" in problem["detail"]
    assert not CoordinatorCommand.objects.filter(kind=JobKind.LOAD_CONTROL).exists() and relayed == []
    refusal = AuditEntry.objects.get(action="thirdparty.device_request_refused")
    assert json.loads(refusal.payload)["criticality"] == criticality and refusal.target == f"device:{device.uid}"
    assert AccessLogEntry.objects.filter(consent=control[1], status_code=403).exists()


@pytest.mark.objective("SO-C2")
def test_an_open_criticality_is_still_accepted(api, control_app, control, device, relayed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _send(api, control_app, control, device, 6)
    assert response.status_code == 202, response.content
    assert len(relayed) == 1


@pytest.mark.objective("SO-C2")
@pytest.mark.objective("SO-C13")
def test_an_admin_grant_with_step_up_and_reason_lets_the_application_use_the_level(
    api, ada, control_app, control, device, relayed, django_capture_on_commit_callbacks
):
    client = stepped_up(ada)
    assert client.get(_grant_url(control_app)).status_code == 200
    no_reason = client.post(_grant_url(control_app), {"levels": ["8"], "reason": ""})
    assert no_reason.status_code == 200 and "This field is required" in no_reason.content.decode()
    control_app.refresh_from_db()
    assert control_app.granted_utility_criticalities == []

    response = client.post(_grant_url(control_app), {"levels": ["8"], "reason": "Outage contractor for the utility, contract 2026-17"})
    assert response.status_code == 302
    control_app.refresh_from_db()
    assert control_app.granted_utility_criticalities == [8]
    entry = AuditEntry.objects.get(action="thirdparty.criticalities_granted")
    assert entry.actor_id == ada.pk and json.loads(entry.payload) == {
        "from": [],
        "to": [8],
        "reason": "Outage contractor for the utility, contract 2026-17",
    }
    page = client.get(reverse("thirdparty:operator_application", args=[control_app.pk])).content.decode()
    assert "1, 2, 3, 4, 5, 6, 8" in page

    with django_capture_on_commit_callbacks(execute=True):
        assert _send(api, control_app, control, device, 8).status_code == 202
    assert _send(api, control_app, control, device, 9).status_code == 403


@pytest.mark.objective("SO-C2")
def test_an_admin_without_a_fresh_step_up_is_sent_to_re_verify_and_nothing_changes(ada, control_app):
    response = signed_in(ada).post(_grant_url(control_app), {"levels": ["7"], "reason": "because"})
    assert response.status_code == 302 and "/step-up/" in response.url
    control_app.refresh_from_db()
    assert control_app.granted_utility_criticalities == []
    assert not AuditEntry.objects.filter(action="thirdparty.criticalities_granted").exists()


@pytest.mark.objective("SO-C2")
@pytest.mark.objective("SO-C13")
def test_an_operator_cannot_grant_utility_only_levels_and_the_attempt_is_audited(olga, control_app):
    client = stepped_up(olga)
    assert client.get(_grant_url(control_app)).status_code == 403
    response = client.post(_grant_url(control_app), {"levels": ["7", "9"], "reason": "please"})
    assert response.status_code == 403
    control_app.refresh_from_db()
    assert control_app.granted_utility_criticalities == []
    refusal = AuditEntry.objects.get(action="thirdparty.criticality_grant_refused")
    assert refusal.actor_id == olga.pk and json.loads(refusal.payload)["levels"] == [7, 9]
    page = client.get(reverse("thirdparty:operator_application", args=[control_app.pk])).content.decode()
    assert "Change utility-only levels" not in page


def test_a_grant_names_only_utility_only_levels(ada, control_app):
    from django.core.exceptions import ValidationError

    from thirdparty.services.criticality import application_criticalities_grant

    with pytest.raises(ValidationError, match="7, 8 and 9"):
        application_criticalities_grant(application=control_app, levels={3}, reason="no", actor=ada)
