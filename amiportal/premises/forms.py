from django import forms

from amiportal.premises.grid_services import MAX_FILE_BYTES
from amiportal.premises.models import GRID_CODE_HELP


class GridLocationForm(forms.Form):
    """A premise's place on the grid; all three empty means "not known"."""

    substation = forms.CharField(max_length=32, required=False, help_text=GRID_CODE_HELP)
    feeder = forms.CharField(max_length=32, required=False)
    transformer = forms.CharField(max_length=32, required=False)

    def clean(self):
        data = super().clean()
        given = [name for name in ("substation", "feeder", "transformer") if data.get(name)]
        if given and len(given) < 3:
            raise forms.ValidationError("Give the substation, feeder and transformer together, or leave all three empty.")
        return data


class GridImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns service_point_id, substation, feeder, transformer (a header line first). UTF-8 or UTF-16.",
    )
    dry_run = forms.BooleanField(required=False, label="Only check the file; change nothing")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: split it.")
        return upload


class ServicePointForm(forms.Form):
    service_point_id = forms.CharField(max_length=32, label="Service point ID")
