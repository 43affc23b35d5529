import json
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from amiportal.audit.selectors import audit_verify


class Command(BaseCommand):
    help = "Verify the audit chain; exit non-zero and name the first bad entry on any tampering."

    def add_arguments(self, parser):
        parser.add_argument("--checkpoints", help="A JSON-lines file of checkpoints exported earlier (audit_checkpoint --export).")

    def handle(self, *args, **options):
        external = []
        if options["checkpoints"]:
            try:
                with open(options["checkpoints"], encoding="utf-8") as handle:
                    for line in handle:
                        if line.strip():
                            item = json.loads(line)
                            item["created_at"] = datetime.fromisoformat(item["created_at"])
                            external.append(item)
            except (OSError, ValueError, KeyError) as exc:
                raise CommandError(f"cannot read checkpoints file: {exc}") from exc
        result = audit_verify(external_checkpoints=external)
        if not result.ok:
            raise CommandError(
                f"AUDIT CHAIN BROKEN at entry #{result.first_bad_seq}: {result.reason} ({result.checked} entries verified before it)"
            )
        self.stdout.write(f"audit chain OK: {result.checked} entries, {result.checkpoints_checked} signed checkpoints verified")
