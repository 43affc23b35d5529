"""Polish a customer notices: error pages inside the layout, confirmation before destructive actions, a favicon,
a bad download range as a form error, no stray labels, an API reference with words and examples, and a demo
that names its own port and the command for install codes."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from han.models import Device, DeviceState
from tests.conftest import signed_in
from tests.han.conftest import captured  # noqa: F401 (relay tasks inline, envelopes captured)
from tests.han.world import han_world
from tests.thirdparty import world as thirdparty_world
from thirdparty.models import ConsentStatus

LAYOUT = '<header class="site-header">'


@pytest.fixture
def people(alice, bob, ivan, olga, trent):
    return {"alice": alice, "bob": bob, "ivan": ivan, "olga": olga, "trent": trent}


# --- error pages --------------------------------------------------------------------------------


def test_not_found_is_a_page_inside_the_layout(alice):
    response = signed_in(alice).get("/no-such-page/")
    body = response.content.decode()
    assert response.status_code == 404 and LAYOUT in body and "Page not found" in body
    assert 'aria-label="Main"' in body, "the signed-in customer keeps the navigation"


def test_bad_request_is_a_page_inside_the_layout(db):
    response = Client(HTTP_HOST="not-our-host.example").get("/accounts/login/")
    body = response.content.decode()
    assert response.status_code == 400 and LAYOUT in body and "couldn't read that request" in body


def test_server_error_page_renders_without_a_request_inside_the_layout():
    # Django renders 500.html with no request and no context processors: the page must still build.
    body = render_to_string("500.html")
    assert LAYOUT in body and "Something went wrong on our side" in body


def test_a_refused_csrf_token_is_a_page_inside_the_layout(alice):
    client = Client(enforce_csrf_checks=True)
    client.cookies = signed_in(alice).cookies  # a live session, but a form sent without its token
    response = client.post(reverse("notifications:mark_all_read"))
    body = response.content.decode()
    assert response.status_code == 403 and LAYOUT in body and "This form has expired" in body
    assert "CSRF" not in body, "the technical reason is for logs, not for the customer"


@pytest.mark.objective("SO-C5")
def test_a_bad_download_range_shows_the_form_with_its_error_inside_the_layout(alice):
    premise = thirdparty_world.premise_of(alice)
    for name in ("billing:download_csv", "billing:download_greenbutton"):
        response = signed_in(alice).get(reverse(name, args=[premise.pk]) + "?start=2025-02-01&end=2025-01-01")
        body = response.content.decode()
        assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
        assert LAYOUT in body and 'class="field-error"' in body or 'class="form-errors"' in body
        assert 'name="start"' in body and 'value="2025-02-01"' in body, "the customer's dates stay in the form to correct"
        assert "Content-Disposition" not in response


# --- confirmation before destructive actions ------------------------------------------------------


@pytest.mark.objective("SO-C4")
def test_removing_a_device_asks_first_and_removes_only_when_confirmed(people, captured, django_capture_on_commit_callbacks):  # noqa: F811
    device = han_world(people)["device"]
    client = signed_in(people["alice"], stepped_up=True)
    url = reverse("han:customer_device_remove", args=[device.uid])
    asked = client.post(url)
    body = asked.content.decode()
    assert asked.status_code == 200 and "cannot be undone" in body and 'name="confirm" value="yes"' in body
    device.refresh_from_db()
    assert device.state != DeviceState.DECOMMISSIONED and device.link_key_sealed
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {"confirm": "yes"})
    assert done.status_code == 302
    assert Device.objects.get(pk=device.pk).state == DeviceState.DECOMMISSIONED


@pytest.mark.objective("SO-T1")
def test_revoking_access_asks_first_and_revokes_only_when_confirmed(people):
    consent = thirdparty_world.alice_consent(people)
    client = signed_in(people["alice"])
    url = reverse("thirdparty:customer_consent_revoke", args=[consent.pk])
    asked = client.post(url, {"confirm": "no"})
    assert asked.status_code == 200 and "Revoke Energy Insights&#x27;s access?" in asked.content.decode()
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.ACTIVE
    assert client.post(url, {"confirm": "yes"}).status_code == 302
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.REVOKED


def test_an_outsider_gets_404_before_any_confirmation_page(people):
    device = han_world(people)["device"]
    response = signed_in(people["bob"], stepped_up=True).post(reverse("han:customer_device_remove", args=[device.uid]))
    assert response.status_code == 404


# --- favicon, forms, demo -----------------------------------------------------------------------


def test_favicon_is_linked_and_served(db):
    response = Client().get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith("favicon.ico")
    login = Client().get("/accounts/login/").content.decode()
    assert re.search(r'<link rel="icon" href="[^"]+favicon\.svg" type="image/svg\+xml">', login)
    assert Client().get(response["Location"]).status_code == 200


def test_hidden_fields_render_without_a_label_and_checkboxes_beside_theirs(trent):
    from thirdparty.forms import ApplicationRegisterForm

    html = render_to_string("_form.html", {"form": ApplicationRegisterForm(initial={"agreement_version": 1})})
    assert "Agreement version" not in html and 'type="hidden" name="agreement_version"' in html
    # Multiple choices are a fieldset with a legend; a single checkbox comes before its own label.
    assert re.search(r"<fieldset[^>]*>\s*<legend>Data you will ask customers for</legend>", html)
    assert re.search(r'<input type="checkbox" name="accept_agreement"[^>]*>\s*<label for="id_accept_agreement">', html)


def test_seed_demo_prints_the_port_it_will_serve_on_and_the_install_code_command(db, monkeypatch, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    monkeypatch.setenv("AMI_PORT", "8123")
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8123/" in text and ":8000" not in text
    assert "manage.py han_demo_devices" in text


# --- the API reference -------------------------------------------------------------------------


def test_the_api_reference_describes_every_id_body_and_answer(trent):
    from thirdparty.views.docs import api_schema

    schema = api_schema()
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            where = f"{method.upper()} {path}"
            assert operation.get("description"), where
            for parameter in operation.get("parameters", []):
                assert parameter.get("description"), f"{where}: {parameter['name']}"
            for status, answer in operation["responses"].items():
                assert answer.get("description"), f"{where}: {status}"
    load_control = next(methods["post"] for path, methods in schema["paths"].items() if path.endswith("/LoadControl"))
    body = load_control["requestBody"]["content"]
    assert list(body) == ["application/json"], "the signed route reads JSON only"
    assert body["application/json"]["examples"], "a worked example body"

    page = signed_in(trent).get(reverse("thirdparty:api_docs")).content.decode()
    assert "Request body" in page and "&quot;device_classes&quot;" in page and "Example request" in page
    assert "Authorization: Bearer &lt;access token&gt;" in page
