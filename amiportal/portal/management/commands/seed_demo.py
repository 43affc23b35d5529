from django.core.management.base import BaseCommand

from amiportal.notifications.demo import critical_peak_audiences
from amiportal.portal.demo import DEMO_PASSWORD, DEMO_TOTP_BASE32, demo_logins, demo_seed


class Command(BaseCommand):
    help = "Load the demo utility (idempotent: running it again changes nothing)."

    def handle(self, *args, **options):
        demo_seed()
        self.stdout.write("Demo data ready. Sign in at http://127.0.0.1:8000/ with password " + DEMO_PASSWORD)
        for email, role, factor in demo_logins():
            self.stdout.write(f"  {email:<24} {role:<28} {'+ authenticator code' if factor else ''}")
        self.stdout.write(f"  ...and 17 more customers (see README). Demo authenticator secret: {DEMO_TOTP_BASE32}")
        self.stdout.write("  Current code without an app: python manage.py demo_totp")
        self.stdout.write("Critical-peak notices (olga: Tariffs > Critical peak days) reach, in the inbox and by email (console):")
        for tariff, emails in critical_peak_audiences():
            self.stdout.write(f"  {tariff}: {', '.join(emails) or 'no one'}")
