import pytest

from govhall.accounts.models import Role
from tests.factories import HANGZHOU, PROVINCE, XIHU, make_staff


@pytest.fixture
def province_admin():
    return make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=PROVINCE)


@pytest.fixture
def hangzhou_admin():
    return make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=HANGZHOU)


@pytest.fixture
def xihu_admin():
    return make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=XIHU)


@pytest.fixture
def hangzhou_reviewer():
    return make_staff(role=Role.CATALOGUE_REVIEWER, region_code=HANGZHOU)


@pytest.fixture
def province_reviewer_user():
    return make_staff(role=Role.CATALOGUE_REVIEWER, region_code=PROVINCE)
