"""Writes of the home profile: the customer's own words about their home, replaced whole on each save."""

from __future__ import annotations

from django.db import transaction

from amiportal.audit.services import audit_append
from amiportal.premises.models import ServiceAgreement
from billing.advice.catalogue import CATALOGUE
from billing.advice.models import HomeAppliance, HomeProfile

PROFILE_FIELDS = ("home_type", "occupants", "floor_area_m2", "heating", "cooling", "water_heating", "has_ev")


@transaction.atomic
def home_profile_save(*, agreement: ServiceAgreement, actor, appliances: dict[str, str], **fields) -> HomeProfile:
    """Save the profile and its appliances (catalogue key -> age band; an absent key: not in the home)."""
    unknown = set(appliances) - CATALOGUE.keys()
    if unknown:
        raise ValueError(f"Not in the appliance catalogue: {', '.join(sorted(unknown))}")
    profile, _ = HomeProfile.objects.select_for_update(no_key=True).get_or_create(agreement=agreement)
    for name in PROFILE_FIELDS:
        setattr(profile, name, fields.get(name, getattr(profile, name)))
    profile.full_clean(exclude=["agreement"])
    profile.save()
    profile.appliances.all().delete()
    HomeAppliance.objects.bulk_create([HomeAppliance(profile=profile, kind=kind, age=age) for kind, age in sorted(appliances.items())])
    audit_append(
        action="home_profile.saved",
        actor=actor,
        target=f"premise:{agreement.premise_id}",
        customer_account_id=agreement.account_id,
        payload={"appliances": sorted(appliances), "fields": sorted(name for name in PROFILE_FIELDS if fields.get(name) not in (None, ""))},
    )
    return profile
