from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "amiportal.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self):
        from amiportal.accounts.roles import roles_sync

        # Permissions only exist after post_migrate, so the role groups are
        # (re)built there; it is idempotent and keeps groups in step with code.
        post_migrate.connect(lambda **kwargs: roles_sync(), dispatch_uid="accounts.roles_sync", weak=False)
