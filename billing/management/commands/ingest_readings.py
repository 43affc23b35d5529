"""python manage.py ingest_readings FILE [FILE...] [--accept-valid]: head-end CSV or Green Button XML."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing.formats.csv_readings import CsvFormatError, parse_readings_csv, text_lines
from billing.formats.espi_read import EspiFormatError, readings_from_espi
from billing.models import Source
from billing.services.ingest import readings_ingest


class Command(BaseCommand):
    help = "Ingest head-end readings (CSV, or ESPI XML with --meter) and print each file's ingest report as JSON."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--accept-valid", action="store_true", help="Commit the valid rows of a file that has rejected rows.")
        parser.add_argument("--meter", help="For XML files: the meter serial number the readings belong to.")

    def handle(self, *args, files, accept_valid, meter, **options):
        failed = 0
        for path in files:
            try:
                if path.suffix.lower() == ".xml":
                    if not meter:
                        raise CommandError("XML files need --meter SERIAL")
                    rows, rejected = readings_from_espi(path.read_bytes(), meter)
                else:
                    with path.open("rb") as handle:
                        rows, rejected = parse_readings_csv(text_lines(handle))
            except (CsvFormatError, EspiFormatError, UnicodeDecodeError) as error:
                failed += 1
                self.stdout.write(json.dumps({"file": str(path), "status": "rejected", "error": str(error)}))
                continue
            report = readings_ingest(
                readings=rows, pre_rejected=rejected, source=Source.HEAD_END, accept_valid=accept_valid, filename=path.name
            )
            failed += report.status == "rejected"
            self.stdout.write(json.dumps({"file": str(path), **report.as_dict()}))
        if failed:
            raise CommandError(f"{failed} of {len(files)} files were rejected")
