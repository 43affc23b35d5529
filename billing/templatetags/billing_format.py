from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def dollars(cents) -> str:
    """Cents (Decimal) as dollars for people: $12.34, or -$1.20 for a credit."""
    if cents is None:
        return "–"
    value = (Decimal(cents) / 100).quantize(Decimal("0.01"))
    return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"


@register.filter
def cents_rate(cents) -> str:
    """A price per kWh: 12.5¢/kWh."""
    if cents is None:
        return "–"
    return f"{Decimal(cents).quantize(Decimal('0.1'))}¢ per kWh"


@register.filter
def kwh(wh) -> str:
    if wh is None:
        return "–"
    return f"{Decimal(wh) / 1000:,.1f} kWh"
