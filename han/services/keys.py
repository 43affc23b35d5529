"""Escrowed key material at rest: sealing and opening (SO-C6, BF-HAN-2).

Every key is sealed through ``amiportal.crypto.sealed_columns``, under a context
naming its model, field and row, so a ciphertext moved to another row does not
open, and any failure to open raises ``SealedValueError`` (fail closed). KEK
rotation covers these columns with every other sealed one: ``manage.py keys_rotate``.
"""

from __future__ import annotations

import os

from amiportal.crypto.sealed_columns import column_open, column_seal
from han.models import Device, HanNetwork


def link_key_seal(*, device: Device, link_key: bytes) -> str:
    return column_seal(device, "link_key_sealed", link_key)


def link_key_open(*, device: Device) -> bytes:
    return column_open(device, "link_key_sealed")


def network_key_generate_sealed(*, network: HanNetwork) -> str:
    return column_seal(network, "network_key_sealed", os.urandom(16))


def network_key_open(*, network: HanNetwork) -> bytes:
    return column_open(network, "network_key_sealed")
