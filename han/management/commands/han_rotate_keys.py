"""Re-wrap every escrowed HAN key under the active KEK: ``python manage.py han_rotate_keys``.

Idempotent and resumable: run it again after an interruption and it finishes
the job; keys already under the active KEK are left alone.
"""

from django.core.management.base import BaseCommand

from han.services.keys import keys_rotate


class Command(BaseCommand):
    help = "Re-wrap HAN link and network keys under the active key-encryption key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=200)

    def handle(self, *args, **options):
        progress = keys_rotate(batch_size=options["batch_size"])
        self.stdout.write(f"rewrapped {progress.rewrapped}, already current {progress.already_current}")
