from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Usage, tariffs and billing"

    def ready(self) -> None:
        from amiportal.portal.demo import DEMO_EXTENSIONS
        from billing.demo import billing_demo_seed

        if billing_demo_seed not in DEMO_EXTENSIONS:
            DEMO_EXTENSIONS.append(billing_demo_seed)
