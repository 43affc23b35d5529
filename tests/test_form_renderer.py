"""The project's form renderer writes the plain input widgets exactly as Django's own templates do."""

from __future__ import annotations

import datetime

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates

from amiportal.portal.form_renderer import INPUT_TEMPLATES, PortalFormRenderer

AWKWARD = {
    "data-x": "a\"b<c>&'d",
    "required": True,
    "disabled": False,
    "autofocus": True,
    "placeholder": "e.g. <script>",
    "min": 0,
    "step": 0.5,
}

WIDGETS = [
    forms.TextInput(attrs=AWKWARD),
    forms.DateInput(attrs={"type": "date", "min": "1970-01-01", "max": "2099-12-31"}),
    forms.NumberInput(attrs={"min": 1, "max": 24}),
    forms.EmailInput(),
    forms.PasswordInput(render_value=True),
    forms.HiddenInput(),
    forms.CheckboxInput(attrs={"class": "x"}),
    forms.URLInput(),
    forms.TimeInput(),
    forms.DateTimeInput(),
    forms.ClearableFileInput(),  # not a one-element input: still goes to Django's template
    forms.Textarea(),
    forms.Select(choices=[("a", "A <b>"), ("b", "B")]),
    forms.RadioSelect(choices=[("a", "A"), ("b", "B")]),
]
VALUES = [None, "", "plain", 'quote" <tag> & amp', 0, 12.5, True, False, datetime.date(2026, 3, 8)]


@pytest.mark.parametrize("widget", WIDGETS, ids=lambda w: type(w).__name__)
@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_the_same_markup_as_djangos_templates(widget, value):
    ours = widget.render("field-name", value, attrs={"id": "id_field"}, renderer=PortalFormRenderer())
    django = widget.render("field-name", value, attrs={"id": "id_field"}, renderer=DjangoTemplates())
    assert ours == django


def test_every_input_template_is_the_one_element_input():
    """The templates handled in Python are exactly those Django writes as ``input.html`` alone."""
    renderer = DjangoTemplates()
    for name in INPUT_TEMPLATES:
        source = renderer.get_template(name).template.source.strip()
        assert source in {'{% include "django/forms/widgets/input.html" %}'} or name.endswith("/input.html"), name


def test_a_bound_form_with_errors_keeps_its_values_escaped():
    class Form(forms.Form):
        day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    form = Form(data={"day": '"><script>x</script>'}, renderer=PortalFormRenderer())
    assert not form.is_valid()
    html = str(form["day"])
    assert "<script>" not in html
    assert 'value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in html
