"""Browser tests: Playwright's sync API driving Debian's chromium against pytest-django's live_server.

Three things are arranged here so that the two work together:

* Playwright's sync API keeps an asyncio loop marked as running in the main thread for as long as
  it is started, and Django refuses ORM calls from such a thread (SynchronousOnlyOperation). The
  loop is Playwright's own and no coroutine of a test touches the database, so that check is
  lifted (``DJANGO_ALLOW_ASYNC_UNSAFE``) for exactly as long as Playwright runs: the browser is
  package-scoped, so it starts before the first browser test of a worker and stops after the
  last one, and no other test sees the loop or the lifted check. (For the same reason these
  tests cannot run under an asyncio plugin's loop.)
* live_server answers from its own thread, on PostgreSQL with its own connection, so the data a
  test makes must be committed: pytest-django runs every live_server test with
  ``transactional_db``, which empties every table when the test ends. The regions that
  tests/conftest.py loads once per session are put back after each browser test, so the tests
  that run after them in the same worker still have them.
* On SQLite that emptying is a DELETE, which the audit table's append-only triggers refuse; the
  triggers are lifted for the flush only and put back at once. (PostgreSQL empties tables with
  TRUNCATE, which the row triggers there do not see.)
"""

import importlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection, transaction
from pytest_django.plugin import blocking_manager_key

from govhall.org.models import Region

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
_region_rows: list[dict] = []


@pytest.fixture(scope="package")
def browser(django_db_setup, django_db_blocker) -> Iterator:
    """One headless chromium for all the browser tests a worker runs."""
    if not CHROMIUM.exists():
        reason = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with django_db_blocker.unblock():
        _region_rows[:] = list(Region.objects.order_by("level", "code").values())
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture
def page(browser, live_server) -> Iterator:
    """A fresh browser context (no cookies) in Chinese, with addresses relative to the live server."""
    context = browser.new_context(locale="zh-CN", base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def _audit_triggers(*, lift: bool) -> None:
    if connection.vendor != "sqlite":
        return
    append_only = importlib.import_module("govhall.audit.migrations.0002_append_only")
    with connection.schema_editor() as editor:
        (append_only.backwards if lift else append_only.forwards)(None, editor)


def _regions_restore() -> None:
    if not _region_rows or Region.objects.exists():
        return
    with transaction.atomic():
        Region.objects.bulk_create(Region(**row) for row in _region_rows)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """Around the flush that ends a live_server test: lift the audit triggers, then restore."""
    uses_live_server = "live_server" in getattr(item, "fixturenames", ())
    blocker = item.config.stash[blocking_manager_key]
    if uses_live_server:
        with blocker.unblock():
            _audit_triggers(lift=True)
    try:
        return (yield)
    finally:
        if uses_live_server:
            with blocker.unblock():
                _audit_triggers(lift=False)
                _regions_restore()
