from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "amiportal.portal"
    label = "portal"
    verbose_name = "Portal pages"

    def ready(self) -> None:
        from amiportal.portal import checks  # noqa: F401  (registers the deployment checks)
