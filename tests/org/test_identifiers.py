from datetime import date

import pytest

from govhall.org.identifiers import (
    IdentityNumberProblem,
    identity_number_check_character,
    identity_number_problem,
    uscc_check_character,
    uscc_is_valid,
)


def test_published_example_credit_code_is_valid():
    assert uscc_is_valid("914403001922038216")


@pytest.mark.parametrize("code", ["914403001922038217", "91440300192203821", "91440300192203821I", ""])
def test_wrong_check_character_length_or_alphabet_is_invalid(code):
    assert not uscc_is_valid(code)


def test_computed_check_character_completes_a_valid_code():
    first = "11330000002482000"
    assert uscc_is_valid(first + uscc_check_character(first))


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # DOMAIN.md's example
        "11010519491231002x",  # a lower-case x is read as X
        "330103198001011234"[:17] + identity_number_check_character("33010319800101123"),  # abolished 下城区
    ],
)
def test_well_formed_identity_numbers_pass(number):
    assert identity_number_problem(number) is None


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("1101051949123100", IdentityNumberProblem.LENGTH),
        ("11010519491231002Y", IdentityNumberProblem.CHARACTERS),
        ("1101051949123A002X", IdentityNumberProblem.CHARACTERS),
        ("990105194912310023", IdentityNumberProblem.REGION),
        ("110105194902300021", IdentityNumberProblem.BIRTH_DATE),  # 30 February
        ("110105189912310021", IdentityNumberProblem.BIRTH_DATE),  # before 1900
        ("110105194912310021", IdentityNumberProblem.CHECK_CHARACTER),
    ],
)
def test_malformed_identity_numbers_name_their_problem(number, problem):
    assert identity_number_problem(number) == problem


def test_birth_date_in_the_future_is_refused():
    number = "11010520300101001"
    number += identity_number_check_character(number)

    assert identity_number_problem(number, today=date(2026, 11, 23)) == IdentityNumberProblem.BIRTH_DATE
