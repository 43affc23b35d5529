from django.apps import AppConfig


class CoordinatorConfig(AppConfig):
    """The premise side: the ``han_coordinator`` command. No models, so a gateway runs it without the head-end's apps."""

    name = "han.coordinator"
    label = "han_coordinator"
    verbose_name = "HAN coordinator (premise gateway)"
