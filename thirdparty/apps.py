from django.apps import AppConfig


class ThirdpartyConfig(AppConfig):
    name = "thirdparty"
    verbose_name = "Third-party access"

    def ready(self) -> None:
        from amiportal.portal.demo import DEMO_EXTENSIONS
        from amiportal.premises.move_out import move_out_handler_register
        from thirdparty.api import schema  # noqa: F401  (registers the OpenAPI security scheme)
        from thirdparty.demo import thirdparty_demo_seed
        from thirdparty.services.occupancy import consents_end_device_access_at_move_out

        if thirdparty_demo_seed not in DEMO_EXTENSIONS:
            DEMO_EXTENSIONS.append(thirdparty_demo_seed)
        # Consents follow occupancy: device access to a home ends when its occupant moves out.
        move_out_handler_register("thirdparty.consent_device_access", consents_end_device_access_at_move_out)
