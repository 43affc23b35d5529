from django.db.models import Count

from amiportal.premises.models import CustomerAccount, Meter, Premise


def operator_summary() -> dict:
    meters_by_status = dict(Meter.objects.filter(removed_on__isnull=True).values_list("status").annotate(n=Count("id")))
    accounts_by_class = dict(CustomerAccount.objects.values_list("account_class").annotate(n=Count("id")))
    return {
        "premises": Premise.objects.count(),
        "accounts": sum(accounts_by_class.values()),
        "accounts_by_class": sorted(accounts_by_class.items()),
        "meters_by_status": sorted(meters_by_status.items()),
    }
