"""The OIDC flow test runs against live_server, so its data is committed and every table is
emptied when it ends (pytest-django's transactional_db). As in tests/browser/conftest.py: the
audit table's append-only triggers are lifted for that flush on SQLite, and the regions loaded
once per session are put back for the tests that follow in the same worker."""

import importlib

import pytest
from django.db import connection, transaction
from pytest_django.plugin import blocking_manager_key

from govhall.org.models import Region


def _audit_triggers(*, lift: bool) -> None:
    if connection.vendor != "sqlite":
        return
    append_only = importlib.import_module("govhall.audit.migrations.0002_append_only")
    with connection.schema_editor() as editor:
        (append_only.backwards if lift else append_only.forwards)(None, editor)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    if "live_server" not in getattr(item, "fixturenames", ()):
        return (yield)
    blocker = item.config.stash[blocking_manager_key]
    with blocker.unblock():
        regions = list(Region.objects.order_by("level", "code").values())
        _audit_triggers(lift=True)
    try:
        return (yield)
    finally:
        with blocker.unblock():
            _audit_triggers(lift=False)
            if regions and not Region.objects.exists():
                with transaction.atomic():
                    Region.objects.bulk_create(Region(**row) for row in regions)
