"""Escrowed key material at rest: sealing, opening, shredding and KEK rotation (SO-C6, BF-HAN-2).

Every key is sealed with ``amiportal.crypto.envelope`` under a context naming
its model, field and row, so a ciphertext moved to another row does not open,
and any failure to open raises ``SealedValueError`` (fail closed).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction

from amiportal.audit.services import audit_append
from amiportal.crypto.envelope import keyring, open_sealed, rewrap, seal, sealed_key_id
from han.models import Device, HanNetwork


def link_key_seal(*, device: Device, link_key: bytes) -> str:
    return seal(link_key, context=device.link_key_context)


def link_key_open(*, device: Device) -> bytes:
    return open_sealed(device.link_key_sealed, context=device.link_key_context)


def network_key_generate_sealed(*, network: HanNetwork) -> str:
    return seal(os.urandom(16), context=network.network_key_context)


def network_key_open(*, network: HanNetwork) -> bytes:
    return open_sealed(network.network_key_sealed, context=network.network_key_context)


@dataclass
class RotationProgress:
    rewrapped: int = 0
    already_current: int = 0


def _sealed_fields() -> Iterator[tuple[type, str, str]]:
    # (model, sealed field, context property)
    yield Device, "link_key_sealed", "link_key_context"
    yield HanNetwork, "network_key_sealed", "network_key_context"


def keys_rotate(*, batch_size: int = 200, actor_label: str = "han_rotate_keys") -> RotationProgress:
    """Re-wrap every HAN data key under the active KEK, batch by batch.

    Idempotent and resumable: each batch commits on its own, rows already under
    the active KEK are skipped, so a run stopped half-way is finished by the
    next one. The keys themselves are never decrypted, only their data keys.
    """
    active = keyring().active_id
    progress = RotationProgress()
    for model, field_name, context_attr in _sealed_fields():
        last_pk = 0
        while True:
            with transaction.atomic():
                rows = list(
                    model.objects.select_for_update(skip_locked=True)
                    .filter(pk__gt=last_pk)
                    .exclude(**{field_name: ""})
                    .order_by("pk")[:batch_size]
                )
                if not rows:
                    break
                for row in rows:
                    sealed = getattr(row, field_name)
                    if sealed_key_id(sealed) == active:
                        progress.already_current += 1
                        continue
                    setattr(row, field_name, rewrap(sealed, context=getattr(row, context_attr)))
                    row.save(update_fields=[field_name])
                    progress.rewrapped += 1
                last_pk = rows[-1].pk
    audit_append(
        action="han.keys_rotated",
        actor_label=actor_label,
        target=f"kek:{active}",
        payload={"rewrapped": progress.rewrapped, "already_current": progress.already_current},
    )
    return progress
