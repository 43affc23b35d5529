from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "amiportal.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from celery.signals import beat_init
        from django.db.models.signals import post_migrate

        from amiportal.audit import startup

        # A checkpoint at start-up (see amiportal/audit/startup.py for why these two hooks).
        post_migrate.connect(startup.checkpoint_after_migrate, sender=self, dispatch_uid="audit.checkpoint_after_migrate")
        beat_init.connect(startup.checkpoint_when_beat_starts, dispatch_uid="audit.checkpoint_when_beat_starts", weak=False)
