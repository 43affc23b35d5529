"""Alice describes her home and reads the advice, in Debian's Chromium (seed 1.2.16.5)."""

import pytest

from tests.billing.test_home_advice import _sixty_days
from tests.test_browser import page  # noqa: F401 (the Playwright page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_alice_fills_in_her_home_and_sees_what_to_replace(page, alice, password):  # noqa: F811
    _sixty_days(alice)
    page.goto("/")
    page.get_by_label("Email address").fill("alice@example.test")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/customer/")
    page.get_by_role("link", name="Your home and advice").click()
    assert page.get_by_role("rowheader", name="Always on (base load)").is_visible()
    page.get_by_label("People living here").fill("2")
    page.get_by_label("Incandescent or halogen bulbs (20 bulbs, 3 hours a day): how old?").select_option("5-9")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_text("Saved. The advice below now uses what you told us.").is_visible()
    suggestion = page.get_by_test_id("suggestion").first
    assert "worth replacing now" in suggestion.inner_text()
    assert page.get_by_label("People living here").input_value() == "2"
