"""Every persona's main pages in Debian's Chromium, at 1,280 and 390 px: axe-core finds no serious or critical
violation, and no page scrolls sideways (document.documentElement.scrollWidth <= the screen's width).

axe-core is the npm package locked in package.json / package-lock.json (``make static-vendor`` runs
``npm ci``, which installs it under node_modules/). ``AMI_TEST_AXE`` may point at another copy of
``axe.min.js`` (for example one installed with ``npm install --no-save --prefix /tmp/axe axe-core@<locked
version>``). The script is evaluated through the DevTools protocol, so the pages keep their real
Content-Security-Policy while they are checked.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import signed_in
from tests.han.world import han_world
from tests.test_browser import page  # noqa: F401 (the Chromium page fixture)
from tests.thirdparty import world as thirdparty_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 390)
# WCAG 2.2 A and AA plus axe's best practices; only serious and critical findings fail the test.
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}}
FAILING_IMPACTS = {"serious", "critical"}


def axe_source() -> str:
    path = Path(os.environ.get("AMI_TEST_AXE") or settings.BASE_DIR / "node_modules" / "axe-core" / "axe.min.js")
    if not path.is_file():
        # As for Chromium and the services (README, Tests): skipped with the reason, fatal under CI=true.
        reason = (
            f"axe-core not found at {path}: run `make static-vendor` (npm ci installs it from package-lock.json) "
            "or set AMI_TEST_AXE to an axe.min.js of the locked version"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path.read_text()


def axe_problems(page, source: str) -> list[str]:  # noqa: F811
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(source)
    result = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + "; ".join(json.dumps(node["target"]) for node in violation["nodes"][:3])
        for violation in result["violations"]
        if violation["impact"] in FAILING_IMPACTS
    ]


def sideways_overflow(page, screen: int) -> str | None:  # noqa: F811
    """The document is no wider than the screen; names the widest offenders if it is."""
    width = page.evaluate("document.documentElement.scrollWidth")
    if width <= screen:
        return None
    culprits = page.evaluate(
        """screen => [...document.querySelectorAll('main *, header *')]
              .filter(e => e.getBoundingClientRect().right > screen + 1)
              .slice(0, 4).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''))""",
        screen,
    )
    return f"scrollWidth {width} > {screen} ({', '.join(culprits)})"


def check_pages(page, live_server, user, paths: list[str]) -> list[str]:  # noqa: F811
    if user is not None:
        cookie = signed_in(user).cookies["sessionid"].value
        page.context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
    source = axe_source()
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path in paths:
            response = page.goto(path)
            assert response is not None and response.status < 500, f"{path}: {response and response.status}"
            problems += [f"{width}px {path}: {problem}" for problem in axe_problems(page, source)]
            overflow = sideways_overflow(page, width)
            if overflow:
                problems.append(f"{width}px {path}: {overflow}")
    return problems


@pytest.fixture
def people(alice, bob, ivan, olga, trent):
    people = {"alice": alice, "bob": bob, "ivan": ivan, "olga": olga, "trent": trent}
    han_world(people)
    thirdparty_world.alice_consent(people)
    return people


def test_sign_in_and_error_pages_pass_axe_and_fit_a_phone(page, live_server, db):  # noqa: F811
    problems = check_pages(page, live_server, None, ["/accounts/login/", "/accounts/password/reset/", "/no-such-page/"])
    assert not problems, "\n".join(problems)


def test_customer_pages_pass_axe_and_fit_a_phone(page, live_server, people):  # noqa: F811
    alice = people["alice"]
    premise = thirdparty_world.premise_of(alice)
    application = thirdparty_world.trent_application(people)
    _, challenge = thirdparty_world.pkce_pair()
    paths = [
        "/customer/",
        f"/customer/premises/{premise.pk}/usage/",
        f"/customer/premises/{premise.pk}/usage/readings.csv?start=2025-02-01&end=2025-01-01",
        "/han/devices/",
        "/customer/access/",
        "/customer/access/log/",
        "/customer/activity/",
        "/customer/notifications/",
        "/accounts/security/",
        thirdparty_world.authorize_url(application, challenge=challenge),
    ]
    problems = check_pages(page, live_server, alice, paths)
    assert not problems, "\n".join(problems)


def test_installer_pages_pass_axe_and_fit_a_phone(page, live_server, people):  # noqa: F811
    work_order = han_world(people)["work_order"]
    problems = check_pages(
        page, live_server, people["ivan"], ["/installer/", "/han/installer/", f"/han/installer/work-orders/{work_order.pk}/"]
    )
    assert not problems, "\n".join(problems)


def test_operator_pages_pass_axe_and_fit_a_phone(page, live_server, people):  # noqa: F811
    network = han_world(people)["network"]
    paths = [
        "/operator/",
        "/operator/customers/?q=Alice",
        f"/operator/customers/{people['alice'].customer_account.pk}/",
        "/operator/audit/",
        "/han/operator/",
        f"/han/operator/networks/{network.pk}/",
        "/operator/tariffs/",
        "/operator/critical-peak/",
        "/operator/third-parties/",
        "/operator/notifications/",
    ]
    problems = check_pages(page, live_server, people["olga"], paths)
    assert not problems, "\n".join(problems)


def test_developer_pages_and_the_api_reference_pass_axe_and_fit_a_phone(page, live_server, people):  # noqa: F811
    application = thirdparty_world.trent_application(people)
    paths = ["/developer/", "/developer/applications/", f"/developer/applications/{application.pk}/", "/developer/api/"]
    problems = check_pages(page, live_server, people["trent"], paths)
    assert not problems, "\n".join(problems)
