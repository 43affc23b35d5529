"""Publish a new version of the third-party data agreement; every developer must accept it again."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from thirdparty.selectors import agreement_current
from thirdparty.services.registration import agreement_publish


class Command(BaseCommand):
    help = "Publish the next version of the data confidentiality and access agreement from a text file."

    def add_arguments(self, parser):
        parser.add_argument("body", type=Path, help="A UTF-8 text file with the agreement's terms.")
        parser.add_argument("--title", default="Third-party data confidentiality and access agreement")

    def handle(self, *args, body: Path, title: str, **options):
        try:
            text = body.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise CommandError(f"Cannot read {body}: {error.strerror}") from error
        if not text:
            raise CommandError(f"{body} is empty.")
        current = agreement_current()
        agreement = agreement_publish(version=(current.version if current else 0) + 1, title=title, body=text)
        self.stdout.write(f"Published version {agreement.version}. Developers must accept it before customers can grant new access.")
