import json

from django import template

register = template.Library()


@register.filter
def audit_payload(text: str) -> str:
    """Show an audit payload as 'key: value' pairs instead of raw JSON."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return text
    if not data:
        return ""
    return "; ".join(f"{key.replace('_', ' ')}: {value}" for key, value in sorted(data.items()))


@register.filter
def action_label(action: str) -> str:
    return action.replace("_", " ").replace(".", ": ", 1)
