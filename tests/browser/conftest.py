"""Browser tests: Playwright's sync API driving Debian's chromium against pytest-django's live_server.

Two things make the two work together:

* Playwright's sync API keeps an asyncio loop marked as running in the main thread for as long as
  it is started, and Django refuses ORM calls from such a thread (SynchronousOnlyOperation). The
  loop is Playwright's own and no coroutine of a test touches the database, so that check is
  lifted (``DJANGO_ALLOW_ASYNC_UNSAFE``) for exactly as long as Playwright runs: the browser is
  package-scoped, so it starts before the first browser test of a worker and stops after the
  last one, and no other test sees the loop or the lifted check. (For the same reason these
  tests cannot run under an asyncio plugin's loop.)
* live_server answers from its own thread, so the data a test makes must be committed and every
  table is emptied when the test ends; tests/conftest.py lifts the audit triggers for that flush
  on SQLite and puts the session's regions back, for every live_server test.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

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


@pytest.fixture(scope="package")
def browser(django_db_setup, django_db_blocker) -> Iterator:
    """One headless chromium for all the browser tests a worker runs."""
    if not CHROMIUM.exists():
        reason = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

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
