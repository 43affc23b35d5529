"""The people and things an audit entry mentions, loaded once per page, and how to name them to a customer.

Entries hold plain ids (``user:7``, ``device:<uid>``, ``premise:3``); a customer reads names.
Another customer is never named: whoever is not the reader, staff, an installer or a
company the reader authorised is "Someone else".
"""

from __future__ import annotations

import json
import uuid
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model

from amiportal.accounts.roles import Role, user_roles
from amiportal.audit.models import AuditEntry
from amiportal.premises.models import Premise


@dataclass(frozen=True)
class Event:
    """One audit entry with its payload decoded (an undecodable payload reads as empty, never raw)."""

    entry: AuditEntry
    payload: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> Event:
        try:
            payload = json.loads(entry.payload or "{}")
        except ValueError:
            payload = {}
        return cls(entry=entry, payload=payload if isinstance(payload, dict) else {})

    def target_id(self, kind: str) -> str | None:
        prefix = f"{kind}:"
        return self.entry.target[len(prefix) :] if self.entry.target.startswith(prefix) else None

    @property
    def premise_ids(self) -> set[int]:
        ids = {self.payload.get("premise_id"), *(self.payload.get("premise_ids") or [])}
        target = self.target_id("premise")
        if target and target.isdigit():
            ids.add(int(target))
        return {int(i) for i in ids if isinstance(i, int)}

    @property
    def consent_id(self) -> int | None:
        origin = self.payload.get("origin") if isinstance(self.payload.get("origin"), dict) else {}
        for value in (self.payload.get("consent_id"), origin.get("consent_id"), self.target_id("consent")):
            if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
                return int(value)
        return None


@dataclass
class Names:
    viewer_id: int
    zone: str = "UTC"
    users: dict[int, Any] = field(default_factory=dict)
    premises: dict[int, Premise] = field(default_factory=dict)
    devices: dict[str, Any] = field(default_factory=dict)
    applications: dict[int, Any] = field(default_factory=dict)
    applications_by_client_id: dict[str, Any] = field(default_factory=dict)
    consent_applications: dict[int, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, *, viewer, events: list[Event], zone: str = "UTC") -> Names:
        from han.models import Device
        from thirdparty.models import Consent, ThirdPartyApplication

        names = cls(viewer_id=viewer.pk, zone=zone)
        actor_ids = {e.entry.actor_id for e in events if e.entry.actor_id}
        names.users = {u.pk: u for u in get_user_model().objects.filter(pk__in=actor_ids).prefetch_related("groups")}
        device_uids = {uid for e in events if (uid := e.target_id("device"))}
        devices = Device.objects.filter(uid__in=[u for u in device_uids if _looks_like_uuid(u)]).select_related("network__premise")
        names.devices = {str(d.uid): d for d in devices}
        premise_ids = set().union(*(e.premise_ids for e in events)) if events else set()
        names.premises = {p.pk: p for p in Premise.objects.filter(pk__in=premise_ids)}
        consent_ids = {e.consent_id for e in events if e.consent_id}
        consents = Consent.objects.filter(pk__in=consent_ids).select_related("application")
        names.consent_applications = {c.pk: c.application for c in consents}
        app_ids = {e.payload.get("application_id") for e in events if isinstance(e.payload.get("application_id"), int)}
        names.applications = {a.pk: a for a in ThirdPartyApplication.objects.filter(pk__in=app_ids)}
        client_ids = {e.entry.actor_label.split(":", 1)[1] for e in events if e.entry.actor_label.startswith("thirdparty:")}
        apps = ThirdPartyApplication.objects.filter(oauth_application__client_id__in=client_ids).select_related("oauth_application")
        names.applications_by_client_id = {a.client_id: a for a in apps}
        return names

    def local_day(self, moment: datetime) -> str:
        """The reader's calendar day of a moment: "3 Dec 2026"."""
        return f"{moment.astimezone(zoneinfo.ZoneInfo(self.zone)):%-d %b %Y}" if moment.tzinfo else f"{moment:%-d %b %Y}"

    def actor(self, event: Event) -> str:
        """Who did it, as the sentence's subject: "You", "Olga (utility staff)", "EnergyApp", "Someone else"."""
        entry = event.entry
        if entry.actor_id is not None and entry.actor_id == self.viewer_id:
            return "You"
        user = self.users.get(entry.actor_id) if entry.actor_id else None
        if user is not None:
            roles = user_roles(user)
            first = user.full_name.split(" ")[0] if user.full_name else ""
            if roles & {Role.OPERATOR, Role.ADMIN} or user.is_staff:
                return f"{first} (utility staff)" if first else "A member of utility staff"
            if Role.INSTALLER in roles:
                return f"{first} (installer)" if first else "An installer"
            return "Someone else"
        if entry.actor_label.startswith("thirdparty:"):
            return self.application(event) or "A company you authorised"
        if entry.actor_label.startswith("coordinator:"):
            return "Your home's gateway"
        if entry.actor_id is None and entry.actor_label in ("system", "han-relay", ""):
            return "The utility's system"
        return "Someone else"

    def application(self, event: Event) -> str | None:
        app = self.applications.get(event.payload.get("application_id"))
        app = app or self.consent_applications.get(event.consent_id)
        if app is None and event.entry.actor_label.startswith("thirdparty:"):
            app = self.applications_by_client_id.get(event.entry.actor_label.split(":", 1)[1])
        return app.name if app is not None else None

    def premise(self, event: Event) -> str | None:
        device = self.device_of(event)
        if device is not None:
            return device.network.premise.address_line
        for premise_id in sorted(event.premise_ids):
            if premise_id in self.premises:
                return self.premises[premise_id].address_line
        return None

    def premises_listed(self, event: Event) -> str:
        addresses = [self.premises[i].address_line for i in sorted(event.premise_ids) if i in self.premises]
        return ", ".join(addresses) if addresses else "your home"

    def device_of(self, event: Event):
        uid = event.target_id("device")
        return self.devices.get(uid) if uid else None

    def device(self, event: Event) -> str:
        """The device as "a device 'Thermostat'": its label, else its kind."""
        device = self.device_of(event)
        if device is None:
            return "a device"
        return f"a device '{device.label or device.get_device_type_display()}'"


def _looks_like_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
