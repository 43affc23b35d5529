import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import totp

from amiportal.portal.demo import DEMO_TOTP_SECRET


class Command(BaseCommand):
    help = "Print the current code of the published demo authenticator (development profile only)."

    def handle(self, *args, **options):
        if settings.IS_PRODUCTION:
            raise CommandError("There is no demo authenticator in production.")
        code = totp(DEMO_TOTP_SECRET)
        remaining = 30 - int(time.time()) % 30
        self.stdout.write(f"{code:06d}  (valid for {remaining}s more)")
