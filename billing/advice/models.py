"""What a customer tells us about their home (seed 1.2.16.5), kept per occupancy.

Bound to the service agreement, not the premise: the next occupant starts with an empty
profile and never sees what the previous one said about the home.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from amiportal.premises.models import ServiceAgreement


class HomeType(models.TextChoices):
    DETACHED = "detached", "Detached house"
    ATTACHED = "attached", "Townhouse or semi-detached"
    APARTMENT = "apartment", "Apartment or flat"
    MOBILE = "mobile", "Mobile home"
    OTHER = "other", "Something else"


class Heating(models.TextChoices):
    ELECTRIC = "electric", "Electric furnace or baseboard heaters"
    HEAT_PUMP = "heat_pump", "Heat pump"
    GAS = "gas", "Gas"
    OIL = "oil", "Oil or propane"
    NONE = "none", "No heating"


class Cooling(models.TextChoices):
    CENTRAL = "central", "Central air conditioning"
    ROOM = "room", "Room air conditioners"
    HEAT_PUMP = "heat_pump", "Heat pump"
    NONE = "none", "No cooling"


class WaterHeating(models.TextChoices):
    ELECTRIC = "electric", "Electric tank"
    HEAT_PUMP = "heat_pump", "Heat-pump water heater"
    GAS = "gas", "Gas"
    OTHER = "other", "Something else"


class AgeBand(models.TextChoices):
    UNDER_5 = "0-4", "Under 5 years"
    FIVE = "5-9", "5 to 9 years"
    TEN = "10-14", "10 to 14 years"
    FIFTEEN = "15+", "15 years or more"

    @property
    def lowest_years(self) -> int:
        return int(self.value.split("-")[0].rstrip("+"))


class HomeProfile(models.Model):
    agreement = models.OneToOneField(ServiceAgreement, on_delete=models.CASCADE, related_name="home_profile")
    home_type = models.CharField(max_length=20, choices=HomeType.choices, blank=True)
    occupants = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(20)])
    floor_area_m2 = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(10), MaxValueValidator(5000)])
    heating = models.CharField(max_length=20, choices=Heating.choices, blank=True)
    cooling = models.CharField(max_length=20, choices=Cooling.choices, blank=True)
    water_heating = models.CharField(max_length=20, choices=WaterHeating.choices, blank=True)
    has_ev = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Home profile of agreement {self.agreement_id}"


class HomeAppliance(models.Model):
    profile = models.ForeignKey(HomeProfile, on_delete=models.CASCADE, related_name="appliances")
    kind = models.CharField(max_length=40)  # a key of billing.advice.catalogue.CATALOGUE
    age = models.CharField(max_length=8, choices=AgeBand.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["profile", "kind"], name="one_entry_per_appliance_kind")]

    def __str__(self) -> str:
        return f"{self.kind} ({self.age})"
