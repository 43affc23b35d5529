import json
import sys
from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError

from amiportal.audit.selectors import EXTERNAL_CHECKPOINT_MAX_AGE, audit_verify

# Exit codes: 0 the chain holds and a recent exported checkpoint backs it; 1 tampering (or an
# unreadable file); 3 the chain holds but no recent exported checkpoint backs its tail.
# (2 is argparse's usage error.)
EXIT_NO_RECENT_EXTERNAL_CHECKPOINT = 3


class Command(BaseCommand):
    help = (
        "Verify the audit chain; exit 1 naming the first bad entry on any tampering, "
        "3 with a warning when no recent exported checkpoint (--checkpoints) backs the tail."
    )

    def add_arguments(self, parser):
        parser.add_argument("--checkpoints", help="A JSON-lines file of checkpoints exported earlier (audit_checkpoint --export).")
        parser.add_argument(
            "--max-age-minutes",
            type=int,
            default=int(EXTERNAL_CHECKPOINT_MAX_AGE.total_seconds() // 60),
            help="Warn when the newest exported checkpoint is older than this (default: %(default)s).",
        )

    def handle(self, *args, **options):
        if options["max_age_minutes"] < 1:
            raise CommandError("--max-age-minutes must be at least 1")
        external = []
        if options["checkpoints"]:
            try:
                with open(options["checkpoints"], encoding="utf-8") as handle:
                    for line in handle:
                        if line.strip():
                            item = json.loads(line)
                            item["created_at"] = datetime.fromisoformat(item["created_at"])
                            external.append(item)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise CommandError(f"cannot read checkpoints file: {exc}") from exc
        result = audit_verify(external_checkpoints=external, max_external_age=timedelta(minutes=options["max_age_minutes"]))
        if not result.ok:
            raise CommandError(
                f"AUDIT CHAIN BROKEN at entry #{result.first_bad_seq}: {result.reason} ({result.checked} entries verified before it)"
            )
        self.stdout.write(f"audit chain OK: {result.checked} entries, {result.checkpoints_checked} signed checkpoints verified")
        if result.warning:
            self.stderr.write(f"WARNING: {result.warning}")
            sys.exit(EXIT_NO_RECENT_EXTERNAL_CHECKPOINT)
