from django.apps import AppConfig


class PremisesConfig(AppConfig):
    name = "amiportal.premises"
    label = "premises"
    verbose_name = "Customers, premises and meters"
