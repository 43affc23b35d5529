"""python manage.py export_greenbutton --premise SP-100001 --start 2025-01-01 --end 2025-12-31 --output usage.xml"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from amiportal.premises.models import Premise
from billing.formats.espi_write import greenbutton_feed
from billing.selectors import window_for_dates


class Command(BaseCommand):
    help = "Write a premise's readings for a date range (premise-local, both days included) as ESPI 4.0 Atom XML."

    def add_arguments(self, parser):
        parser.add_argument("--premise", required=True)
        parser.add_argument("--start", required=True, type=date.fromisoformat)
        parser.add_argument("--end", required=True, type=date.fromisoformat)
        parser.add_argument("--output", required=True)
        parser.add_argument("--base-url", default="https://portal.example/")

    def handle(self, *args, premise, start, end, output, base_url, **options):
        target = Premise.objects.filter(service_point_id=premise).first()
        if target is None:
            raise CommandError(f"no premise with service point id {premise!r}")
        if end < start:
            raise CommandError("--end is before --start")
        with open(output, "w", encoding="utf-8") as handle:
            for chunk in greenbutton_feed(premise=target, windows=[window_for_dates(target, start, end)], base_url=base_url):
                handle.write(chunk)
        self.stdout.write(f"wrote {output}")
