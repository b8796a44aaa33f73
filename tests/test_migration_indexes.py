"""Indexes replaced on a large table without stopping writes (govhall/migration_indexes.py)."""

from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import connection

from govhall.migration_indexes import _concurrently


def test_the_applicants_index_is_built_and_the_old_one_dropped_concurrently_on_postgresql(transactional_db):
    # sqlmigrate, as migrate, outside a transaction; the fixture by name, so that the regions the
    # emptied tables lose are put back for the tests that follow (tests/conftest.py).
    if connection.vendor != "postgresql":
        pytest.skip("CONCURRENTLY is PostgreSQL's")
    out = StringIO()
    call_command("sqlmigrate", "cases", "0014", stdout=out)
    sql = out.getvalue()
    assert 'CREATE INDEX CONCURRENTLY "case_applicant_created" ON "cases_case"' in sql
    assert 'DROP INDEX CONCURRENTLY IF EXISTS "cases_case_applica_a13800_idx"' in sql
    assert "BEGIN" not in sql  # the migration runs outside a transaction


def editor(vendor, *, in_transaction=False):
    return SimpleNamespace(connection=SimpleNamespace(vendor=vendor, in_atomic_block=in_transaction))


def test_other_databases_build_the_index_as_django_does():
    assert _concurrently(editor("sqlite")) == {}


def test_postgresql_builds_concurrently_and_refuses_inside_a_transaction():
    assert _concurrently(editor("postgresql")) == {"concurrently": True}
    with pytest.raises(RuntimeError, match="atomic = False"):
        _concurrently(editor("postgresql", in_transaction=True))
