"""Licence identifiers (电子证照标识).

``1.2.156.3005.2.{type code}.{issuer USCC}.{serial}.{3-digit version}.{check}``, the check
character computed with ISO 7064 MOD 37,36 over type code + issuer + serial + version (DOMAIN.md,
"E-licences", after a provincial access guide; the standard's own text could not be read).
python-stdnum's maintained implementation computes it.
"""

import re

from stdnum.iso7064 import mod_37_36

PREFIX = "1.2.156.3005.2"
SERIAL_DIGITS = 7
IDENTIFIER = re.compile(
    r"^1\.2\.156\.3005\.2\.(?P<type>[0-9A-Z]{1,32})\.(?P<issuer>[0-9A-HJ-NPQRTUWXY]{18})\."
    r"(?P<serial>\d{1,16})\.(?P<version>\d{3})\.(?P<check>[0-9A-Z])$"
)


def licence_check_character(*, type_code: str, issuer_code: str, serial: str, version: int) -> str:
    """ISO 7064 MOD 37,36 over type code + issuer + serial + version (three digits)."""
    return str(mod_37_36.calc_check_digit(f"{type_code}{issuer_code}{serial}{version:03d}".upper()))


def licence_identifier(*, type_code: str, issuer_code: str, serial: str, version: int) -> str:
    check = licence_check_character(type_code=type_code, issuer_code=issuer_code, serial=serial, version=version)
    return f"{PREFIX}.{type_code}.{issuer_code}.{serial}.{version:03d}.{check}"


def licence_serial_format(number: int) -> str:
    return f"{number:0{SERIAL_DIGITS}d}"


def licence_identifier_check(identifier: str) -> bool:
    """True when ``identifier`` has the layout and its check character is right."""
    match = IDENTIFIER.match(identifier.strip().upper())
    if match is None:
        return False
    expected = licence_check_character(
        type_code=match["type"], issuer_code=match["issuer"], serial=match["serial"], version=int(match["version"])
    )
    return expected == match["check"]
