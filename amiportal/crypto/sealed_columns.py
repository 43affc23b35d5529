"""Every sealed column in the project, and how each is bound to its row (SO-U1, SO-C6).

A sealed value opens only under the context it was sealed with, so the context
is the column's binding: name it once here, and every seal, open and key
rotation goes through this registry. A column that stores a sealed value and
is not listed here would be missed by ``manage.py keys_rotate``, and removing
an old key-encryption key would then make it unreadable; a test walks every
model to refuse that.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import models

from amiportal.crypto.envelope import open_sealed, seal


@dataclass(frozen=True)
class SealedColumn:
    model_label: str  # "app_label.ModelName"
    field: str
    binding: str  # the row attribute the context names (a stable, never reused id)
    context_template: str  # "{}" takes the binding's value

    @property
    def label(self) -> str:
        return f"{self.model_label}.{self.field}"

    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)

    def context_for(self, row: models.Model) -> str:
        return self.context_template.format(getattr(row, self.binding))


SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn("accounts.SealedTOTPDevice", "key_sealed", "uid", "accounts.sealedtotpdevice.key:{}"),
    SealedColumn("thirdparty.ThirdPartyApplication", "webhook_secret_sealed", "pk", "thirdparty_application:{}:webhook_secret"),
    SealedColumn(
        "thirdparty.ThirdPartyApplication",
        "webhook_previous_secret_sealed",
        "pk",
        "thirdparty_application:{}:webhook_previous_secret",
    ),
    SealedColumn("han.HanNetwork", "network_key_sealed", "uid", "han.hannetwork.network_key:{}"),
    SealedColumn("han.Device", "link_key_sealed", "uid", "han.device.link_key:{}"),
)
_BY_MODEL_AND_FIELD = {(column.model_label.lower(), column.field): column for column in SEALED_COLUMNS}


class UnregisteredSealedColumn(LookupError):
    pass


def sealed_column_of(row: models.Model, field: str) -> SealedColumn:
    try:
        return _BY_MODEL_AND_FIELD[(row._meta.label_lower, field)]
    except KeyError:
        raise UnregisteredSealedColumn(f"{row._meta.label}.{field} is not in SEALED_COLUMNS") from None


def column_seal(row: models.Model, field: str, plaintext: bytes) -> str:
    """Seal ``plaintext`` for ``row.field`` under the active KEK (the caller assigns and saves it)."""
    return seal(plaintext, context=sealed_column_of(row, field).context_for(row))


def column_open(row: models.Model, field: str) -> bytes:
    """Open ``row.field``; any doubt raises ``SealedValueError`` (fail closed)."""
    return open_sealed(getattr(row, field), context=sealed_column_of(row, field).context_for(row))
