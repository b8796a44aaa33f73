"""Addresses made for many values at once are the ones reverse() makes for each."""

import pytest
from django.urls import reverse

from govhall.paths import Addresses

ODD_VALUES = ["33010620261205000123", "000172000001-330106M", "西湖区", "a b?c#d", "100%", "~:@!$&'()*+,;="]


@pytest.mark.parametrize("value", ODD_VALUES)
@pytest.mark.parametrize(
    ("viewname", "argument"),
    [
        ("portal:guide", "implementation_code"),
        ("api-v1:implementation_detail", "implementation_code"),
        ("api-v1:workbench_case_detail", "number"),
    ],
)
def test_an_address_is_the_one_reverse_gives(viewname, argument, value):
    assert Addresses(viewname, argument)(value) == reverse(viewname, kwargs={argument: value})


@pytest.mark.parametrize("task_id", [1, 42, 987654321012345, 2**62])
def test_a_number_argument_takes_a_number_mark(task_id):
    addresses = Addresses("api-v1:task_act", "task_id", mark=987654321012345)

    assert addresses(task_id) == reverse("api-v1:task_act", kwargs={"task_id": task_id})


def test_the_script_prefix_is_the_one_when_the_addresses_were_made():
    from django.urls import set_script_prefix

    set_script_prefix("/govhall/")
    try:
        addresses = Addresses("portal:guide", "implementation_code")
        expected = reverse("portal:guide", kwargs={"implementation_code": "X1"})
    finally:
        set_script_prefix("/")

    assert expected.startswith("/govhall/") and addresses("X1") == expected
