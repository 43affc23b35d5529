"""Print the head-end's two HAN public keys, as a gateway's environment takes them: ``manage.py han_head_end_keys``.

Run on the head-end; copy the two lines into the gateway's environment (or into files named by
``AMI_HAN_HEAD_END_PUBLIC_KEY_FILE`` and ``AMI_HAN_HEAD_END_BOX_PUBLIC_KEY_FILE``). Both are public:
the gateway verifies commands with the first and seals its reports to the second. The secret
seed they come from (``AMI_HAN_SIGNING_KEY``) never leaves the head-end.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from han.services.head_end_keys import head_end_box_public_key_hex, head_end_public_key_hex


def head_end_key_lines() -> str:
    return f"AMI_HAN_HEAD_END_PUBLIC_KEY={head_end_public_key_hex()}\nAMI_HAN_HEAD_END_BOX_PUBLIC_KEY={head_end_box_public_key_hex()}"


class Command(BaseCommand):
    help = "Print the head-end's public keys (Ed25519 verify, X25519 box) for a gateway's environment."

    def handle(self, *args, **options):
        self.stdout.write(head_end_key_lines())
