"""Customer accounts, premises (service points), meters, and who occupies what when."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not an IANA time zone such as America/Chicago.") from None


class CustomerClass(models.TextChoices):
    RESIDENTIAL = "residential", "Residential"
    COMMERCIAL = "commercial", "Commercial"
    INDUSTRIAL = "industrial", "Industrial"
    MUNICIPAL = "municipal", "Municipal"


class CustomerAccount(models.Model):
    account_number = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    account_class = models.CharField(max_length=20, choices=CustomerClass.choices)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="customer_account", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account_number"]

    def __str__(self) -> str:
        return f"{self.account_number} {self.name}"


GRID_CODE_HELP = "The utility's own identifier: letters, digits, space and . _ - / (up to 32)."
grid_code_validator = RegexValidator(
    r"^[A-Za-z0-9](?:[A-Za-z0-9 ._/-]{0,30}[A-Za-z0-9])?$",
    "Use letters, digits, space and . _ - / only, starting and ending with a letter or digit.",
)


class Substation(models.Model):
    """Where a feeder leaves the transmission network: the top of a premise's grid location."""

    code = models.CharField(max_length=32, unique=True, validators=[grid_code_validator], help_text=GRID_CODE_HELP)
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"Substation {self.code}"


class Feeder(models.Model):
    """A distribution circuit out of one substation. Codes repeat between substations (feeder 1 of each)."""

    substation = models.ForeignKey(Substation, on_delete=models.PROTECT, related_name="feeders")
    code = models.CharField(max_length=32, validators=[grid_code_validator], help_text=GRID_CODE_HELP)

    class Meta:
        ordering = ["substation__code", "code"]
        constraints = [models.UniqueConstraint(fields=["substation", "code"], name="feeder_code_unique_per_substation")]

    def __str__(self) -> str:
        return f"Feeder {self.substation.code}/{self.code}"


class Transformer(models.Model):
    """The distribution transformer a premise's service drop hangs from: the smallest area a command or an outage groups by."""

    feeder = models.ForeignKey(Feeder, on_delete=models.PROTECT, related_name="transformers")
    code = models.CharField(max_length=32, validators=[grid_code_validator], help_text=GRID_CODE_HELP)

    class Meta:
        ordering = ["feeder__substation__code", "feeder__code", "code"]
        constraints = [models.UniqueConstraint(fields=["feeder", "code"], name="transformer_code_unique_per_feeder")]

    def __str__(self) -> str:
        return f"Transformer {self.feeder.substation.code}/{self.feeder.code}/{self.code}"


class Premise(models.Model):
    service_point_id = models.CharField(max_length=32, unique=True, help_text="The utility's service point identifier.")
    address_line = models.CharField(max_length=200)
    city = models.CharField(max_length=100)
    postal_code = models.CharField(max_length=16)
    customer_class = models.CharField(max_length=20, choices=CustomerClass.choices)
    timezone = models.CharField(max_length=64, default="America/Chicago", validators=[validate_timezone])
    has_der = models.BooleanField(default=False, help_text="Distributed generation or storage on site (net metered).")
    # Where it sits on the grid (the transformer names its feeder and substation); empty until the utility says.
    transformer = models.ForeignKey(Transformer, on_delete=models.PROTECT, null=True, blank=True, related_name="premises")

    class Meta:
        ordering = ["service_point_id"]

    def __str__(self) -> str:
        return f"{self.address_line}, {self.city}"


class MeterKind(models.TextChoices):
    ELECTRIC = "electric", "Electric"
    GAS = "gas", "Gas"
    WATER = "water", "Water"


class MeterStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DISCONNECTED = "disconnected", "Disconnected"
    LIMITED = "limited", "Limited"


class Meter(models.Model):
    premise = models.ForeignKey(Premise, on_delete=models.PROTECT, related_name="meters")
    serial_number = models.CharField(max_length=40, unique=True)
    kind = models.CharField(max_length=10, choices=MeterKind.choices)
    status = models.CharField(max_length=15, choices=MeterStatus.choices, default=MeterStatus.ACTIVE)
    installed_on = models.DateField()
    removed_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["premise_id", "kind", "serial_number"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} meter {self.serial_number}"


class ServiceAgreement(models.Model):
    """An account's occupancy of a premise, from move-in to move-out.

    Data and rights follow occupancy: what a customer may see at a premise is
    bounded by these dates, so a new occupant never sees a previous one's data.
    """

    account = models.ForeignKey(CustomerAccount, on_delete=models.PROTECT, related_name="agreements")
    premise = models.ForeignKey(Premise, on_delete=models.PROTECT, related_name="agreements")
    move_in = models.DateField()
    move_out = models.DateField(null=True, blank=True, help_text="Last day of service; empty while the account still occupies the premise.")

    class Meta:
        ordering = ["premise_id", "move_in"]
        constraints = [
            models.UniqueConstraint(fields=["premise"], condition=Q(move_out__isnull=True), name="one_open_agreement_per_premise"),
            models.CheckConstraint(
                condition=Q(move_out__isnull=True) | Q(move_out__gte=models.F("move_in")), name="move_out_after_move_in"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} at {self.premise} from {self.move_in}"
