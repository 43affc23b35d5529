"""Install codes as typed and scanned: zigpy derives the key, people get clear errors (BF-HAN-1)."""

import pytest
import zigpy.util
from hypothesis import given
from hypothesis import strategies as st
from zigpy.util import CrcX25

from han.install_codes import InstallCodeError, eui64_normalize, install_code_parse
from tests.han.conftest import install_code_for

CODE = "83FED3407A939723A5C639B26916D505C3B5"
KEY = bytes.fromhex("66b6900981e1ee3ca4206b6b861c02bb")
EUI = "00:0d:6f:00:0a:bc:12:34"


@pytest.mark.parametrize(
    "typed", [CODE, CODE.lower(), "83FE-D340-7A93-9723-A5C6-39B2-6916-D505-C3B5", "83 FE D3 40 7A 93 97 23 A5 C6 39 B2 69 16 D5 05 C3 B5"]
)
def test_a_typed_code_gives_zigpys_link_key_with_or_without_separators(typed):
    parsed = install_code_parse(code=typed, eui64="000D6F000ABC1234")
    assert parsed.link_key == KEY
    assert parsed.eui64 == EUI


@pytest.mark.parametrize(
    "qr",
    [f"Z:000D6F000ABC1234$I:{CODE}", f"000D6F000ABC1234|{CODE}", f"HUE:Z:{CODE} M:000D6F000ABC1234 D:xyz"],
)
def test_a_qr_payload_carries_its_own_eui64(qr):
    parsed = install_code_parse(code=qr)
    assert parsed == install_code_parse(code=CODE, eui64=EUI)


def test_the_parsed_code_never_shows_its_key():
    assert KEY.hex() not in repr(install_code_parse(code=CODE, eui64=EUI))


@pytest.mark.parametrize(
    ("code", "eui64", "message"),
    [
        (CODE[:-1] + "4", EUI, "check digits (CRC)"),
        (CODE[:-2], EUI, "16, 20, 28 or 36 hexadecimal digits"),
        ("83FED3407A939723A5C639B26916D505C3BZ", EUI, "only contain the digits"),
        (CODE, "00:0d:6f:00:0a:bc:12", "16 hexadecimal digits"),
        (CODE, "00:0d:6f:00:0a:bc:12:zz", "only contain the digits"),
        (CODE, "", "Enter the device's EUI-64"),
        (CODE, "ff:ff:ff:ff:ff:ff:ff:ff", "reserved"),
        ("", EUI, "Enter the install code"),
        (f"Z:000D6F000ABC1234$I:{CODE[:-1]}4", "", "fails its check (CRC)"),
        (f"Z:000D6F000ABC1234$I:{CODE}", "00:0d:6f:00:0a:bc:12:35", "belongs to device 00:0D:6F:00:0A:BC:12:34"),
        ("Z:nonsense$I:1234", "", "not in a device install-code format"),
    ],
)
def test_bad_input_gets_a_clear_message(code, eui64, message):
    with pytest.raises(InstallCodeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        install_code_parse(code=code, eui64=eui64)


@given(st.binary(min_size=6, max_size=16).filter(lambda b: len(b) in (6, 8, 12, 16)), st.sampled_from(["", "-", " ", ":"]))
def test_every_valid_code_round_trips_to_zigpys_key(body, separator):
    crc = CrcX25()
    crc.process(body)
    code = body + crc.finalbytes(byteorder="little")
    typed = separator.join(code.hex()[i : i + 4] for i in range(0, len(code) * 2, 4))
    assert install_code_parse(code=typed, eui64=EUI).link_key == bytes(zigpy.util.convert_install_code(code))


@given(st.text(max_size=80), st.text(max_size=30))
def test_garbage_gives_only_the_documented_error(code, eui64):
    try:
        parsed = install_code_parse(code=code, eui64=eui64)
    except InstallCodeError:
        return
    assert len(parsed.link_key) == 16 and len(parsed.eui64) == 23


@given(st.text(max_size=40))
def test_garbage_eui64_gives_only_the_documented_error(text):
    try:
        assert len(eui64_normalize(text)) == 23
    except InstallCodeError:
        pass


def test_helper_codes_are_valid():
    assert len(install_code_parse(code=install_code_for(), eui64=EUI).link_key) == 16
