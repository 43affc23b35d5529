"""Load premises' grid locations from the utility's CSV: ``python manage.py grid_import locations.csv [--dry-run]``."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from amiportal.premises.grid_services import MAX_FILE_BYTES, grid_locations_import


class Command(BaseCommand):
    help = "Place premises on the grid (substation, feeder, transformer) from a CSV file; all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV with a header: service_point_id,substation,feeder,transformer")
        parser.add_argument("--dry-run", action="store_true", help="Check the file and report; change nothing.")

    def handle(self, *args, **options):
        path = Path(options["path"])
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise CommandError(f"{path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: split it.")
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path} cannot be read: {exc.strerror}") from None
        try:
            report = grid_locations_import(
                data=data, actor=None, actor_label="manage.py grid_import", filename=path.name, dry_run=options["dry_run"]
            )
        except ValidationError as error:
            raise CommandError("\n".join([f"{path}: nothing was loaded.", *error.messages])) from None
        for line in report.lines:
            self.stdout.write(f"note: {line}")
        self.stdout.write(("Checked, nothing changed: " if options["dry_run"] else "") + report.summary())
