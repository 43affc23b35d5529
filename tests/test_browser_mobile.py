"""At 390 px in Debian's Chromium: the header is one row with a Menu, devices and work orders fold into cards whose
Remove and Retry buttons are on screen, checkboxes sit beside their labels, and the focus ring stands out (3:1)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import signed_in
from tests.han.world import han_world
from tests.test_browser import page  # noqa: F401 (the Chromium page fixture)
from tests.thirdparty import world as thirdparty_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def people(alice, bob, ivan, olga, trent):
    people = {"alice": alice, "bob": bob, "ivan": ivan, "olga": olga, "trent": trent}
    han_world(people)  # Alice's home network, a failed in-home display, Ivan's work order there
    return people


def _as(page, live_server, user):  # noqa: F811
    cookie = signed_in(user).cookies["sessionid"].value
    page.context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])


def _on_screen(locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def _luminance(rgb: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(v) for v in re.findall(r"\d+", rgb)[:3])
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast(one: str, other: str) -> float:
    high, low = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_header_is_one_row_with_a_menu_that_opens_without_script(page, live_server, people):  # noqa: F811
    _as(page, live_server, people["alice"])
    page.set_viewport_size(PHONE)
    page.goto("/han/devices/")
    header = page.locator(".header-row").bounding_box()
    brand = page.get_by_role("link", name="AMI Portal").bounding_box()
    sign_out = page.get_by_role("button", name="Sign out").bounding_box()
    assert header["height"] < 70, f"header is {header['height']} px high"
    assert abs(brand["y"] - sign_out["y"]) < 16, "brand and Sign out share one row"
    assert not page.get_by_role("link", name="Who can see my data").is_visible()
    page.get_by_text("Menu", exact=True).click()
    assert page.get_by_role("link", name="Who can see my data").is_visible()
    assert page.get_by_role("link", name="Home devices").get_attribute("aria-current") == "page"
    page.get_by_role("link", name="Who can see my data").click()
    page.wait_for_url("**/customer/access/")

    page.set_viewport_size({"width": 1280, "height": 800})
    assert page.get_by_role("link", name="Home devices").is_visible(), "on a wide screen the links are in the header"
    assert not page.get_by_text("Menu", exact=True).is_visible()


def test_remove_and_retry_are_on_screen_at_390_px(page, live_server, people):  # noqa: F811
    page.set_viewport_size(PHONE)
    _as(page, live_server, people["alice"])
    page.goto("/han/devices/")
    remove = page.get_by_role("button", name=re.compile(r"^Remove "))
    assert remove.is_visible() and _on_screen(remove)
    assert _on_screen(page.locator("[data-han-state]").first)

    page.context.clear_cookies()
    _as(page, live_server, people["ivan"])
    work_order = han_world(people)["work_order"]
    page.goto(f"/han/installer/work-orders/{work_order.pk}/")
    retry = page.get_by_role("button", name="Retry")
    assert retry.is_visible() and _on_screen(retry), "the failed device's Retry is reachable without scrolling sideways"
    assert _on_screen(page.locator("[data-han-state]").first)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_checkboxes_sit_beside_their_labels(page, live_server, people):  # noqa: F811
    application = thirdparty_world.trent_application(people)
    _, challenge = thirdparty_world.pkce_pair()
    _as(page, live_server, people["alice"])
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(thirdparty_world.authorize_url(application, challenge=challenge))
        boxes = page.locator('input[type="checkbox"]')
        assert boxes.count() >= 2
        for index in range(boxes.count()):
            box = boxes.nth(index).bounding_box()
            label = boxes.nth(index).locator("xpath=ancestor::label[1]").bounding_box()
            text_starts = page.evaluate(
                """input => { const r = document.createRange(); r.selectNodeContents(input.parentElement);
                   r.setStartAfter(input); return r.getBoundingClientRect().left; }""",
                boxes.nth(index).element_handle(),
            )
            assert box["width"] < 30, f"a checkbox is {box['width']} px wide at {width} px"
            assert 0 <= text_starts - (box["x"] + box["width"]) < 24, f"label text starts far from its checkbox at {width} px"
            assert label is not None


def test_the_focus_ring_has_three_to_one_contrast_on_every_background(page, live_server, people):  # noqa: F811
    thirdparty_world.alice_consent(people)  # a card with links on the page
    _as(page, live_server, people["alice"])
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/customer/access/")
    checks = {
        "main link on white card": "main .card a",
        "main link on the page background": "main > .lede a",
        "header link on the brand colour": ".nav-wide a",
    }
    for what, selector in checks.items():
        element = page.locator(selector).first
        element.focus()
        ring, background = page.evaluate(
            """e => { const style = getComputedStyle(e);
                let n = e.parentElement, bg = 'rgba(0, 0, 0, 0)';
                while (n && (bg = getComputedStyle(n).backgroundColor) === 'rgba(0, 0, 0, 0)') n = n.parentElement;
                if (!n) bg = getComputedStyle(document.documentElement).backgroundColor;
                return [style.outlineStyle === 'none' ? '' : style.outlineColor, bg]; }""",
            element.element_handle(),
        )
        assert ring, f"{what}: no focus outline"
        assert _contrast(ring, background) >= 3, f"{what}: ring {ring} on {background} is {_contrast(ring, background):.2f}:1"
