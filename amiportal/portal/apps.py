from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "amiportal.portal"
    label = "portal"
    verbose_name = "Portal pages"
