"""What the HAN benchmarks share: install codes and radio addresses as devices carry them, premises, a percentile."""

from __future__ import annotations

import os


def install_code() -> str:
    """A random 16-byte install code with its CRC, as printed on a device (hex)."""
    from zigpy.util import CrcX25

    body = os.urandom(16)
    crc = CrcX25()
    crc.process(body)
    return (body + crc.finalbytes(byteorder="little")).hex().upper()


def eui64(n: int) -> str:
    """The ``n``-th radio address of a made-up vendor block."""
    raw = b"\x00\x0d\x6f" + n.to_bytes(5, "big")
    return ":".join(f"{b:02x}" for b in raw)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def create_premises(prefix: str, count: int):
    """``count`` residential premises whose service point ids start with ``prefix``, in that order."""
    from amiportal.premises.models import Premise

    Premise.objects.bulk_create(
        [
            Premise(
                service_point_id=f"{prefix}-{n:05d}",
                address_line=f"{n} Bench Street",
                city="Riverton",
                postal_code="00000",
                customer_class="residential",
            )
            for n in range(count)
        ]
    )
    return list(Premise.objects.filter(service_point_id__startswith=f"{prefix}-").order_by("service_point_id"))


def in_process_coordinator(*, identity, app, send_report):
    """A ``CoordinatorService`` in this process on ``app`` (the simulated radio): no broker, an in-memory replay guard."""
    from han.coordinator.service import CoordinatorService
    from han.protocol import ReplayGuard
    from han.services.head_end_keys import head_end_box_public_key_hex, head_end_public_key_hex

    return CoordinatorService(
        identity=identity,
        head_end_public_hex=head_end_public_key_hex(),
        head_end_box_public_hex=head_end_box_public_key_hex(),
        app=app,
        replay_guard=ReplayGuard(),
        consumer=object(),
        send_report=send_report,
    )
