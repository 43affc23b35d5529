from django import template

from thirdparty.access_log_words import resource_words, result_words
from thirdparty.models import DataKind

register = template.Library()


@register.filter
def data_kind_label(value: str) -> str:
    return DataKind(value).label if value in DataKind.values else value


@register.filter
def readable_kinds(kinds: list[str]) -> list[str]:
    """What a consent lets the company see; device control is shown on its own line."""
    return [kind for kind in kinds if kind != DataKind.HAN_CONTROL]


@register.filter
def access_resource(path: str) -> str:
    return resource_words(path)


@register.filter
def access_result(status_code: int) -> str:
    return result_words(status_code)
