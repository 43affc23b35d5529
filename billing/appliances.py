"""The "what things cost" examples, by customer class: a home's laundry is not a steel works' shift.

Each example is (name, kWh, hours it takes); the dashboard prices it now and at the cheapest
start in the next 24 hours with the tariff engine. A class missing here gets no examples.
The figures are typical, named in the text so the customer can scale them to their own load.
"""

from __future__ import annotations

from decimal import Decimal

from amiportal.premises.models import CustomerClass

Example = tuple[str, Decimal, int]

EXAMPLES: dict[str, list[Example]] = {
    CustomerClass.RESIDENTIAL: [
        ("A load of laundry (wash and dry)", Decimal("3.0"), 2),
        ("A dishwasher run", Decimal("1.5"), 1),
        ("Charging an electric car (about 100 miles)", Decimal("30"), 4),
    ],
    CustomerClass.COMMERCIAL: [
        ("Each extra kW of load for an hour", Decimal("1"), 1),
        ("A 10 kW rooftop air-conditioning unit for 4 hours", Decimal("40"), 4),
        ("Charging a delivery van (60 kWh)", Decimal("60"), 6),
    ],
    CustomerClass.INDUSTRIAL: [
        ("Each extra kW of load for an hour", Decimal("1"), 1),
        ("An 8-hour shift of a 100 kW production line", Decimal("800"), 8),
        ("A 50 kW compressor for 4 hours", Decimal("200"), 4),
    ],
    CustomerClass.MUNICIPAL: [
        ("Each extra kW of load for an hour", Decimal("1"), 1),
        ("A 30 kW pump station running 6 hours", Decimal("180"), 6),
    ],
}


def appliance_examples(customer_class: str) -> list[Example]:
    return EXAMPLES.get(customer_class, [])
