"""An operator loads the utility's grid file and corrects one premise, in Debian's Chromium."""

import pytest

from amiportal.premises.models import Premise
from tests.conftest import TOTP_SECRET
from tests.factories import PremiseFactory
from tests.test_browser import browser_sign_in, page  # noqa: F401 (the Playwright page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_loads_a_grid_file_then_moves_a_premise(page, olga, password, tmp_path):  # noqa: F811
    PremiseFactory(service_point_id="SP-7001")
    PremiseFactory(service_point_id="SP-7002")
    grid = tmp_path / "riverton-grid.csv"
    grid.write_text("service_point_id,substation,feeder,transformer\nSP-7001,NORTH,N1,T-1\nSP-7002,NORTH,N1,T-2\n")
    browser_sign_in(page, "olga@example.test", password, start="/operator/grid/", totp_secret=TOTP_SECRET)
    page.wait_for_url("**/operator/**")
    page.goto("/operator/grid/")
    page.get_by_label("CSV file", exact=True).set_input_files(str(grid))
    page.get_by_role("button", name="Load file").click()
    page.wait_for_url("**/operator/grid/")
    assert page.get_by_text("Loaded: 2 premises in the file").is_visible()
    page.get_by_role("link", name="T-2").click()
    assert page.get_by_role("cell", name="SP-7002").is_visible()
    page.get_by_role("link", name="SP-7002").click()
    page.get_by_label("Transformer").fill("T-3")
    page.get_by_role("button", name="Save location").click()
    assert page.get_by_text("SP-7002 is now at NORTH / N1 / T-3").is_visible()
    assert Premise.objects.get(service_point_id="SP-7002").transformer.code == "T-3"
