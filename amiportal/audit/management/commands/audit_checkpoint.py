import json

from django.core.management.base import BaseCommand

from amiportal.audit.chain import timestamp_text
from amiportal.audit.models import AuditCheckpoint
from amiportal.audit.services import audit_checkpoint_create


class Command(BaseCommand):
    help = "Sign the audit chain's current head; --export writes all checkpoints as JSON lines to keep elsewhere."

    def add_arguments(self, parser):
        parser.add_argument("--export", metavar="FILE", help="Write every checkpoint to FILE ('-' for standard output).")

    def handle(self, *args, **options):
        checkpoint = audit_checkpoint_create()
        if checkpoint:
            self.stderr.write(f"signed checkpoint at entry #{checkpoint.seq}")
        else:
            self.stderr.write("no new entries since the last checkpoint")
        if options["export"]:
            lines = [
                json.dumps(
                    {
                        "seq": cp.seq,
                        "entry_hash": cp.entry_hash,
                        "created_at": timestamp_text(cp.created_at),
                        "public_key": cp.public_key,
                        "signature": cp.signature,
                    }
                )
                for cp in AuditCheckpoint.objects.order_by("seq")
            ]
            text = "\n".join(lines) + "\n"
            if options["export"] == "-":
                self.stdout.write(text, ending="")
            else:
                with open(options["export"], "w", encoding="utf-8") as handle:
                    handle.write(text)
