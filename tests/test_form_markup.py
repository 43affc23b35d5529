"""The shared form partial links each field to its help text, so screen readers read both."""

import re

from django.template.loader import render_to_string

from amiportal.portal.forms import StaffAccessReasonForm


def test_every_described_by_points_at_an_element_on_the_page():
    html = render_to_string("_form.html", {"form": StaffAccessReasonForm()})
    described_by = re.findall(r'aria-describedby="([^"]+)"', html)
    assert described_by, "the field with help text names its description"
    for ids in described_by:
        for element_id in ids.split():
            assert f'id="{element_id}"' in html, f"{element_id} is not on the page"
