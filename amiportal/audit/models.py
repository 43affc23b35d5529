"""The append-only audit trail (SO-C13, SO-U8, the seed's accountability principle).

Rows are never updated or deleted. On PostgreSQL a trigger refuses UPDATE,
DELETE and TRUNCATE; everywhere, the hash chain and the HMAC make any change
detectable by ``manage.py audit_verify``.
"""

from django.db import models


class AuditEntry(models.Model):
    seq = models.BigIntegerField(primary_key=True)
    occurred_at = models.DateTimeField()
    # Plain ids, not foreign keys: the trail must outlive the rows it mentions.
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=254)
    action = models.CharField(max_length=80, db_index=True)
    target = models.CharField(max_length=200, blank=True)
    customer_account_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    request_id = models.CharField(max_length=64, blank=True)
    payload = models.TextField(help_text="Canonical JSON; never a secret.")
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)
    mac = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "audit entries"
        permissions = [("view_audit_trail", "Can read the whole audit trail")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_label}"


class AuditCheckpoint(models.Model):
    """A signed statement 'the chain had this head at this time'.

    Exported copies kept elsewhere let a verifier notice a truncated tail,
    which the chain alone cannot show.
    """

    seq = models.BigIntegerField()
    entry_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    public_key = models.CharField(max_length=64, help_text="Hex Ed25519 public key that signed this.")
    signature = models.CharField(max_length=128)

    class Meta:
        ordering = ["seq", "id"]

    def __str__(self) -> str:
        return f"checkpoint at #{self.seq}"
