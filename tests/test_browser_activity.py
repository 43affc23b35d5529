"""In Debian's Chromium: Alice, after someone guessed her password wrong, reads both sign-ins on her Account activity page."""

import pytest

from tests.test_browser import page  # noqa: F401  (the Chromium page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, email: str, password: str) -> None:  # noqa: F811
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.objective("SO-C4")
def test_alice_sees_the_failed_and_the_good_sign_in_in_words_and_local_time(page, alice, password):  # noqa: F811
    sign_in(page, "alice@example.test", "not-the-password-1")
    page.wait_for_load_state()
    sign_in(page, "alice@example.test", password)
    page.wait_for_url("**/customer/")
    page.get_by_role("link", name="Account activity").click()
    page.wait_for_url("**/customer/activity/")
    rows = page.get_by_role("row")
    failed = rows.filter(has_text="Someone tried to sign in to your account with a wrong password from 127.0.0.1")
    signed = rows.filter(has_text="You signed in with your password from 127.0.0.1 (two-step sign-in is not set up).")
    assert failed.count() == 1 and signed.count() == 1
    assert signed.locator("time").inner_text()[-4:] in (" CST", " CDT")  # her home's zone (America/Chicago), named
    assert "user:" not in page.locator("table").inner_text()
