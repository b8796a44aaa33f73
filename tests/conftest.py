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
# failed together on one CI worker twice and passed on the rerun; a full local run recorded no
# cull and no clear outside the tests' own, nor did the failing runs. A failing test's report now
# says what the cache saw while it ran: clears and culls with where they came from, every entry
# removed (by a delete or because it expired, against which clock), every write from a thread
# other than the test's, the threads alive, how far each clock moved, and the files the worker
# ran before, so the next such failure names its cause and can be run again in that order.
_CACHE_EVENTS: list[str] = []
_TESTS_RUN: list[str] = []


def _cache_events_record() -> None:
    import threading
    import time
    import traceback

    from django.core.cache.backends import locmem

    def where() -> str:
        frames = traceback.extract_stack(limit=9)[:-2]
        return " < ".join(f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" for frame in reversed(frames))

    def recorded(method):
        def wrapper(self, *args, **kwargs):
            _CACHE_EVENTS.append(
                f"{method.__name__} of {len(self._cache)} entries in {threading.current_thread().name}: {where()}"
            )
            return method(self, *args, **kwargs)

        return wrapper

    def deleted(method):
        def wrapper(self, key, *args, **kwargs):
            expiry = self._expire_info.get(key, -1)
            _CACHE_EVENTS.append(
                f"_delete {key!r} (expiry {expiry}, time.time() {time.time():.3f}) in "
                f"{threading.current_thread().name}: {where()}"
            )
            return method(self, key, *args, **kwargs)

        return wrapper

    def written_elsewhere(method):
        def wrapper(self, key, *args, **kwargs):
            if threading.current_thread() is not threading.main_thread():
                _CACHE_EVENTS.append(f"{method.__name__} {key!r} in {threading.current_thread().name}: {where()}")
            return method(self, key, *args, **kwargs)

        return wrapper

    locmem.LocMemCache.clear = recorded(locmem.LocMemCache.clear)
    locmem.LocMemCache._cull = recorded(locmem.LocMemCache._cull)
    locmem.LocMemCache._delete = deleted(locmem.LocMemCache._delete)
    for name in ("_set", "incr"):
        setattr(locmem.LocMemCache, name, written_elsewhere(getattr(locmem.LocMemCache, name)))


def pytest_configure(config: pytest.Config) -> None:
    _cache_events_record()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    import threading
    import time

    _CACHE_EVENTS.clear()
    _TESTS_RUN.append(item.nodeid)
    wall, monotonic = time.time(), time.monotonic()
    try:
        return (yield)
    except BaseException:
        threads = sorted(thread.name for thread in threading.enumerate() if thread is not threading.main_thread())
        files = list(dict.fromkeys(nodeid.split("::", 1)[0] for nodeid in _TESTS_RUN))
        lines = [
            f"wall clock moved {time.time() - wall:.3f} s, monotonic clock {time.monotonic() - monotonic:.3f} s",
            f"other threads alive: {threads}",
            *(_CACHE_EVENTS or ["no clear, cull, removal, nor write from another thread in the process's cache"]),
            f"files this worker ran, in order ({len(_TESTS_RUN)} tests): {' '.join(files)}",
        ]
        item.add_report_section("call", "cache", "\n".join(lines))
        raise
