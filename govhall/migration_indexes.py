"""Dropping indexes in a migration without touching what they index (ADR 17).

Django removes a foreign key's index by dropping and adding the constraint again, and adding it
checks every row: minutes on a table of tens of millions of timeline events, under a lock. The
migrations that drop indexes no lookup uses therefore say so in their state only and drop the
indexes by name here (the same names on PostgreSQL and SQLite; a name missing is skipped). Going
back builds them again.
"""

from collections.abc import Sequence
from typing import Any

from django.db import migrations


def indexes_dropped(
    indexes: Sequence[tuple[str, str, str]],
    *,
    postgresql: Sequence[tuple[str, str]] = (),
    others: Sequence[tuple[str, str]] = (),
) -> migrations.RunPython:
    """``indexes`` as (name, table, columns as written in CREATE INDEX; an operator class such
    as ``varchar_pattern_ops`` marks a PostgreSQL-only index); then (forwards SQL, backwards SQL)
    pairs, ``postgresql`` on PostgreSQL and ``others`` elsewhere, in order (backwards in reverse)."""

    def forwards(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        for name, _table, _columns in indexes:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')
        for sql, _reverse in postgresql if vendor == "postgresql" else others:
            schema_editor.execute(sql)

    def backwards(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        for _sql, reverse in reversed(postgresql if vendor == "postgresql" else others):
            schema_editor.execute(reverse)
        for name, table, columns in indexes:
            if vendor != "postgresql" and "_ops" in columns:
                continue  # an operator class: PostgreSQL's own pattern index
            schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ({columns})')

    return migrations.RunPython(forwards, backwards, elidable=False)
