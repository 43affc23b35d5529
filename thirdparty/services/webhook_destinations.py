"""Where a webhook may be sent: public addresses only (SO-U1, SSRF).

The host is resolved and every address it resolves to must be a public one:
loopback, private (RFC 1918, IPv6 unique-local), link-local (which holds the
cloud metadata endpoints 169.254.169.254 and fd00:ec2::254), shared CGNAT space,
multicast, unspecified and other reserved ranges are refused, with an IPv4
address mapped into IPv6 judged as the IPv4 address it is. The one exception is
``AMI_WEBHOOK_ALLOWED_NETWORKS``, a development setting that production refuses.

The check runs at registration and again at every send, and the sender connects
to the very address that was checked (``CheckedDestination.address``), so a name
that re-resolves to an internal address after the check (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class WebhookDestinationError(ValueError):
    """The URL may not receive webhooks; the message says why, for the developer."""


@dataclass(frozen=True)
class CheckedDestination:
    scheme: str
    host: str  # for the Host header and TLS server name
    port: int
    path: str
    address: str  # the checked address to connect to


def _refusal(address: IPAddress) -> str | None:
    """Why this address may not receive webhooks, or None when it is a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in _METADATA:
        return "a cloud metadata address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a shared (carrier-grade NAT) address"
    if address.is_private:
        return "a private address"
    if address.is_reserved or not address.is_global:
        return "a reserved address"
    return None


def _allowed_by_development_list(address: IPAddress) -> bool:
    return any(address in ipaddress.ip_network(network) for network in settings.AMI_WEBHOOK_ALLOWED_NETWORKS)


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookDestinationError(f"The webhook host {host!r} could not be resolved.") from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])  # drop an IPv6 zone id
        if address not in addresses:
            addresses.append(address)
    return addresses


def webhook_destination_check(url: str) -> CheckedDestination:
    """Resolve the URL's host and accept it only if every address is public (or development-allowed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookDestinationError("A webhook URL must be an absolute https URL.")
    if parts.username or parts.password:
        raise WebhookDestinationError("A webhook URL must not carry a user name or password.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise WebhookDestinationError("The webhook URL's port is not a number from 1 to 65535.") from None
    addresses = _resolve(parts.hostname, port)
    if not addresses:
        raise WebhookDestinationError(f"The webhook host {parts.hostname!r} could not be resolved.")
    for address in addresses:
        reason = _refusal(address)
        if reason and not _allowed_by_development_list(address):
            raise WebhookDestinationError(
                f"The webhook host {parts.hostname!r} resolves to {address}, {reason}: webhooks go only to public addresses."
            )
    if parts.scheme == "http" and not all(_allowed_by_development_list(address) for address in addresses):
        raise WebhookDestinationError("A webhook URL must use https.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return CheckedDestination(scheme=parts.scheme, host=parts.hostname, port=port, path=path, address=str(addresses[0]))
