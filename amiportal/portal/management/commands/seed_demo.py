from django.core.management.base import BaseCommand

from amiportal.env import env_int
from amiportal.notifications.demo import critical_peak_audiences
from amiportal.portal.demo import DEMO_PASSWORD, DEMO_TOTP_BASE32, demo_logins, demo_seed


class Command(BaseCommand):
    help = "Load the demo utility (idempotent: running it again changes nothing)."

    def handle(self, *args, **options):
        demo_seed()
        # The port `make run` serves on (Procfile: ${AMI_PORT:-8000}), read with the same rules as every setting.
        port = env_int("AMI_PORT", 8000, minimum=1, maximum=65535)
        self.stdout.write(f"Demo data ready. Sign in at http://127.0.0.1:{port}/ with password {DEMO_PASSWORD}")
        for email, role, factor in demo_logins():
            self.stdout.write(f"  {email:<24} {role:<28} {'+ authenticator code' if factor else ''}")
        self.stdout.write(f"  ...and 17 more customers (see README). Demo authenticator secret: {DEMO_TOTP_BASE32}")
        self.stdout.write("  Current code without an app: python manage.py demo_totp")
        self.stdout.write("  Install codes of the simulated HAN devices (installer ivan@demo.ami): python manage.py han_demo_devices")
        self.stdout.write("Critical-peak notices (olga: Tariffs > Critical peak days) reach, in the inbox and by email (console):")
        for tariff, emails in critical_peak_audiences():
            self.stdout.write(f"  {tariff}: {', '.join(emails) or 'no one'}")
