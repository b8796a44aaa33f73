import pytest

from govhall.org.identifiers import uscc_check_character, uscc_is_valid


def test_published_example_credit_code_is_valid():
    assert uscc_is_valid("914403001922038216")


@pytest.mark.parametrize("code", ["914403001922038217", "91440300192203821", "91440300192203821I", ""])
def test_wrong_check_character_length_or_alphabet_is_invalid(code):
    assert not uscc_is_valid(code)


def test_computed_check_character_completes_a_valid_code():
    first = "11330000002482000"
    assert uscc_is_valid(first + uscc_check_character(first))
