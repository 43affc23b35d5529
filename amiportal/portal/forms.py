from django import forms


class CustomerSearchForm(forms.Form):
    q = forms.CharField(label="Account number, name or email", required=False, max_length=100)


class StaffAccessReasonForm(forms.Form):
    reason = forms.CharField(
        label="Why do you need this customer's data?",
        help_text="Recorded in the audit trail and shown to the customer. Include the case or ticket number.",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
