"""The portal inbox: the stored notification is what the customer reads; nothing travels."""

from __future__ import annotations

NAME = "inbox"
LABEL = "Portal inbox"
ENABLED = True
DISABLED_REASON = ""
IMMEDIATE = True


def missing_target(user) -> str:
    return ""


def deliver(notification) -> None:
    """Nothing to send: the inbox reads the notification itself."""
