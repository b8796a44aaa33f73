"""How PostgreSQL's ``timestamptz`` values are read: by psycopg's C loader (ADR 30).

Django's PostgreSQL backend registers its own loader for ``timestamptz`` on every connection
(``BaseTzLoader``). It derives from psycopg's pure-Python loader, because psycopg's C loader
cannot be subclassed, so each value read is parsed by a regular expression in Python and then
given Django's time zone by ``replace``. On the officer's to-do list (50 rows) that was about a
tenth of the request's time in one process (a py-spy profile, thirty-ninth session).

Where Django's time zone for the connection is UTC (``USE_TZ`` on and no ``TIME_ZONE`` for the
database, as govhall runs), Django sets the session's time zone to UTC, and psycopg's C loader
already returns each value in the session's time zone, as ``datetime.timezone.utc``: Django's
``replace`` changes nothing. Then the class registered for ``timestamptz`` answers Django's
check of the loader's ``timezone`` and, when psycopg makes a loader of it for a result's
column, hands over a C loader instead, whose values psycopg reads without calling Python.
Elsewhere (another time zone, no C implementation) Django's loader is left as it is.
"""

import datetime
from typing import Any

from django.conf import settings
from django.db import connections


def timestamptz_loaded_in_c() -> bool:
    """Registers the C loader for ``timestamptz`` in the adapters Django gives every new
    connection of the default database, where it reads the same values. True when it did."""
    settings_dict = connections["default"].settings_dict
    if settings_dict["ENGINE"] != "django.db.backends.postgresql" or not settings.USE_TZ:
        return False
    if settings_dict.get("TIME_ZONE") is not None:
        return False
    try:
        from django.db.backends.postgresql.psycopg_any import get_adapters_template
        from psycopg import adapters
        from psycopg.pq import Format
    except ImportError:  # psycopg 2: Django's tzinfo_factory, not a loader
        return False
    oid = adapters.types["timestamptz"].oid
    found = adapters.get_loader(oid, Format.TEXT)
    if found is None or not found.__module__.startswith(("psycopg_binary.", "psycopg_c.")):
        return False  # psycopg's Python implementation: Django's loader is no slower
    c_loader: type[Any] = found
    utc = datetime.UTC
    # The same map Django passes as each connection's context (it keeps it by these arguments).
    template = get_adapters_template(True, utc)

    class TimestamptzLoaderInC:
        """Answers Django's ``tzloader.timezone``; made into psycopg's C loader."""

        timezone = utc
        format = c_loader.format

        def __new__(cls, oid: int, context: Any = None) -> Any:
            return c_loader(oid, context)

    template.register_loader("timestamptz", TimestamptzLoaderInC)
    return True
