from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "amiportal.audit"
    label = "audit"
    verbose_name = "Audit trail"
