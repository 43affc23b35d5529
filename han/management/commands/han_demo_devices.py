"""Print the demo's simulated HAN devices with their install codes and QR payloads (demo only)."""

from django.core.management.base import BaseCommand

from han.demo import demo_simulated_devices


class Command(BaseCommand):
    help = "List the simulated demo devices an installer can commission in `make run`."

    def handle(self, *args, **options):
        for row in demo_simulated_devices():
            eui = row["eui64"].replace(":", "").upper()
            self.stdout.write(
                f"{row['premise']}  {row['device_type']:<6} EUI-64 {row['eui64'].upper()}"
                f"  install code {row['install_code']}  QR Z:{eui}$I:{row['install_code']}"
            )
