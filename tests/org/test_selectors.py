"""Reads of the region tree."""

import pytest

from govhall.org.models import Region
from govhall.org.selectors import region_scope_codes
from tests.factories import HANGZHOU, PROVINCE, XIHU

pytestmark = pytest.mark.django_db


def test_a_regions_scope_is_itself_and_every_region_above_it_nearest_first():
    town = Region.objects.filter(parent_id=XIHU).values_list("code", flat=True).first()

    assert region_scope_codes(region_code=XIHU) == [XIHU, HANGZHOU, PROVINCE]
    assert region_scope_codes(region_code=PROVINCE) == [PROVINCE]
    assert region_scope_codes(region_code="999999") == []
    if town:
        assert region_scope_codes(region_code=town) == [town, XIHU, HANGZHOU, PROVINCE]
