from __future__ import annotations

from django import forms

from han.install_codes import InstallCodeError, install_code_parse
from han.models import Coordinator, DeviceType


class CommissionForm(forms.Form):
    install_code = forms.CharField(
        label="Install code or QR payload",
        max_length=512,
        help_text="Type the install code from the device label (spaces and dashes are fine), or scan its QR code into this box.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
    )
    eui64 = forms.CharField(
        label="Device EUI-64",
        max_length=40,
        required=False,
        help_text="16 hexadecimal digits from the label, like 00:0D:6F:00:0A:BC:12:34. Not needed when you scanned a QR code.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    device_type = forms.ChoiceField(label="Device type", choices=DeviceType.choices)
    label = forms.CharField(label="Name (optional)", max_length=80, required=False, help_text="For example 'Kitchen display'.")

    def clean(self):
        cleaned = super().clean()
        code = cleaned.get("install_code")
        if code:
            try:
                cleaned["parsed"] = install_code_parse(code=code, eui64=cleaned.get("eui64", ""))
            except InstallCodeError as exc:
                self.add_error("eui64" if "EUI-64" in str(exc) and "QR" not in str(exc) else "install_code", str(exc))
        return cleaned


class InstallCodeCorrectForm(forms.Form):
    """A new install code for a device whose commissioning failed (the EUI-64 defaults to the device's own)."""

    install_code = CommissionForm.base_fields["install_code"]
    eui64 = forms.CharField(
        label="Device EUI-64",
        max_length=40,
        required=False,
        help_text="Change it only if the EUI-64 entered before was wrong too: the device is then registered again in its place.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, device_eui64: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.device_eui64 = device_eui64
        self.fields["eui64"].initial = device_eui64.upper()

    def clean(self):
        cleaned = super().clean()
        code = cleaned.get("install_code")
        if code:
            try:
                cleaned["parsed"] = install_code_parse(code=code, eui64=cleaned.get("eui64") or self.device_eui64)
            except InstallCodeError as exc:
                self.add_error("eui64" if "EUI-64" in str(exc) and "QR" not in str(exc) else "install_code", str(exc))
        return cleaned


class CustomerAddDeviceForm(CommissionForm):
    network = forms.ModelChoiceField(label="Home", queryset=None, empty_label=None)

    field_order = ["network", "install_code", "eui64", "device_type", "label"]

    def __init__(self, *args, networks, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["network"].queryset = networks
        self.fields["network"].label_from_instance = lambda network: f"{network.premise.address_line}, {network.premise.city}"


class CoordinatorReplaceForm(forms.Form):
    coordinator = forms.ModelChoiceField(label="Replacement coordinator", queryset=Coordinator.objects.none(), empty_label=None)

    def __init__(self, *args, coordinators, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["coordinator"].queryset = coordinators


class AreaCommandForm(forms.Form):
    """A command to a device class at every premise of a grid area: the area's codes and what to send."""

    substation = forms.CharField(max_length=32, widget=forms.HiddenInput)
    feeder = forms.CharField(max_length=32, required=False, widget=forms.HiddenInput)
    transformer = forms.CharField(max_length=32, required=False, widget=forms.HiddenInput)
    kind = forms.ChoiceField(label="Command")
    device_class = forms.ChoiceField(label="To which devices at each premise")

    def __init__(self, *args, **kwargs):
        from han.commands import area_command_types
        from han.commands.targets import DEVICE_CLASSES

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(each.kind, each.label) for each in area_command_types()]
        self.fields["device_class"].choices = [(name, label.capitalize()) for name, (label, _) in DEVICE_CLASSES.items()]
