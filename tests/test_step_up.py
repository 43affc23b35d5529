"""Step-up re-verification for sensitive customer actions (SO-C4, SO-C15)."""

import pytest
from django.http import HttpResponse
from django.urls import path

from amiportal.accounts.models import SealedTOTPDevice
from amiportal.accounts.stepup import step_up_required
from tests.conftest import add_totp, current_code, signed_in

pytestmark = pytest.mark.django_db


@step_up_required(minutes=5)
def sensitive_view(request):
    return HttpResponse("sensitive action done")


urlpatterns = [path("sensitive/", sensitive_view, name="sensitive")]


@pytest.fixture
def sensitive_urls(settings):
    from amiportal import urls as project_urls

    settings.ROOT_URLCONF = type("urlconf", (), {"urlpatterns": urlpatterns + project_urls.urlpatterns})
    yield


@pytest.mark.objective("SO-C15")
def test_customer_without_authenticator_confirms_with_password(alice, password, sensitive_urls):
    client = signed_in(alice)
    response = client.get("/sensitive/")
    assert response.status_code == 302 and response.url.startswith("/accounts/step-up/")
    page = client.get(response.url)
    assert "Enter your password" in page.content.decode()
    wrong = client.post(response.url, {"secret": "not-my-password", "next": "/sensitive/"})
    assert "did not match" in wrong.content.decode()
    right = client.post(response.url, {"secret": password, "next": "/sensitive/"})
    assert right.url == "/sensitive/"
    assert client.get("/sensitive/").content == b"sensitive action done"


@pytest.mark.objective("SO-C15")
def test_customer_with_authenticator_confirms_with_a_code_not_the_password(alice, password, sensitive_urls):
    add_totp(alice)
    client = signed_in(alice)
    # Fresh login verification counts as a recent check; make it stale.
    session = client.session
    session.pop("_ami_step_up_at", None)
    session.save()
    step_up = client.get("/sensitive/").url
    assert "did not match" in client.post(step_up, {"secret": password}).content.decode()
    # django-otp throttles a device for 1 s after a failure; skip the wait.
    SealedTOTPDevice.objects.filter(user=alice).update(throttling_failure_timestamp=None, throttling_failure_count=0)
    assert client.post(step_up, {"secret": current_code(), "next": "/sensitive/"}).url == "/sensitive/"


@pytest.mark.objective("SO-C15")
def test_step_up_expires_after_the_window(alice, password, sensitive_urls):
    client = signed_in(alice)
    client.post("/accounts/step-up/", {"secret": password})
    assert client.get("/sensitive/").status_code == 200
    session = client.session
    session["_ami_step_up_at"] -= 6 * 60
    session.save()
    assert client.get("/sensitive/").status_code == 302


def test_step_up_next_parameter_cannot_leave_the_site(alice, password):
    client = signed_in(alice)
    response = client.post("/accounts/step-up/?next=https://evil.example/", {"secret": password, "next": "https://evil.example/"})
    assert "evil" not in response.url
