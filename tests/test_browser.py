"""A real browser (Debian's Chromium, driven by Playwright) signs in as a customer and as an operator."""

import os

import pytest
from django.db import connections
from django_otp.oath import totp

from tests.conftest import TOTP_SECRET

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture
def page(live_server, monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's async-safety
    # guard would then refuse the ORM calls the test makes between browser steps.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=os.environ["AMI_TEST_CHROMIUM"], args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_server.url)
        yield context.new_page()
        context.close()
        browser.close()
        # ORM work done while Playwright's loop ran opened its own connection (Django keeps
        # one per async context); close it here, or the test database can't be dropped.
        connections.close_all()


def browser_sign_in(page, email: str, password: str, *, start: str = "/", totp_secret: str | None = None) -> None:
    """Sign in through the real form from ``start``; with ``totp_secret``, also pass the second-factor step."""
    page.goto(start)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if totp_secret is not None:
        page.wait_for_url("**/two-factor/verify/**")
        page.get_by_label("Code from your authenticator app").fill(f"{totp(totp_secret):06d}")
        page.get_by_role("button", name="Verify").click()


def test_customer_signs_in_and_sees_their_meters(page, alice, password):
    page.goto("/")
    page.get_by_label("Email address").fill("alice@example.test")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/customer/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Welcome, Alice")
    meter = alice.customer_account.agreements.get().premise.meters.get()
    assert page.get_by_role("cell", name=meter.serial_number).is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")


def test_operator_signs_in_with_a_totp_code(page, olga, password):
    page.goto("/operator/")
    page.get_by_label("Email address").fill("olga@example.test")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/two-factor/verify/")
    page.get_by_label("Code from your authenticator app").fill(f"{totp(TOTP_SECRET):06d}")
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/operator/")
    assert page.get_by_role("heading", name="Operations").is_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
