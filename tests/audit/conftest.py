"""The concurrency test commits from several threads, so it runs with ``transactional_db``, which
empties every table when it ends (TRUNCATE on PostgreSQL, the only database it runs on). The
regions that tests/conftest.py loads once per session are put back after it, so the tests that
run after it in the same worker still have them."""

import pytest
from django.db import transaction
from pytest_django.plugin import blocking_manager_key

from govhall.org.models import Region

_region_rows: list[dict] = []


@pytest.fixture
def regions_kept(django_db_blocker):
    with django_db_blocker.unblock():
        _region_rows[:] = list(Region.objects.order_by("level", "code").values())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    try:
        return (yield)
    finally:
        if "regions_kept" in getattr(item, "fixturenames", ()) and _region_rows:
            with item.config.stash[blocking_manager_key].unblock():
                if not Region.objects.exists():
                    with transaction.atomic():
                        Region.objects.bulk_create(Region(**row) for row in _region_rows)
