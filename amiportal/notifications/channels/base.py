"""What every channel module provides.

A channel module has:
- ``NAME``, ``LABEL``;
- ``ENABLED`` and ``DISABLED_REASON`` (shown in the preferences while a channel is not built yet);
- ``IMMEDIATE``: True when storing the notification is the delivery (the portal inbox);
- ``missing_target(user) -> str``: why this user cannot be reached on it ("" when they can);
- ``deliver(notification) -> None``: one attempt; raises ``ChannelError`` to be retried.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from amiportal.notifications.models import Notification


class ChannelError(Exception):
    """One attempt on a channel failed; the delivery is tried again later."""


class ChannelModule(Protocol):
    NAME: str
    LABEL: str
    ENABLED: bool
    DISABLED_REASON: str
    IMMEDIATE: bool

    def missing_target(self, user) -> str: ...

    def deliver(self, notification: Notification) -> None: ...
