from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "amiportal.notifications"
    label = "notifications"
    verbose_name = "Notifications to customers"
