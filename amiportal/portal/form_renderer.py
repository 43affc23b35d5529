"""The project's form renderer: Django's templates, with the plain ``<input>`` widgets built in Python.

Every text, date, number, email, password, hidden, checkbox (and the other one-element)
input widget renders through ``django/forms/widgets/input.html`` and its ``attrs.html``
include: two template lookups and a loop of tags per field, about 0.3 ms each on a page
(the dashboard's download form alone was a fifth of its template time). ``_input_html``
writes the same markup, byte for byte (``tests/test_form_renderer.py`` compares them for
every such widget and awkward attribute values), and everything else (selects, radios,
textareas, the form and field templates) still goes to Django's templates.
"""

from __future__ import annotations

from django.forms.renderers import DjangoTemplates
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Django's widget templates that are exactly ``{% include "django/forms/widgets/input.html" %}`` (or it).
_ONE_ELEMENT = ("input", "checkbox", "color", "date", "datetime", "email", "file", "hidden", "number", "password", "search", "tel")
INPUT_TEMPLATES = frozenset(f"django/forms/widgets/{name}.html" for name in (*_ONE_ELEMENT, "text", "time", "url"))


def _input_html(widget: dict) -> SafeString:
    """``input.html`` with ``attrs.html``, as Django's templates write it (the template's escaping and spacing)."""
    parts = [f'<input type="{escape(widget["type"])}" name="{escape(widget["name"])}"']
    if widget["value"] is not None:
        parts.append(f' value="{escape(str(widget["value"]))}"')
    for name, value in widget["attrs"].items():
        if value is False:
            continue
        parts.append(f" {escape(name)}" if value is True else f' {escape(name)}="{escape(str(value))}"')
    parts.append(">")
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped)


class PortalFormRenderer(DjangoTemplates):
    """``FORM_RENDERER``: one-element input widgets in Python, the rest through Django's templates."""

    def render(self, template_name, context, request=None):
        if template_name in INPUT_TEMPLATES and "widget" in context:
            return _input_html(context["widget"])
        return super().render(template_name, context, request=request)
