"""Re-wrap every sealed column under the active KEK: ``python manage.py keys_rotate [--batch-size 200]``.

Idempotent and resumable: run it again after an interruption and it finishes the
job. It exits non-zero while any sealed value is still under an older KEK, so
a script can remove the old key only after a run that succeeds.
"""

from django.core.management.base import BaseCommand, CommandError

from amiportal.crypto.rotation import keys_rotate


class Command(BaseCommand):
    help = "Re-wrap TOTP secrets, webhook secrets and HAN keys (every sealed column) under the active key-encryption key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=200)

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        report = keys_rotate(batch_size=options["batch_size"])
        for column in report.columns:
            self.stdout.write(
                f"{column.column}: rewrapped {column.rewrapped}, already current {column.already_current},"
                f" unreadable {column.unreadable}, remaining {column.remaining}"
            )
        self.stdout.write(
            f"active KEK {report.active_key_id}: rewrapped {report.total('rewrapped')}, remaining {report.total('remaining')}"
        )
        if not report.complete:
            raise CommandError(
                f"{report.total('remaining')} sealed value(s) are not under the active KEK"
                f" ({report.total('unreadable')} do not open with this keyring). Keep every older KEK until a run succeeds."
            )
        self.stdout.write(self.style.SUCCESS("Every sealed value is under the active KEK; older KEKs may now leave AMI_KEYRING."))
