from django import forms

from billing.advice.catalogue import CATALOGUE
from billing.advice.models import AgeBand, Cooling, Heating, HomeType, WaterHeating

NOT_HERE = [("", "I don't have one")]
PROFILE_FIELDS = ("home_type", "occupants", "floor_area_m2", "heating", "cooling", "water_heating", "has_ev")


class HomeProfileForm(forms.Form):
    home_type = forms.ChoiceField(choices=[("", "—"), *HomeType.choices], required=False, label="Type of home")
    occupants = forms.IntegerField(min_value=1, max_value=20, required=False, label="People living here")
    floor_area_m2 = forms.IntegerField(min_value=10, max_value=5000, required=False, label="Floor area (m²)")
    heating = forms.ChoiceField(choices=[("", "—"), *Heating.choices], required=False, label="Main heating")
    cooling = forms.ChoiceField(choices=[("", "—"), *Cooling.choices], required=False, label="Cooling")
    water_heating = forms.ChoiceField(choices=[("", "—"), *WaterHeating.choices], required=False, label="Water heating")
    has_ev = forms.BooleanField(required=False, label="We charge an electric car at home")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, appliance in CATALOGUE.items():
            self.fields[f"appliance_{key}"] = forms.ChoiceField(
                choices=[*NOT_HERE, *AgeBand.choices], required=False, label=f"{appliance.name}: how old?"
            )

    def profile_fields(self) -> dict:
        return {
            name: self.cleaned_data[name]
            for name in ("home_type", "occupants", "floor_area_m2", "heating", "cooling", "water_heating", "has_ev")
        }

    def appliances(self) -> dict[str, str]:
        return {key: self.cleaned_data[f"appliance_{key}"] for key in CATALOGUE if self.cleaned_data.get(f"appliance_{key}")}

    @staticmethod
    def initial_for(profile) -> dict:
        if profile is None:
            return {}
        initial = {
            name: getattr(profile, name)
            for name in ("home_type", "occupants", "floor_area_m2", "heating", "cooling", "water_heating", "has_ev")
        }
        initial.update({f"appliance_{entry.kind}": entry.age for entry in profile.appliances.all()})
        return initial
