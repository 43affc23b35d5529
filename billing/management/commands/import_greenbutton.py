"""python manage.py import_greenbutton FILE [FILE...] --premise SP-100001"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from amiportal.premises.models import Premise
from billing.formats.espi_read import MAX_FILE_BYTES, EspiFormatError
from billing.services.greenbutton import greenbutton_import


class Command(BaseCommand):
    help = "Import Green Button (ESPI Atom XML) files into a premise's meters; one summary line per file."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--premise", required=True, help="The premise's service point id, e.g. SP-100001.")
        parser.add_argument("--strict", action="store_true", help="Commit nothing from a file with any rejected reading.")
        parser.add_argument("--max-bytes", type=int, default=MAX_FILE_BYTES)

    def handle(self, *args, files, premise, strict, max_bytes, **options):
        target = Premise.objects.filter(service_point_id=premise).first()
        if target is None:
            raise CommandError(f"no premise with service point id {premise!r}")
        failures = 0
        for path in files:
            try:
                if path.stat().st_size > max_bytes:
                    raise EspiFormatError(f"the file is {path.stat().st_size} bytes; the limit is {max_bytes}")
                result = greenbutton_import(
                    premise=target, data=path.read_bytes(), filename=path.name, accept_valid=not strict, max_bytes=max_bytes
                )
            except (OSError, EspiFormatError) as error:
                failures += 1
                self.stdout.write(f"{path}: refused: {error}")
                continue
            self.stdout.write(
                f"{path}: imported {result.imported}, skipped {result.skipped}, rejected {result.rejected}; "
                f"summaries imported {result.summaries_imported}, unchanged {result.summaries_unchanged}"
            )
            for report in result.reports:
                for error in report.errors[:20]:
                    self.stdout.write(f"  {error['ref']}: {error['reason']}")
                for note in report.notes[:20]:  # quirks of the file, accepted as the utility meant them
                    self.stdout.write(f"  note: {note['ref']}: {note['note']}")
        if failures:
            raise CommandError(f"{failures} of {len(files)} files could not be read")
