"""Check characters of the codes that identify organisations.

Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from an alphabet
without I, O, S, V and Z; the last is a check character. python-stdnum's ``cn.uscc`` wrongly
demands digits in the first eight places (DOMAIN.md), so the check is written here.
"""

import csv
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_character(first_seventeen: str) -> str:
    """The 18th character for the given first 17 (GB 32100-2015)."""
    if len(first_seventeen) != 17 or any(char not in USCC_ALPHABET for char in first_seventeen):
        raise ValueError("need 17 characters of the credit-code alphabet")
    total = sum(USCC_ALPHABET.index(char) * weight for char, weight in zip(first_seventeen, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_is_valid(code: str) -> bool:
    code = code.strip().upper()
    if len(code) != 18 or any(char not in USCC_ALPHABET for char in code):
        return False
    return uscc_check_character(code[:17]) == code[17]


# Citizen identity number (公民身份号码, GB 11643-1999): region (6), birth date (8), sequence (3),
# check character (0-9 or X).
IDENTITY_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
REGION_CODES_CSV = Path(__file__).resolve().parent / "data" / "region_codes.csv"


class IdentityNumberProblem(StrEnum):
    LENGTH = "length"
    CHARACTERS = "characters"
    REGION = "region"
    BIRTH_DATE = "birth_date"
    CHECK_CHARACTER = "check_character"


@cache
def region_codes_ever_issued() -> frozenset[str]:
    """County-level and higher GB/T 2260 codes from 2002 to 2023 (abolished ones included)."""
    with REGION_CODES_CSV.open(encoding="utf-8") as handle:
        return frozenset(row["code"] for row in csv.DictReader(line for line in handle if not line.startswith("#")))


def identity_number_normalise(value: str) -> str:
    return value.strip().upper()


def identity_number_check_character(first_seventeen: str) -> str:
    """The 18th character for the given first 17 digits (GB 11643-1999): 0-9, or X for 10."""
    if len(first_seventeen) != 17 or not first_seventeen.isdigit():
        raise ValueError("need 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first_seventeen, IDENTITY_WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def identity_number_problem(value: str, *, today: date | None = None) -> IdentityNumberProblem | None:
    """What is wrong with an identity number, or None when it is well formed (GB 11643-1999):
    18 characters, a region code that has existed, a real birth date not in the future, and the
    right check character."""
    number = identity_number_normalise(value)
    if len(number) != 18:
        return IdentityNumberProblem.LENGTH
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        return IdentityNumberProblem.CHARACTERS
    if number[:6] not in region_codes_ever_issued():
        return IdentityNumberProblem.REGION
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return IdentityNumberProblem.BIRTH_DATE
    if born.year < 1900 or born > (today or date.today()):  # noqa: DTZ011 - a calendar date, no time zone
        return IdentityNumberProblem.BIRTH_DATE
    if identity_number_check_character(number[:17]) != number[17]:
        return IdentityNumberProblem.CHECK_CHARACTER
    return None


def identity_number_birth_date(value: str) -> date:
    number = identity_number_normalise(value)
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
