import importlib

import pytest
from django.db import connection, transaction
from django.utils import translation
from pytest_django.plugin import blocking_manager_key

from govhall.org.models import Region


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Regions are reference data every test needs: load them once into the (reused) test database."""
    from govhall.org.services import regions_load

    with django_db_blocker.unblock():
        if not Region.objects.exists():
            regions_load()


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """LocaleMiddleware leaves the request's language active in the thread after a test client
    request; without this reset a test that asks for English would turn later tests' labels English."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _empty_cache_before_each_test():
    """Rolled-back tests reuse primary keys: a cached guide body (keyed by implementation and
    version) from one test must not answer for another test's implementation; nor must the rows
    kept in the process (versions' steps and materials, case definitions), since a test may run
    commit callbacks and then roll back."""
    from django.core.cache import cache

    from govhall.cases.services import _definitions_kept
    from govhall.catalog.selectors import _application_parts_kept

    cache.clear()
    _application_parts_kept.clear()
    _definitions_kept.clear()


# A live_server (or transactional_db) test's data is committed, and pytest-django's transactional_db empties every
# table when it ends. On SQLite that emptying is a DELETE, which the audit table's append-only
# triggers refuse, so they are lifted for the flush only; and the regions loaded once per session
# are put back for the tests that follow in the same worker.
def _audit_triggers(*, lift: bool) -> None:
    if connection.vendor != "sqlite":
        return
    append_only = importlib.import_module("govhall.audit.migrations.0002_append_only")
    with connection.schema_editor() as editor:
        (append_only.backwards if lift else append_only.forwards)(None, editor)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    if not {"live_server", "transactional_db"} & set(getattr(item, "fixturenames", ())):
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


# What emptied the process's cache, for a failing test's report. Four tests that read a value
# kept in the cache between two calls (a kept page, the catalogue's version, an upload counter)
# once failed together on one CI worker and passed on the rerun; a full local run recorded no
# cull and no clear outside the tests' own. A failing test's report now says what the cache saw
# while it ran (clears and culls with where they came from, the threads alive, how far each
# clock moved), so the next such failure names its cause.
_CACHE_EVENTS: list[str] = []


def _cache_events_record() -> None:
    import threading
    import traceback

    from django.core.cache.backends import locmem

    def recorded(method):
        def wrapper(self, *args, **kwargs):
            frames = traceback.extract_stack(limit=8)[:-1]
            where = " < ".join(f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" for frame in reversed(frames))
            _CACHE_EVENTS.append(
                f"{method.__name__} of {len(self._cache)} entries in {threading.current_thread().name}: {where}"
            )
            return method(self, *args, **kwargs)

        return wrapper

    locmem.LocMemCache.clear = recorded(locmem.LocMemCache.clear)
    locmem.LocMemCache._cull = recorded(locmem.LocMemCache._cull)


def pytest_configure(config: pytest.Config) -> None:
    _cache_events_record()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    import threading
    import time

    _CACHE_EVENTS.clear()
    wall, monotonic = time.time(), time.monotonic()
    try:
        return (yield)
    except BaseException:
        threads = sorted(thread.name for thread in threading.enumerate() if thread is not threading.main_thread())
        lines = [
            f"wall clock moved {time.time() - wall:.3f} s, monotonic clock {time.monotonic() - monotonic:.3f} s",
            f"other threads alive: {threads}",
            *(_CACHE_EVENTS or ["no clear and no cull of the process's cache"]),
        ]
        item.add_report_section("call", "cache", "\n".join(lines))
        raise
