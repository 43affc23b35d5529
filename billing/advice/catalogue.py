"""The appliance catalogue behind the home advice: typical power, yearly use, lifetime and a replacement.

Figures are typical US values, rounded, each with its source named so a customer (or an
auditor) can check it. They are deliberately conservative: advice that overstates savings
costs the utility its customers' trust. ``yearly_kwh`` is what a unit of that kind and age uses
in a typical home; ``replacement_kwh`` what today's efficient model uses for the same service.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

NAHB_LIFE = "NAHB/Bank of America, Study of Life Expectancy of Home Components (2007)"
DOE_ESTIMATING = "U.S. DOE Energy Saver, Estimating Appliance and Home Electronic Energy Use"


@dataclass(frozen=True)
class Appliance:
    key: str
    name: str
    typical_watts: int  # drawn while running
    yearly_kwh: int  # an old unit, in a typical home
    lifetime_years: int
    replacement: str  # what to buy instead
    replacement_kwh: int  # the replacement's yearly use for the same service
    replacement_cost: Decimal  # typical installed price, US dollars
    sources: tuple[str, ...]
    # A share of a load the portal estimates from the meter, instead of yearly_kwh: "heating", "cooling", "water".
    scales_with: str = ""


CATALOGUE: dict[str, Appliance] = {
    appliance.key: appliance
    for appliance in (
        Appliance(
            "refrigerator",
            "Refrigerator",
            150,
            700,
            13,
            "an ENERGY STAR refrigerator",
            400,
            Decimal("1200"),
            ("ENERGY STAR, Refrigerators: key product criteria and the Flip Your Fridge calculator", NAHB_LIFE),
        ),
        Appliance(
            "freezer",
            "Separate freezer",
            120,
            600,
            11,
            "an ENERGY STAR freezer",
            350,
            Decimal("800"),
            ("ENERGY STAR, Freezers: key product criteria", NAHB_LIFE),
        ),
        Appliance(
            "dryer",
            "Electric clothes dryer",
            3000,
            800,
            13,
            "an ENERGY STAR heat-pump dryer",
            480,
            Decimal("1300"),
            ("ENERGY STAR, Clothes Dryers (certified dryers use about 20 % less; heat-pump models less still)", NAHB_LIFE),
        ),
        Appliance(
            "dishwasher",
            "Dishwasher",
            1200,
            300,
            9,
            "an ENERGY STAR dishwasher",
            240,
            Decimal("700"),
            ("ENERGY STAR, Dishwashers: key product criteria", NAHB_LIFE),
        ),
        Appliance(
            "water_heater",
            "Electric water heater (tank)",
            4500,
            4000,
            13,
            "a heat-pump water heater",
            1400,
            Decimal("2500"),
            (DOE_ESTIMATING, "U.S. DOE Energy Saver, Heat Pump Water Heaters (2 to 3 times as efficient)", NAHB_LIFE),
            scales_with="water",
        ),
        Appliance(
            "central_ac",
            "Central air conditioner",
            3500,
            0,
            15,
            "an ENERGY STAR central air conditioner or heat pump (15.2 SEER2 against about 10 SEER for a unit of 2006 or before)",
            0,
            Decimal("6000"),
            ("ENERGY STAR, Central Air Conditioners and Air-Source Heat Pumps: key product criteria", NAHB_LIFE),
            scales_with="cooling",
        ),
        Appliance(
            "electric_heat",
            "Electric furnace or baseboard heaters",
            10000,
            0,
            20,
            "an air-source heat pump (a seasonal efficiency of about 2.5 against 1 for resistance heat)",
            0,
            Decimal("9000"),
            ("U.S. DOE Energy Saver, Heat Pump Systems", "U.S. DOE Energy Saver, Electric Resistance Heating", NAHB_LIFE),
            scales_with="heating",
        ),
        Appliance(
            "pool_pump",
            "Single-speed pool pump",
            1500,
            2500,
            10,
            "an ENERGY STAR variable-speed pool pump",
            800,
            Decimal("1500"),
            ("ENERGY STAR, Pool Pumps (variable-speed pumps use up to about 70 % less)",),
        ),
        Appliance(
            "incandescent_lighting",
            "Incandescent or halogen bulbs (20 bulbs, 3 hours a day)",
            1200,
            1300,
            1,
            "LED bulbs (about 75 % less energy, lasting 25 times longer)",
            200,
            Decimal("60"),
            ("U.S. DOE Energy Saver, LED Lighting",),
        ),
    )
}

# What replacing a unit changes in a load the meter shows, for those priced from the estimate.
SHARE_SAVED = {
    "cooling": Decimal(1) - Decimal(10) / Decimal("15.2"),  # SEER 10 -> 15.2 SEER2: about a third less
    "heating": Decimal(1) - Decimal(1) / Decimal("2.5"),  # resistance (COP 1) -> heat pump (seasonal COP about 2.5)
}
# Electric water heating per person and year (DOE Energy Saver: a family of four about 4,000 kWh in a resistance tank).
WATER_KWH_PER_PERSON = 1000
