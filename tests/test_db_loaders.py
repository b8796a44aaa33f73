"""govhall.db_loaders: timestamptz values read by psycopg's C loader are the values Django's
own loader reads (ADR 30)."""

import datetime

import pytest
from django.db import connection

from govhall.accounts.models import User

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a loader of psycopg's, for PostgreSQL"),
]

# Offsets of whole hours, of minutes and of seconds (historical zones), fractions of each
# length, the first and the last years a datetime holds, a leap second's neighbour.
LITERALS = [
    "2026-12-07 10:00:00+08",
    "2026-12-07 10:00:00.5+08",
    "2026-01-01 00:00:00.123456-03:30",
    "1999-12-31 23:59:59.1-09:30",
    "2016-12-31 23:59:59.999999+00",
    "1901-12-13 20:45:52+05:53:28",
    "0001-01-01 08:05:43+08:05:43",
    "9999-12-31 15:59:59.99999-08",
    "2024-02-29 12:00:00.01+14",
]


def _read(cursor):
    cursor.execute("SELECT " + ", ".join(f"'{literal}'::timestamptz" for literal in LITERALS))
    return cursor.fetchone()


def test_each_cursor_reads_timestamptz_by_the_c_loader():
    from psycopg import adapters
    from psycopg.pq import Format

    oid = adapters.types["timestamptz"].oid
    with connection.cursor() as cursor:
        loader = cursor.cursor.adapters.get_loader(oid, Format.TEXT)
        # Django's check passes, so it registers no loader of its own on the cursor …
        assert loader.timezone is datetime.UTC
        # … and what psycopg makes of the class for a column is its C loader.
        made = loader(oid, cursor.cursor)
        assert type(made) is adapters.get_loader(oid, Format.TEXT)
        assert type(made).__module__.startswith(("psycopg_binary.", "psycopg_c."))


def test_the_values_read_are_django_loaders_values():
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    with connection.cursor() as cursor:
        read = _read(cursor)
    with connection.cursor() as cursor:
        register_tzloader(datetime.UTC, cursor.cursor)  # Django's Python loader, on this cursor alone
        by_django = _read(cursor)
    assert read == by_django
    for value, django_value in zip(read, by_django, strict=True):
        assert value.tzinfo is datetime.UTC is django_value.tzinfo
        assert (value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond) == (
            django_value.year,
            django_value.month,
            django_value.day,
            django_value.hour,
            django_value.minute,
            django_value.second,
            django_value.microsecond,
        )
    assert read[1] == datetime.datetime(2026, 12, 7, 2, 0, 0, 500000, tzinfo=datetime.UTC)
    assert read[5] == datetime.datetime(1901, 12, 13, 14, 52, 24, tzinfo=datetime.UTC)


def test_a_models_datetime_comes_back_as_it_was_written():
    written = datetime.datetime(2026, 12, 7, 21, 53, 42, 123456, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
    user = User.objects.create_user(username="clock-reader", password="a-long-test-password", last_login=written)
    read = User.objects.values_list("last_login", flat=True).get(pk=user.pk)
    assert read == written
    assert read.tzinfo is datetime.UTC
