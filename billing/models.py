"""Interval readings, their rollups, ingest batches, tariffs and prices.

Readings are never deleted or edited in place: a correction inserts a new
version and marks the old one superseded (SO-U2). Only current versions take
part in rollups, costs and exports.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from amiportal.premises.models import Meter, MeterKind, Premise


class Channel(models.IntegerChoices):
    DELIVERED = 1, "Delivered (import from the grid)"
    RECEIVED = 2, "Received (export to the grid)"


class Quality(models.IntegerChoices):
    ACTUAL = 0, "Actual"
    ESTIMATED = 1, "Estimated"
    VALIDATED = 2, "Validated"


class Source(models.IntegerChoices):
    HEAD_END = 1, "Head-end"
    GREEN_BUTTON = 2, "Green Button import"
    DEMO = 3, "Demo generator"


# The unit each meter kind's readings are stored in, as whole numbers, for a meter without a
# ``MeterUnit`` (one read in the kind's default unit: kWh, therms, litres). See billing/units.py.
UNIT_FOR_KIND = {MeterKind.ELECTRIC: "Wh", MeterKind.GAS: "mtherm", MeterKind.WATER: "L"}


class MeterUnit(models.Model):
    """The unit a meter is read in when it is not its kind's default (a gas meter in m³, a water meter in gallons).

    Its readings are stored as whole numbers of ``billing.units.stored_unit(unit)`` (litres for
    m³, thousandths of a cubic foot for ft³ and CCF, thousandths of a gallon for gallons), so a
    meter's own readings are kept exactly. Set by ``meter_unit_set`` or by the first import
    into a meter with no readings (``readings_ingest`` reports it).
    """

    meter = models.OneToOneField(Meter, on_delete=models.PROTECT, primary_key=True, related_name="+")
    unit = models.CharField(max_length=8)

    def __str__(self) -> str:
        return f"meter {self.meter_id} read in {self.unit}"


class IngestBatch(models.Model):
    """One delivery of readings (a head-end file, an API call, a Green Button file) and its report."""

    class Status(models.TextChoices):
        COMMITTED = "committed", "Committed"
        PARTIAL = "partial", "Committed the valid rows"
        REJECTED = "rejected", "Rejected, nothing committed"

    received_at = models.DateTimeField(auto_now_add=True)
    source = models.PositiveSmallIntegerField(choices=Source.choices)
    filename = models.CharField(max_length=255, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices)
    accepted = models.PositiveIntegerField(default=0)
    corrected = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    # The first rejections with their reasons (bounded, so a garbage file cannot bloat the row).
    errors = models.JSONField(default=list)
    # What the file did that real utility files do and was accepted as the utility meant it
    # (a billing period trimmed at a DST change, a meter's unit taken from its first file), bounded too.
    notes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"Ingest {self.pk} ({self.status}, {self.accepted} accepted, {self.rejected} rejected)"


class IntervalReading(models.Model):
    # No database-level foreign keys on this table: per-row FK triggers cost about 40% of bulk
    # ingest time (docs/billing-storage.md). The ingest service resolves and locks each meter
    # before writing, and PROTECT still stops the ORM from deleting a meter or batch in use.
    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False)
    channel = models.PositiveSmallIntegerField(choices=Channel.choices)
    start = models.DateTimeField()
    seconds = models.PositiveIntegerField(help_text="Interval length in seconds (300, 900, 3600, 86400, or a billing period).")
    value = models.BigIntegerField(help_text="In the meter kind's unit: Wh, mtherm or L.")
    quality = models.PositiveSmallIntegerField(choices=Quality.choices, default=Quality.ACTUAL)
    source = models.PositiveSmallIntegerField(choices=Source.choices)
    version = models.PositiveIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    batch = models.ForeignKey(IngestBatch, on_delete=models.PROTECT, related_name="+", null=True, db_index=False, db_constraint=False)

    class Meta:
        constraints = [
            # Idempotent re-ingest: one current version per meter, channel and interval start.
            # On PostgreSQL migration 0002 rebuilds it as a covering index (INCLUDE seconds, value),
            # so a customer's range is an index-only scan.
            models.UniqueConstraint(fields=["meter", "channel", "start"], condition=Q(is_current=True), name="reading_current_unique"),
            models.CheckConstraint(condition=Q(value__gte=0), name="reading_value_not_negative"),
            models.CheckConstraint(condition=Q(seconds__gt=0), name="reading_seconds_positive"),
        ]
        indexes = [
            # History lookups (what a correction replaced) stay cheap without bloating the hot index.
            models.Index(fields=["meter", "channel", "start", "version"], condition=Q(is_current=False), name="reading_history"),
        ]
        # On PostgreSQL a BRIN index on start is added by migration 0002 (docs/billing-storage.md).

    def __str__(self) -> str:
        return f"meter {self.meter_id} channel {self.channel} at {self.start:%Y-%m-%d %H:%M} v{self.version}"


class Granularity(models.IntegerChoices):
    HOUR = 1, "Hour"
    DAY = 2, "Day"
    MONTH = 3, "Month"


class UsageRollup(models.Model):
    """Sums of current readings per local hour, day and month, kept up to date on ingest."""

    # No database-level foreign key, for the same reason as IntervalReading: a meter-year of
    # 15-minute data writes about 9,100 rollup rows, and the deferred per-row FK check took about a
    # third of the rollup write (docs/billing-storage.md). Only the ingest service writes here, after
    # resolving and locking each meter; PROTECT still stops the ORM from deleting a meter in use.
    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False)
    channel = models.PositiveSmallIntegerField(choices=Channel.choices)
    granularity = models.PositiveSmallIntegerField(choices=Granularity.choices)
    period_start = models.DateTimeField(help_text="The instant the premise-local hour, day or month begins.")
    value = models.BigIntegerField()
    readings = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["meter", "channel", "granularity", "period_start"], name="rollup_unique"),
        ]

    def __str__(self) -> str:
        return f"meter {self.meter_id} {self.get_granularity_display().lower()} from {self.period_start:%Y-%m-%d %H:%M}"


class PeriodRollup(models.Model):
    """Sums of current readings per premise-local day and TOU period, kept up to date on ingest.

    ``period`` is the *base* period of the tariff version the premise was on that day: the TOU
    period name (``off_peak``, ``on_peak``, ...) for a TOU version, ``standard`` for a flat one,
    and ``""`` (the whole day, unclassified) for tiered or real-time versions, a day without a
    tariff, and gas and water meters (tariffs price electricity): those are priced hour by hour.
    Critical-peak events are not part of the key (they are declared after the readings arrive);
    a day with an event is priced from its hourly rollups.
    Because the period depends on the tariff history, ``premise_tariff_assign`` and
    ``tariff_version_create`` rebuild the affected days (``period_rollups_rebuild``).
    """

    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False)
    channel = models.PositiveSmallIntegerField(choices=Channel.choices)
    day = models.DateField(help_text="The premise-local day.")
    period = models.CharField(max_length=32, blank=True)
    value = models.BigIntegerField()
    readings = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["meter", "channel", "day", "period"], name="period_rollup_unique")]

    def __str__(self) -> str:
        return f"meter {self.meter_id} {self.day} {self.period or 'whole day'}"


class SimilarHomesRank(models.Model):
    """Where one meter's delivered energy over 30 premise-local days stood among the homes of its class.

    Worked out once a day for every electric meter (``similar_homes_refresh``, run by Celery beat),
    so a dashboard reads one row instead of ranking every home of the class per page view. A row
    holds counts and one median, never another home's figure: ``below`` and ``above`` count the
    *other* homes of the class with less and more use, ``others_median_wh`` is their median, and
    ``group_size`` includes this home. The page applies the minimum group size
    (``SIMILAR_HOMES_MIN_GROUP``) and the viewer's occupancy before showing any of it.
    """

    # No database foreign key, as for the rollups: the daily refresh writes a row per electric
    # meter; PROTECT still stops the ORM from deleting a meter in use.
    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False)
    as_of = models.DateField(help_text="The last premise-local day of the 30-day window.")
    customer_class = models.CharField(max_length=20)
    total_wh = models.BigIntegerField()
    group_size = models.PositiveIntegerField(help_text="Homes of the class with usage in the window, this one included.")
    below = models.PositiveIntegerField(help_text="Other homes of the class that used less.")
    above = models.PositiveIntegerField(help_text="Other homes of the class that used more.")
    others_median_wh = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["meter", "as_of"], name="similar_homes_rank_unique")]
        indexes = [models.Index(fields=["as_of"], name="similar_homes_rank_as_of")]

    def __str__(self) -> str:
        return f"meter {self.meter_id} ranked for the 30 days to {self.as_of}"


class SimilarHomesRun(models.Model):
    """One daily refresh of ``SimilarHomesRank``: the claim that makes the beat task run once per day."""

    as_of = models.DateField(unique=True)
    started_at = models.DateTimeField(auto_now_add=True)
    homes = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"similar homes ranked for the 30 days to {self.as_of} ({self.homes} homes)"


class UtilityBillSummary(models.Model):
    """A billing period's summary as the utility stated it in a Green Button file (ESPI UsageSummary).

    Amounts are kept exactly as ESPI gives them: whole hundred-thousandths of the currency, whose
    ISO 4217 numeric code is ``currency`` (840 = US dollar). Consumption is in the meter kind's
    stored unit (Wh, mtherm or L). One row per meter and billing period: importing the same
    file again changes nothing, and a revised summary for the period replaces the old figures.
    """

    premise = models.ForeignKey(Premise, on_delete=models.PROTECT, related_name="+")
    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="+")
    period_start = models.DateTimeField()
    period_seconds = models.PositiveIntegerField()
    bill_amount = models.BigIntegerField(null=True, blank=True, help_text="billLastPeriod, in hundred-thousandths of the currency.")
    bill_to_date = models.BigIntegerField(null=True, blank=True, help_text="billToDate, in hundred-thousandths of the currency.")
    additional_charges = models.BigIntegerField(null=True, blank=True, help_text="costAdditionalLastPeriod, in hundred-thousandths.")
    currency = models.PositiveSmallIntegerField(null=True, blank=True, help_text="ISO 4217 numeric code.")
    consumption = models.BigIntegerField(null=True, blank=True, help_text="overallConsumptionLastPeriod, in the meter kind's unit.")
    source_ref = models.CharField(max_length=500, blank=True, help_text="The summary's self link in the file.")
    batch = models.ForeignKey(IngestBatch, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["meter_id", "-period_start"]
        constraints = [models.UniqueConstraint(fields=["meter", "period_start", "period_seconds"], name="one_summary_per_meter_period")]

    def __str__(self) -> str:
        return f"meter {self.meter_id} bill from {self.period_start:%Y-%m-%d} ({self.period_seconds // 86400} days)"


class BillCycle(models.Model):
    """The premise's billing cycle: each cycle starts on ``start_day`` of a month (default: the 1st).

    In a month shorter than ``start_day`` the cycle starts on the month's last day (day 31
    means 28 February, 30 April, ...). Bill-to-date, the projection, the monthly fixed charge
    and the same-period-last-year comparison all follow it. A premise without a row bills by
    calendar month.
    """

    premise = models.OneToOneField(Premise, on_delete=models.PROTECT, related_name="+")
    start_day = models.PositiveSmallIntegerField(default=1)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(start_day__gte=1, start_day__lte=31), name="bill_cycle_day_1_to_31")]

    def __str__(self) -> str:
        return f"premise {self.premise_id} bills from day {self.start_day}"


# --- Tariffs ---------------------------------------------------------------------


class Tariff(models.Model):
    """A tariff prices one commodity; ``unit`` is what its rates are per (kWh for electricity;
    therm, kWh, m³, CCF or ft³ for gas; m³, litres, gallons, thousand gallons or CCF for water)."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=120)
    commodity = models.CharField(max_length=10, choices=MeterKind.choices, default=MeterKind.ELECTRIC)
    unit = models.CharField(max_length=8, default="kWh")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class PricingKind(models.TextChoices):
    FLAT = "flat", "Flat rate"
    TIERED = "tiered", "Tiered monthly blocks"
    TOU = "tou", "Time of use"
    REAL_TIME = "rtp", "Real-time price"


class ExportCredit(models.TextChoices):
    NONE = "none", "No credit for export"
    RETAIL = "retail", "Credited at the retail price"
    EXPORT_RATE = "export_rate", "Credited at the export rate"


class TariffVersion(models.Model):
    """The tariff's terms from ``effective_from`` until the next version's date.

    Prices are in cents per kWh; ``definition`` holds the kind-specific terms
    (tiers, or TOU seasons and periods), validated by ``tariff_version_create``.
    """

    tariff = models.ForeignKey(Tariff, on_delete=models.PROTECT, related_name="versions")
    effective_from = models.DateField()
    pricing = models.CharField(max_length=10, choices=PricingKind.choices)
    flat_rate = models.DecimalField(max_digits=8, decimal_places=4, null=True, blank=True)
    definition = models.JSONField(default=dict, blank=True)
    fixed_daily = models.DecimalField(max_digits=8, decimal_places=4, default=0, help_text="Cents per day.")
    fixed_monthly = models.DecimalField(max_digits=10, decimal_places=4, default=0, help_text="Cents per billing month.")
    export_credit = models.CharField(max_length=12, choices=ExportCredit.choices, default=ExportCredit.NONE)
    export_rate = models.DecimalField(max_digits=8, decimal_places=4, null=True, blank=True)
    critical_peak_multiplier = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    critical_peak_adder = models.DecimalField(max_digits=8, decimal_places=4, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tariff_id", "effective_from"]
        constraints = [models.UniqueConstraint(fields=["tariff", "effective_from"], name="one_version_per_tariff_day")]

    def __str__(self) -> str:
        return f"{self.tariff} from {self.effective_from}"


class CriticalPeakEvent(models.Model):
    """An event day an operator declared: prices in the window are raised by the version's multiplier or adder."""

    tariff = models.ForeignKey(Tariff, on_delete=models.PROTECT, related_name="events")
    day = models.DateField()
    start_hour = models.PositiveSmallIntegerField()
    end_hour = models.PositiveSmallIntegerField()
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    declared_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["tariff", "day"], name="one_event_per_tariff_day")]

    def __str__(self) -> str:
        return f"Critical peak {self.day} {self.start_hour}:00-{self.end_hour}:00"


class RealTimePrice(models.Model):
    """One published hourly price. Like readings, never edited in place: republishing an hour
    inserts version n+1 and marks the old row superseded (``real_time_prices_publish``), and on
    PostgreSQL a trigger refuses every other UPDATE and any DELETE (migration 0008)."""

    tariff = models.ForeignKey(Tariff, on_delete=models.PROTECT, related_name="prices")
    start = models.DateTimeField(help_text="The hour this price applies to.")
    cents_per_kwh = models.DecimalField(max_digits=8, decimal_places=4)
    version = models.PositiveIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tariff", "start"], condition=Q(is_current=True), name="one_current_price_per_tariff_hour"),
            models.UniqueConstraint(fields=["tariff", "start", "version"], name="one_price_version_per_tariff_hour"),
        ]

    def __str__(self) -> str:
        return f"{self.cents_per_kwh}¢ at {self.start:%Y-%m-%d %H:%M} v{self.version}"


class PremiseTariff(models.Model):
    """Which tariff a premise was on for one commodity, from ``start`` to ``end`` (inclusive; None = still on it).

    ``commodity`` is the tariff's, copied so the database can hold one open tariff per premise and commodity.
    """

    premise = models.ForeignKey(Premise, on_delete=models.PROTECT, related_name="tariffs")
    tariff = models.ForeignKey(Tariff, on_delete=models.PROTECT, related_name="+")
    commodity = models.CharField(max_length=10, choices=MeterKind.choices, default=MeterKind.ELECTRIC)
    start = models.DateField()
    end = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["premise_id", "start"]
        constraints = [
            models.UniqueConstraint(
                fields=["premise", "commodity"], condition=Q(end__isnull=True), name="one_open_tariff_per_premise_commodity"
            )
        ]

    def __str__(self) -> str:
        return f"premise {self.premise_id} on tariff {self.tariff_id} from {self.start}"
