"""Install codes as people type them or scan them, turned into Zigbee link keys.

The CRC check and the AES-MMO derivation are zigpy's (``zigpy.util``); this
module only normalises input and turns zigpy's errors into messages a person
can act on. Every failure is an ``InstallCodeError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import zigpy.types as zigpy_t
import zigpy.util

# Install code lengths in bytes, CRC included (6-, 8-, 12- and 16-byte codes).
_CODE_LENGTHS = (8, 10, 14, 18)
_SEPARATORS = re.compile(r"[\s:\-._]")
_HEX = re.compile(r"^[0-9a-fA-F]*$")
# Anything that carries one of the prefixes or delimiters of zigpy's QR formats.
_QR_HINT = re.compile(r"(\||\$I:|^Z:|^RB01SG|^HUE:Z:)")


class InstallCodeError(ValueError):
    """The code, QR payload or EUI-64 is not usable; the message says why."""


@dataclass(frozen=True)
class ParsedInstallCode:
    eui64: str  # canonical "00:0d:6f:..." form
    link_key: bytes

    def __repr__(self) -> str:  # never show the key, not even in a traceback
        return f"ParsedInstallCode(eui64={self.eui64!r}, link_key=<{len(self.link_key)} bytes>)"


def eui64_normalize(text: str) -> str:
    """``00-0D-6F-...``, ``000d6f...`` or ``00:0d:6f:...`` to ``00:0d:6f:...``."""
    digits = _SEPARATORS.sub("", text or "")
    if not digits:
        raise InstallCodeError("Enter the device's EUI-64 (16 hexadecimal digits, printed on its label).")
    if not _HEX.match(digits):
        raise InstallCodeError("The EUI-64 may only contain the digits 0-9 and the letters A-F.")
    if len(digits) != 16:
        raise InstallCodeError(f"The EUI-64 must be 16 hexadecimal digits, like 00:0D:6F:00:0A:BC:12:34; this one has {len(digits)}.")
    digits = digits.lower()
    if digits in ("0" * 16, "f" * 16):
        raise InstallCodeError("That EUI-64 is reserved and cannot belong to a device.")
    return ":".join(digits[i : i + 2] for i in range(0, 16, 2))


def _link_key_from_code_hex(digits: str) -> bytes:
    if not _HEX.match(digits):
        raise InstallCodeError("The install code may only contain the digits 0-9 and the letters A-F.")
    if len(digits) % 2 or len(digits) // 2 not in _CODE_LENGTHS:
        raise InstallCodeError(
            f"An install code is 16, 20, 28 or 36 hexadecimal digits (including its 4-digit check value); this one has {len(digits)}."
        )
    try:
        return bytes(zigpy.util.convert_install_code(bytes.fromhex(digits)))
    except ValueError as exc:
        if "CRC" in str(exc):
            raise InstallCodeError("The install code's check digits (CRC) do not match: look for a mistyped character.") from None
        raise InstallCodeError("The install code is not valid.") from None


def install_code_parse(*, code: str, eui64: str = "") -> ParsedInstallCode:
    """Parse a typed install code (with its device's EUI-64) or a QR payload (which carries the EUI-64).

    When both a QR payload and an EUI-64 are given they must agree.
    """
    text = (code or "").strip()
    if not text:
        raise InstallCodeError("Enter the install code printed on the device, or scan its QR code.")
    if len(text) > 512:
        raise InstallCodeError("That is too long to be an install code or a device QR code.")
    if _QR_HINT.search(text):
        try:
            ieee, key = zigpy.util.parse_install_code_qr(text)
        except ValueError as exc:
            if "CRC" in str(exc):
                raise InstallCodeError("The QR code's install code fails its check (CRC): the label may be damaged.") from None
            if "length" in str(exc):
                raise InstallCodeError("The QR code's install code has the wrong length.") from None
            raise InstallCodeError("This QR code is not in a device install-code format this portal knows.") from None
        scanned = eui64_normalize(str(ieee))
        if eui64.strip() and eui64_normalize(eui64) != scanned:
            raise InstallCodeError(f"The QR code belongs to device {scanned.upper()}, not the EUI-64 you entered.")
        return ParsedInstallCode(eui64=scanned, link_key=bytes(key))
    normalized = eui64_normalize(eui64)
    return ParsedInstallCode(eui64=normalized, link_key=_link_key_from_code_hex(_SEPARATORS.sub("", text)))


def eui64_to_zigpy(eui64: str) -> zigpy_t.EUI64:
    return zigpy_t.EUI64.convert(eui64)
