import html
from decimal import Decimal

from django import template
from django.utils.safestring import mark_safe

from billing.units import UNITS, convert, stored_unit

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


@register.filter
def money(amount, currency: str) -> str:
    """An amount in whole currency units with its ISO code: $123.45 for US dollars, 123.45 EUR otherwise."""
    if amount is None:
        return "–"
    if currency == "USD":
        return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"
    return f"{amount:,.2f} {currency}"


_QUANTITY = {"Wh": (Decimal(1000), "kWh"), "mtherm": (Decimal(1000), "therms"), "L": (Decimal(1), "litres")}


@register.filter
def quantity(value, unit: str) -> str:
    """A stored quantity in the unit people read: ``unit`` is the stored unit (Wh, mtherm, L: kWh, therms,
    litres) or a meter's own unit (m3, ccf, gal: its stored thousandths shown as m³, CCF, gallons)."""
    if value is None:
        return "–"
    if unit not in _QUANTITY and unit in UNITS:
        divisor, name = convert(1, unit, stored_unit(unit)), UNITS[unit].symbol
    else:
        divisor, name = _QUANTITY.get(unit, (Decimal(1), unit))
    return f"{Decimal(value) / divisor:,.1f} {name}"


@register.filter
def measured(amount, symbol: str) -> str:
    """A quantity already in the unit people read (m³, CCF, gallons), to three significant decimals at most."""
    if amount is None:
        return "–"
    value = Decimal(amount)
    places = Decimal("0.1") if abs(value) >= 100 else Decimal("0.001")
    text = f"{value.quantize(places):,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} {symbol}".strip()


def _cell(value) -> str:
    """``conditional_escape`` without its layers of wrappers: HTML stays as it is, anything else is escaped.

    A float or int prints as digits, sign, point and exponent only, so it needs no escaping.
    """
    if value.__class__ is float or value.__class__ is int:
        return str(value)
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


@register.filter
def chart_table_rows(chart, with_export: bool) -> str:
    """A chart's data table body: one row per point, its label as the row header.

    Interval and hour charts add the TOU period's name, so the period is never told by colour alone.
    Built in Python rather than a template loop (a year of hours and days is about 300 rows,
    and a loop of template tags cost about 10 ms a page), every cell escaped as
    ``format_html`` would (``_cell``), at about a fifth of ``format_html_join``'s cost.
    """
    columns = [chart.labels, chart.delivered]
    if with_export:
        columns.append(chart.received or [0] * len(chart.labels))
    if chart.period_labels:
        columns.append(chart.period_labels)
    rows = [
        '<tr><th scope="row">' + _cell(row[0]) + "</th>" + "".join(["<td>" + _cell(value) + "</td>" for value in row[1:]]) + "</tr>"
        for row in zip(*columns, strict=False)
    ]
    return mark_safe("".join(rows))  # noqa: S308 (every cell escaped by _cell)
