"""Register a production premise gateway's coordinator: ``python manage.py han_register_coordinator``.

    manage.py han_register_coordinator --name gw-sp-100001 --premise SP-100001 \\
        --radio ezsp --public-keys gw-sp-100001.pub.json      # or --public-keys - (stdin)

The head-end only ever receives a gateway's *public* keys: its X25519 key (key
material is sealed to it) and its Ed25519 key (its reports are checked against
it). The public-key file is JSON, ``{"name": ..., "box_public_key": <64 hex>,
"verify_public_key": <64 hex>}``; ``--box-public-key`` / ``--verify-public-key``
give the same on the command line. A gateway's own key file (the one holding
``box_private``/``sign_private``) is refused: private keys never leave the gateway.

What it does, through the existing services (each audits itself):
- ``coordinator_register`` records the keys;
- a premise without a HAN gets one (``han_network_create``: fresh PAN ids and
  network key, escrowed, sent sealed to this coordinator);
- a premise served by another coordinator is moved to this one only with
  ``--replace`` (``coordinator_replace``: the escrowed keys are restored to it).

Idempotent: the same name, keys and premise again changes nothing. Different keys
for a registered name are refused unless ``--replace`` (a re-keyed gateway).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_slug
from django.db import transaction

from amiportal.accounts.models import User
from amiportal.premises.models import Premise
from han.coordinator.radios import RADIO_TYPES
from han.management.commands.han_head_end_keys import head_end_key_lines
from han.models import Coordinator, HanNetwork
from han.services.networks import coordinator_register, coordinator_replace, han_network_create

_PRIVATE_FIELDS = ("box_private", "sign_private", "private_key", "private")


def _public_key_hex(value: object, what: str, loader) -> str:
    text = str(value or "").strip().lower()
    if text.startswith("0x"):
        text = text[2:]
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise CommandError(f"The {what} must be 32 bytes written as 64 hexadecimal digits; got {len(text)} characters.")
    try:
        loader(bytes.fromhex(text))
    except ValueError as exc:
        raise CommandError(f"The {what} is not a valid key: {exc}") from None
    return text


class Command(BaseCommand):
    help = "Register a premise gateway's coordinator from its public keys, and give it the premise's HAN."
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Coordinator name, as the gateway runs it (han_coordinator --name).")
        parser.add_argument("--premise", required=True, metavar="SERVICE_POINT_ID", help="The premise this gateway serves.")
        parser.add_argument("--public-keys", metavar="FILE", help="JSON file with box_public_key and verify_public_key; '-' reads stdin.")
        parser.add_argument("--box-public-key", metavar="HEX", help="X25519 public key (instead of --public-keys).")
        parser.add_argument("--verify-public-key", metavar="HEX", help="Ed25519 public key (instead of --public-keys).")
        parser.add_argument(
            "--radio", choices=sorted(RADIO_TYPES), help="The gateway's radio (default: as registered, or ezsp for a new gateway)."
        )
        parser.add_argument("--channel", type=int, default=15, help="Zigbee channel for a new HAN, 11-26 (default 15).")
        parser.add_argument("--operator", metavar="EMAIL", help="The operator doing this, for the audit trail.")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Allow new keys for a registered name, or moving the premise from its current coordinator to this one.",
        )

    # --- input -------------------------------------------------------------------------------

    def _read_keys(self, options) -> tuple[str, str]:
        source = options["public_keys"]
        flags = (options["box_public_key"], options["verify_public_key"])
        if source and any(flags):
            raise CommandError("Give the keys either with --public-keys or with --box-public-key/--verify-public-key, not both.")
        if not source:
            if not all(flags):
                raise CommandError(
                    "Give the gateway's public keys: --public-keys FILE (or -), or both --box-public-key and --verify-public-key."
                )
            box, verify = flags
        else:
            data = self._read_json(source, options.get("stdin") or sys.stdin)
            if any(field in data for field in _PRIVATE_FIELDS):
                raise CommandError(
                    "That file holds the gateway's private keys. Private keys never leave the gateway:"
                    " give only its public keys (box_public_key, verify_public_key)."
                )
            if "name" in data and data["name"] != options["name"]:
                raise CommandError(f"The public keys are for coordinator {data['name']!r}, not {options['name']!r}.")
            missing = [field for field in ("box_public_key", "verify_public_key") if not data.get(field)]
            if missing:
                raise CommandError(f"The public-key file lacks {', '.join(missing)}.")
            box, verify = data["box_public_key"], data["verify_public_key"]
        box = _public_key_hex(box, "X25519 public key (box_public_key)", X25519PublicKey.from_public_bytes)
        verify = _public_key_hex(verify, "Ed25519 public key (verify_public_key)", Ed25519PublicKey.from_public_bytes)
        if box == verify:
            raise CommandError("The X25519 and Ed25519 public keys are the same value; a gateway has two different key pairs.")
        return box, verify

    @staticmethod
    def _read_json(source: str, stdin) -> dict:
        try:
            text = stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {source}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{source} is not a UTF-8 text file.") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(f"The public keys are not valid JSON ({exc.msg}, line {exc.lineno}).") from None
        if not isinstance(data, dict):
            raise CommandError("The public-key file must be a JSON object with box_public_key and verify_public_key.")
        return data

    # --- the work ----------------------------------------------------------------------------

    def handle(self, *args, **options):
        name = options["name"].strip()
        try:
            validate_slug(name)
        except ValidationError:
            raise CommandError("The coordinator name may contain only letters, digits, hyphens and underscores.") from None
        if len(name) > 64:
            raise CommandError("The coordinator name is at most 64 characters.")
        if not 11 <= options["channel"] <= 26:
            raise CommandError("The Zigbee channel must be between 11 and 26.")
        box, verify = self._read_keys(options)
        premise = Premise.objects.filter(service_point_id=options["premise"].strip()).first()
        if premise is None:
            raise CommandError(f"No premise has service point id {options['premise']!r}.")
        actor = None
        if options["operator"]:
            actor = User.objects.filter(email__iexact=options["operator"].strip()).first()
            if actor is None:
                raise CommandError(f"No user has the email address {options['operator']!r}.")

        with transaction.atomic():
            changes, radio = self._register(name=name, box=box, verify=verify, premise=premise, actor=actor, options=options)
        if not changes:
            self.stdout.write(
                f"Coordinator {name} is already registered with these keys and serves {premise.service_point_id}; nothing changed."
            )
            return
        for line in changes:
            self.stdout.write(line)
        self.stdout.write(
            f"Start the gateway with: AMI_PROFILE=gateway manage.py han_coordinator --name {name} --radio {radio}"
            f" --device <serial port>\nand the head-end's public keys (and its broker URL, CELERY_BROKER_URL=rediss://...):\n"
            f"{head_end_key_lines()}"
        )

    def _register(self, *, name, box, verify, premise, actor, options) -> tuple[list[str], str]:
        changes: list[str] = []
        existing = Coordinator.objects.select_for_update(no_key=True).filter(name=name).first()
        if existing is not None and not existing.is_active:
            raise CommandError(
                f"Coordinator {name} was retired when its premise moved to another coordinator; register the gateway under a new name."
            )
        serving = HanNetwork.objects.select_related("premise").filter(coordinator=existing).first() if existing else None
        if serving is not None and serving.premise_id != premise.pk:
            raise CommandError(
                f"Coordinator {name} already serves premise {serving.premise.service_point_id}; a coordinator serves one premise."
            )

        radio = options["radio"] or (existing.radio_type if existing else "ezsp")
        registered = (existing.box_public_key, existing.verify_public_key, existing.radio_type) if existing else None
        if registered != (box, verify, radio):
            keys_differ = registered is not None and registered[:2] != (box, verify)
            if keys_differ and not options["replace"]:
                raise CommandError(
                    f"Coordinator {name} is registered with different public keys. If the gateway was re-keyed, run again with --replace."
                )
            coordinator = coordinator_register(name=name, box_public_key=box, verify_public_key=verify, radio_type=radio, actor=actor)
            if existing is None:
                changes.append(f"Registered coordinator {name} ({radio} radio).")
            elif keys_differ:
                changes.append(
                    f"Replaced the public keys of coordinator {name};"
                    " commands already queued under the old keys will be refused by the gateway."
                )
            else:
                changes.append(f"Changed the radio type of coordinator {name} to {radio}.")
        else:
            coordinator = existing

        network = HanNetwork.objects.select_related("coordinator").filter(premise=premise).first()
        if network is None:
            network = han_network_create(premise=premise, coordinator=coordinator, channel=options["channel"], actor=actor)
            changes.append(
                f"Formed the HAN of {premise.service_point_id} (PAN {network.pan_id:04X}, channel {network.channel});"
                " its network key is escrowed and queued, sealed, for the gateway."
            )
        elif network.coordinator_id != coordinator.pk:
            if not options["replace"]:
                raise CommandError(
                    f"Premise {premise.service_point_id} is served by coordinator {network.coordinator.name}."
                    " To replace that gateway with this one (its escrowed keys are restored to it), run again with --replace."
                )
            jobs = coordinator_replace(network=network, coordinator=coordinator, actor=actor)
            changes.append(
                f"Moved the HAN of {premise.service_point_id} from {network.coordinator.name} to {name};"
                f" {len(jobs) - 1} escrowed device key(s) queued, sealed, for the new gateway."
            )
        return changes, radio
