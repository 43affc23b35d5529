from django.apps import AppConfig


class AdviceConfig(AppConfig):
    name = "billing.advice"
    label = "advice"
    verbose_name = "Home profile and advice"
    default_auto_field = "django.db.models.BigAutoField"
