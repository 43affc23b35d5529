from django.apps import AppConfig


class HanConfig(AppConfig):
    name = "han"
    verbose_name = "Home area network devices"

    def ready(self) -> None:
        from amiportal.portal.demo import DEMO_EXTENSIONS
        from han.demo import han_demo_seed

        if han_demo_seed not in DEMO_EXTENSIONS:
            DEMO_EXTENSIONS.append(han_demo_seed)
