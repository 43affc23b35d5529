from django.apps import AppConfig


class ThirdpartyConfig(AppConfig):
    name = "thirdparty"
    verbose_name = "Third-party access"
