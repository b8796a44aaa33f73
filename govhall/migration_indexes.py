"""Dropping indexes in a migration without touching what they index (ADR 17), and replacing an
index while writes go on.

Django removes a foreign key's index by dropping and adding the constraint again, and adding it
checks every row: minutes on a table of tens of millions of timeline events, under a lock. The
migrations that drop indexes no lookup uses therefore say so in their state only and drop the
indexes by name here (the same names on PostgreSQL and SQLite; a name missing is skipped). Going
back builds them again.

An index added to (or removed from) a table of millions of rows by Django's ``AddIndex`` holds a
lock that stops every write for the time of the build: 12 s for the cases' applicant index at 10
million cases, during which no one could file. ``AddIndexOnline`` and ``RemoveIndexOnline`` build
and drop it with PostgreSQL's ``CONCURRENTLY``, so filings go on; elsewhere (SQLite) they are
Django's own. Their migration sets ``atomic = False`` (PostgreSQL builds concurrently only outside
a transaction).
"""

from collections.abc import Sequence
from typing import Any

from django.db import migrations
from django.db.migrations.state import ProjectState


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


def _concurrently(schema_editor: Any) -> dict[str, bool]:
    if schema_editor.connection.vendor != "postgresql":
        return {}
    if schema_editor.connection.in_atomic_block:
        raise RuntimeError("an index is built concurrently outside a transaction: set atomic = False on the migration")
    return {"concurrently": True}


class AddIndexOnline(migrations.AddIndex):
    """``AddIndex``, built with ``CREATE INDEX CONCURRENTLY`` on PostgreSQL."""

    atomic = False

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.add_index(model, self.index, **_concurrently(schema_editor))

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.remove_index(model, self.index, **_concurrently(schema_editor))


class RemoveIndexOnline(migrations.RemoveIndex):
    """``RemoveIndex``, dropped with ``DROP INDEX CONCURRENTLY`` on PostgreSQL."""

    atomic = False

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = from_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            schema_editor.remove_index(model, index, **_concurrently(schema_editor))

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = to_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            schema_editor.add_index(model, index, **_concurrently(schema_editor))
