"""Check characters of the codes that identify organisations.

Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from an alphabet
without I, O, S, V and Z; the last is a check character. python-stdnum's ``cn.uscc`` wrongly
demands digits in the first eight places (DOMAIN.md), so the check is written here.
"""

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
