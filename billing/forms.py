from datetime import timedelta

from django import forms

MAX_DOWNLOAD_DAYS = 2 * 366


class DateRangeForm(forms.Form):
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="From")
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="To (included)")

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
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    start_hour = forms.IntegerField(min_value=0, max_value=23, label="From hour (0–23)")
    end_hour = forms.IntegerField(min_value=1, max_value=24, label="Until hour (1–24)")

    def __init__(self, *args, **kwargs):
        from billing.models import Tariff

        super().__init__(*args, **kwargs)
        self.fields["tariff"].queryset = Tariff.objects.all()
