"""An operator's new journeys, completed in Debian's Chromium: a status read to a grid area, and a meter's unit.

Each is clicked through as Olga would, from the grid page, through the confirm page, to the result;
axe-core finds no serious or critical violation on any page on the way.
"""

import pytest
from playwright.sync_api import expect

from amiportal.audit.models import AuditEntry
from amiportal.premises.grid_services import GridPath, grid_location_set
from amiportal.premises.models import MeterKind
from billing.models import MeterUnit
from han.models import AreaRequest, Coordinator, CoordinatorCommand, DeviceState, HanNetwork, JobKind
from han.protocol import CoordinatorIdentity
from han.services.keys import network_key_generate_sealed
from tests.billing.helpers import ingest, readings, utc
from tests.conftest import TOTP_SECRET
from tests.factories import MeterFactory, PremiseFactory
from tests.han.conftest import random_eui64
from tests.test_browser import browser_sign_in, page  # noqa: F401 (the Playwright page fixture)
from tests.test_browser_accessibility import axe_problems, axe_source

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

METERING_INTERVIEW = {"endpoints": [{"id": 1, "in_clusters": [0x0702], "out_clusters": []}]}


def _sign_in_as_olga(page, password, first_url):  # noqa: F811
    browser_sign_in(page, "olga@example.test", password, start=first_url, totp_secret=TOTP_SECRET)
    page.wait_for_url("**/operator/**")


def _metered_premise(olga, n: int):
    premise = PremiseFactory(service_point_id=f"SP-88{n:02d}")
    grid_location_set(premise=premise, path=GridPath("SUB-N", "F-7", "T-1"), actor=olga)
    identity = CoordinatorIdentity.generate(f"gw-area-{n}")
    coordinator = Coordinator.objects.create(
        name=identity.name, box_public_key=identity.box_public_hex, verify_public_key=identity.verify_public_hex
    )
    network = HanNetwork(premise=premise, coordinator=coordinator, pan_id=0x1A2B, extended_pan_id="00:11:22:33:44:55:66:77", channel=15)
    network.network_key_sealed = network_key_generate_sealed(network=network)
    network.save()
    network.devices.create(
        eui64=random_eui64(), device_type="metering", state=DeviceState.VERIFIED, link_key_sealed="x", interview=METERING_INTERVIEW
    )
    return premise


def test_olga_sends_a_status_read_to_a_feeder_and_follows_it(page, olga, password):  # noqa: F811
    for n in range(2):
        _metered_premise(olga, n)
    _sign_in_as_olga(page, password, "/operator/grid/?substation=SUB-N&feeder=F-7")
    page.goto("/operator/grid/?substation=SUB-N&feeder=F-7")
    page.get_by_role("link", name="Send a status read to devices at SUB-N / F-7").click()
    axe = axe_source()
    assert axe_problems(page, axe) == []
    page.get_by_label("To which devices at each premise").select_option(label="Devices that meter energy")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("button", name="Send to 2 premises")).to_be_visible()
    assert axe_problems(page, axe) == []
    assert AreaRequest.objects.count() == 0  # nothing is sent before the confirmation
    page.get_by_role("button", name="Send to 2 premises").click()
    page.wait_for_url("**/han/operator/area-commands/*/")
    summary = "2 premises in SUB-N / F-7: 2 got a device status read to devices that meter energy."
    expect(page.get_by_role("status").get_by_text(summary)).to_be_visible()  # the message after sending
    expect(page.locator("section.card").get_by_text(summary)).to_be_visible()  # and the request's own summary
    expect(page.get_by_role("cell", name="SP-8800")).to_be_visible()
    expect(page.get_by_role("cell", name="SP-8801")).to_be_visible()
    assert axe_problems(page, axe) == []
    area = AreaRequest.objects.get()
    assert area.requested_by == olga and area.commands_created == 2
    assert CoordinatorCommand.objects.filter(area_request=area, kind=JobKind.STATUS_READ).count() == 2

    # Later, from the area command page, she finds the request among the earlier ones and opens it again.
    page.goto("/han/operator/area-commands/")
    earlier = page.get_by_role("table", name="The latest 1, newest first")
    expect(earlier.get_by_role("cell", name="SUB-N / F-7")).to_be_visible()
    assert axe_problems(page, axe) == []
    earlier.get_by_role("link").click()
    page.wait_for_url(f"**/han/operator/area-commands/{area.pk}/")
    expect(page.locator("section.card").get_by_text(summary)).to_be_visible()


def test_olga_changes_a_water_meters_unit_from_the_premise_page_after_confirming(page, olga, alice, password):  # noqa: F811
    premise = alice.customer_account.agreements.get().premise
    MeterFactory(premise=premise, serial_number="W-BROWSER", kind=MeterKind.WATER)
    ingest(readings("W-BROWSER", utc(2025, 1, 1), hours=2, seconds=3600, unit="L", value=lambda moment: 120))
    _sign_in_as_olga(page, password, f"/operator/grid/premises/{premise.pk}/")
    page.goto(f"/operator/grid/premises/{premise.pk}/")
    page.get_by_role("link", name="Unit of measure of meter W-BROWSER").click()
    expect(page.get_by_text("Read in litres.")).to_be_visible()
    axe = axe_source()
    assert axe_problems(page, axe) == []
    page.get_by_label("Unit of measure").select_option(label="m³")
    page.get_by_role("button", name="Change the unit").click()
    expect(page.get_by_role("heading", name="Read meter W-BROWSER in m³ instead of litres?")).to_be_visible()
    assert axe_problems(page, axe) == []
    assert not MeterUnit.objects.filter(meter__serial_number="W-BROWSER").exists()  # nothing before the confirmation
    page.get_by_role("button", name="Read it in m³").click()
    page.wait_for_url("**/operator/meters/*/unit/")
    expect(page.get_by_text("Read in m³.")).to_be_visible()
    assert MeterUnit.objects.get(meter__serial_number="W-BROWSER").unit == "m3"
    assert AuditEntry.objects.filter(action="billing.meter_unit_set", actor_id=olga.pk).count() == 1
