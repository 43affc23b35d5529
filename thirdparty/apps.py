from django.apps import AppConfig


class ThirdpartyConfig(AppConfig):
    name = "thirdparty"
    verbose_name = "Third-party access"

    def ready(self) -> None:
        from amiportal.portal.demo import DEMO_EXTENSIONS
        from thirdparty.api import schema  # noqa: F401  (registers the OpenAPI security scheme)
        from thirdparty.demo import thirdparty_demo_seed

        if thirdparty_demo_seed not in DEMO_EXTENSIONS:
            DEMO_EXTENSIONS.append(thirdparty_demo_seed)
