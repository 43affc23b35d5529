from django import template

from thirdparty.models import DataKind

register = template.Library()


@register.filter
def data_kind_label(value: str) -> str:
    return DataKind(value).label if value in DataKind.values else value


@register.filter
def readable_kinds(kinds: list[str]) -> list[str]:
    """What a consent lets the company see; device control is shown on its own line."""
    return [kind for kind in kinds if kind != DataKind.HAN_CONTROL]
