"""What Alice reads in her Account activity about the companies she let in (SO-T1)."""

from __future__ import annotations

import zoneinfo

import pytest

from tests.conftest import signed_in
from tests.thirdparty import world
from thirdparty.services.consent import consent_revoke

pytestmark = pytest.mark.django_db


def activity_table(user) -> str:
    html = signed_in(user).get("/customer/activity/").content.decode()
    return html[html.index("<table") : html.index("</table>")]


@pytest.mark.objective("SO-T1")
def test_alice_reads_which_company_she_let_see_what_and_when_it_ended(alice, bob, application):
    consent = world.grant(application, alice, kinds=["interval_usage", "usage_summary"])
    consent_revoke(consent=consent, actor=alice)
    address = world.premise_of(alice).address_line
    table = activity_table(alice)
    expected_end = f"{consent.expires_at.astimezone(zoneinfo.ZoneInfo('America/Chicago')):%-d %b %Y}"  # her home's day
    assert f"You allowed Energy Insights to see usage readings, usage summaries for {address} until {expected_end}." in table
    assert "You ended the access of Energy Insights to your data." in table
    for raw in ("consent:", "application_id", "thirdparty.", "interval_usage", "access ended"):
        assert raw not in table, raw
    assert "Energy Insights" not in activity_table(bob)
