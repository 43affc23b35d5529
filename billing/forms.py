import json
from datetime import date, timedelta

from django import forms

from billing.units import METER_UNITS, UNITS

MAX_DOWNLOAD_DAYS = 2 * 366
# Days a billing form accepts. Far enough for any tariff or reading, and far from date.max: a day
# such as 9999-12-31 overflowed where the view adds a day to find its end (a 500, not a message).
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2099, 12, 31)
DAY_OUT_OF_RANGE = f"Choose a day from {FIRST_DAY:%-d %B %Y} to {LAST_DAY:%-d %B %Y}."


def _within_days(day: date) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise forms.ValidationError(DAY_OUT_OF_RANGE, code="out_of_range")


def day_field(label: str | None = None, **kwargs) -> forms.DateField:
    """A date input bounded to FIRST_DAY..LAST_DAY, in the browser's picker too."""
    bounds = {"min": FIRST_DAY.isoformat(), "max": LAST_DAY.isoformat()}
    return forms.DateField(label=label, widget=forms.DateInput(attrs={"type": "date", **bounds}), validators=[_within_days], **kwargs)


class DateRangeForm(forms.Form):
    start = day_field("From")
    end = day_field("To (included)")

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError("The end date is before the start date.")
            if end - start > timedelta(days=MAX_DOWNLOAD_DAYS):
                raise forms.ValidationError("Choose at most two years at a time.")
        return data


class CriticalPeakForm(forms.Form):
    tariff = forms.ModelChoiceField(queryset=None)
    day = day_field()
    start_hour = forms.IntegerField(min_value=0, max_value=23, label="From hour (0–23)")
    end_hour = forms.IntegerField(min_value=1, max_value=24, label="Until hour (1–24)")

    def __init__(self, *args, **kwargs):
        from billing.models import Tariff

        super().__init__(*args, **kwargs)
        self.fields["tariff"].queryset = Tariff.objects.all()


class PremiseLookupForm(forms.Form):
    premise = forms.ModelChoiceField(
        queryset=None,
        to_field_name="service_point_id",
        widget=forms.TextInput,
        label="Service point ID",
        error_messages={"invalid_choice": "No premise has that service point ID."},
    )

    def __init__(self, *args, **kwargs):
        from amiportal.premises.models import Premise

        super().__init__(*args, **kwargs)
        self.fields["premise"].queryset = Premise.objects.all()


class TariffForm(forms.Form):
    code = forms.CharField(max_length=32, help_text="Short and unique, as on bills: RES-TOU.")
    name = forms.CharField(max_length=120)
    commodity = forms.ChoiceField(label="Prices", initial="electric", required=False)
    unit = forms.ChoiceField(
        label="Rates are per",
        required=False,
        help_text="Electricity: kWh. Gas: therm, kWh, m³, CCF or ft³. Water: m³, litre, gallon, thousand gallons or CCF.",
    )

    def __init__(self, *args, **kwargs):
        from amiportal.premises.models import MeterKind
        from billing.units import TARIFF_UNITS, UNITS

        super().__init__(*args, **kwargs)
        self.fields["commodity"].choices = MeterKind.choices
        codes = dict.fromkeys(code for units in TARIFF_UNITS.values() for code in units)
        self.fields["unit"].choices = [("", "The usual unit for what it prices"), *((code, UNITS[code].symbol) for code in codes)]

    def clean_commodity(self) -> str:
        return self.cleaned_data["commodity"] or "electric"


def _cents_field(label: str, *, max_digits: int = 8, decimal_places: int = 4, required: bool = False, **kwargs) -> forms.DecimalField:
    # The model's digits, so a value that fits the form fits the column.
    return forms.DecimalField(label=label, max_digits=max_digits, decimal_places=decimal_places, required=required, min_value=0, **kwargs)


class TariffVersionForm(forms.Form):
    """A version's terms in the structure ``tariff_version_create`` takes; the service judges the terms themselves."""

    effective_from = day_field("Effective from")
    pricing = forms.ChoiceField(label="Pricing")
    flat_rate = _cents_field(
        "Flat rate (¢ per unit)",
        help_text="Per the tariff's unit (kWh, therm, m³, gallon, ...). "
        "Flat pricing, and the fallback for real-time hours without a price.",
    )
    definition = forms.CharField(
        label="Definition (JSON)",
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false"}),
        help_text='Tiered: {"tiers": [{"up_to_kwh": 500, "rate": "11.8"}, {"up_to_kwh": null, "rate": "18.9"}]}. '
        'TOU: {"periods": {...}, "holidays": [...], "seasons": [...]} as in docs/billing.md. Flat and real-time: {}. '
        'Gas and water tiers: {"tiers": [{"up_to": 20, "rate": "350"}, {"up_to": null, "rate": "410"}]} in the tariff\'s unit; '
        'gas may add {"calorific_value_mj_per_m3": "39.5", "volume_correction": "1.02264"} or {"therms_per_ccf": "1.037"}.',
    )
    fixed_daily = _cents_field("Fixed charge per day (¢)", initial=0, required=True)
    fixed_monthly = _cents_field("Fixed charge per billing month (¢)", max_digits=10, initial=0, required=True)
    export_credit = forms.ChoiceField(label="Export credit")
    export_rate = _cents_field("Export rate (¢ per kWh)")
    critical_peak_multiplier = _cents_field("Critical peak multiplier", max_digits=6, decimal_places=3)
    critical_peak_adder = _cents_field("Critical peak adder (¢ per kWh)")

    def __init__(self, *args, **kwargs):
        from billing.models import ExportCredit, PricingKind

        super().__init__(*args, **kwargs)
        self.fields["pricing"].choices = PricingKind.choices
        self.fields["export_credit"].choices = ExportCredit.choices

    def clean_definition(self) -> dict:
        text = self.cleaned_data["definition"].strip() or "{}"
        try:
            definition = json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(f"This is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}.") from None
        if not isinstance(definition, dict):
            raise forms.ValidationError("The definition must be a JSON object, between { and }.")
        return definition


class PremiseTariffAssignForm(forms.Form):
    tariff = forms.ModelChoiceField(queryset=None)
    start = day_field("From (premise-local day)")

    def __init__(self, *args, **kwargs):
        from billing.models import Tariff

        super().__init__(*args, **kwargs)
        self.fields["tariff"].queryset = Tariff.objects.all()


class BillCycleForm(forms.Form):
    start_day = forms.IntegerField(
        label="Billing cycles start on day", min_value=1, max_value=31, help_text="1 to 31; a shorter month starts on its last day."
    )


class MeterUnitForm(forms.Form):
    """The unit a meter is read in; the choices are its kind's (``billing.units.METER_UNITS``), checked by ``meter_unit_change_checked``."""

    unit = forms.CharField(label="Unit of measure", max_length=8)

    def __init__(self, *args, meter, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].widget = forms.Select(choices=[(code, UNITS[code].symbol) for code in METER_UNITS[meter.kind]])
