"""The sequences behind case and bundle numbers, taken outside the filing's transaction (ADR 28).

A number is region code + date + a sequence unique per region and day (DOMAIN.md), one row of
``CaseNumberSequence`` incremented by an atomic upsert. Taken inside a filing's transaction, that
row stayed locked until the filing committed: every filing of a county on a day waited for the one
before it to store its materials, open its first step, write its audit records and commit, and
every bundle of the province waited for the bundle before it (their numbers share one row). On
PostgreSQL the upsert now runs on a connection of its own in autocommit, as PostgreSQL's own
sequences do: the row is locked for the statement alone, and a filing that rolls back leaves its
number unused (a gap; numbers stay unique and increasing). SQLite has one writer at a time
whatever the rows, so there the upsert stays in the filing's transaction.

The connection is one per thread, made with the default database's settings (its pool, when
``DATABASE_POOL`` is on). It is closed at a request's start or end after an error, or once its
age is past where it has one; with ``CONN_MAX_AGE`` 0 and no pool it is kept (``_close_if_old``).
"""

import threading
import time
from datetime import date
from typing import Any

from django.core.signals import request_finished, request_started
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections

_UPSERT = (
    "INSERT INTO cases_casenumbersequence (region_code, day, last) VALUES (%s, %s, 1) "
    "ON CONFLICT (region_code, day) DO UPDATE SET last = cases_casenumbersequence.last + 1 "
    "RETURNING last"
)
_own = threading.local()


def sequence_next(*, key: str, day: date) -> int:
    """The next sequence number of ``key`` (a region code, or the bundles' prefix) on ``day``:
    1 for the first. On PostgreSQL taken and committed at once on the thread's own connection,
    whatever transaction the caller is in."""
    if connection.vendor != "postgresql":
        return _next_on(connection, key=key, day=day)
    try:
        return _next_on(_own_connection(), key=key, day=day)
    except DatabaseError:
        # A connection the server closed since (a restart, an idle timeout): once more on a
        # new one. A number the first attempt took without answering is left unused.
        sequences_close()
        return _next_on(_own_connection(), key=key, day=day)


def _next_on(wrapper: Any, *, key: str, day: date) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute(_UPSERT, [key, day])
        (sequence,) = cursor.fetchone()
    return int(sequence)


def _own_connection() -> Any:
    wrapper = getattr(_own, "wrapper", None)
    if wrapper is None:
        wrapper = connections.create_connection(DEFAULT_DB_ALIAS)
        _own.wrapper = wrapper
    return wrapper


def sequences_close() -> None:
    """Close the thread's own connection (the next number opens another)."""
    wrapper = getattr(_own, "wrapper", None)
    _own.wrapper = None
    if wrapper is not None:
        try:
            wrapper.close()
        except DatabaseError:
            pass  # already broken: nothing left to close


def _close_if_old(**_kwargs: Any) -> None:
    """At the start and end of each request: closed after an error, and past its age where the
    default connection has one (``CONN_MAX_AGE`` above 0) or comes from the pool (returned to it
    at the end of every request). With ``CONN_MAX_AGE`` 0 and no pool it is kept: a filing would
    otherwise open a connection for one statement, which cost more than the statement (8 ms a
    filing in one process, against well under 1 ms for the upsert). Decided without asking the
    server (``close_if_unusable_or_obsolete`` asks it): a request may come where the database is
    not to be touched, in tests."""
    wrapper = getattr(_own, "wrapper", None)
    if wrapper is None or wrapper.connection is None:
        return
    if wrapper.errors_occurred:
        sequences_close()
        return
    pooled = "pool" in (wrapper.settings_dict.get("OPTIONS") or {})
    aged = bool(wrapper.settings_dict.get("CONN_MAX_AGE")) or pooled
    if aged and wrapper.close_at is not None and time.monotonic() >= wrapper.close_at:
        sequences_close()


request_started.connect(_close_if_old, dispatch_uid="govhall.cases.sequences.started")
request_finished.connect(_close_if_old, dispatch_uid="govhall.cases.sequences.finished")
