"""The customer's home profile and the advice computed from it and from their meter data."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render

from amiportal.accounts.roles import Role
from amiportal.portal.access import role_required
from amiportal.premises.selectors import occupancies_for, premise_get_for_customer, premise_local_date
from billing.advice.catalogue import CATALOGUE
from billing.advice.forms import PROFILE_FIELDS, HomeProfileForm
from billing.advice.selectors import advice_agreement, home_advice, home_profile_get
from billing.advice.services import home_profile_save


@role_required(Role.CUSTOMER)
def home_view(request, premise_id: int):
    premise = premise_get_for_customer(user=request.user, premise_id=premise_id)
    agreement = advice_agreement(user=request.user, premise=premise)
    profile = home_profile_get(agreement=agreement)
    form = HomeProfileForm(request.POST or None, initial=HomeProfileForm.initial_for(profile))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            home_profile_save(agreement=agreement, actor=request.user, appliances=form.appliances(), **form.profile_fields())
            messages.success(request, "Saved. The advice below now uses what you told us.")
            return redirect("advice:home", premise_id=premise.pk)
        status = 400
    advice = home_advice(
        premise=premise,
        occupancies=occupancies_for(user=request.user, premise=premise),
        profile=profile,
        today=premise_local_date(zone=premise.timezone),
    )
    appliance_fields = [form[f"appliance_{key}"] for key in CATALOGUE]
    home_fields = [form[name] for name in PROFILE_FIELDS]
    context = {
        "premise": premise,
        "form": form,
        "home_fields": home_fields,
        "appliance_fields": appliance_fields,
        "advice": advice,
        "catalogue": CATALOGUE.values(),
    }
    return render(request, "advice/home.html", context, status=status)
