"""The client's address, as far as this server can know it.

``REMOTE_ADDR`` is the peer. Only when that peer is one of ``AMI_TRUSTED_PROXIES`` is
``X-Forwarded-For`` read, from the right: each trusted proxy appends the address it saw,
so the right-most entry that is not a trusted proxy is the client. Entries further left
were written by the client itself and are never believed.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.AMI_TRUSTED_PROXIES)


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def client_address(request) -> str:
    peer = request.META.get("REMOTE_ADDR", "") or "unknown"
    if not _trusted(peer):
        return peer
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        if not _valid(hop):
            # Written by something we do not trust: stop at the last hop we could vouch for.
            break
        client = hop
        if not _trusted(hop):
            break
    return client
