"""Query helpers shared by the apps' selectors."""

import datetime
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import DatabaseError, connections, router, transaction
from django.db.models import Field, Model, QuerySet, signals

Row = TypeVar("Row")
M = TypeVar("M", bound=Model)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def unique_or_none(queryset: QuerySet[Any, Row]) -> Row | None:
    """The row a lookup by a unique key finds, or None. Unlike ``first()``, without an ORDER BY:
    Django matches each ordering column against the selected ones (about a hundred when related
    rows are joined), which took longer than running the query (a case by its number: about
    1 ms of a 2 ms read). Also for a row read as values."""
    return next(iter(queryset.order_by()[:1]), None)


# ---------------------------------------------------------------------------------------------
# A lookup made on every request, compiled once per process


@dataclass(frozen=True)
class _Compiled:
    alias: str
    sql: str
    # Each parameter: the index of a looked-up value and the type the backend adapted it to, or
    # None and a constant.
    parameters: list[tuple[int | None, Any]]
    klass_info: dict[str, Any] | None  # None for values
    attnames: list[str | None]  # of each selected column (None for an annotation)
    annotations: list[tuple[str, int]]  # each annotation's name and column, set on the model built
    converted: list[tuple[int, Any]]  # the columns whose field converts the database's value


# By lookup name, filled once per process: the SQL depends only on the models, and the database
# is the one the router reads the model from.
_compiled: dict[str, _Compiled] = {}


def unique_or_none_compiled(name: str, queryset: Callable[..., QuerySet[M, M]], *values: Any) -> M | None:
    """``unique_or_none(queryset(*values))``, with the statement compiled by the ORM once per
    process instead of on every call, and the models (the related ones that ``queryset`` selects
    too) built from the row as the ORM builds them. For lookups every request makes: the API's
    access token with its client and user, whose compiling took 0.6 ms of a 1.0 ms read.

    ``queryset(*values)`` must depend on ``values`` and on constants only (never on today's date
    or a setting read per call): its other parameters are kept with the statement. ``name``
    names the lookup."""
    found = list_compiled(name, lambda *given: queryset(*given).order_by()[:1], *values)
    return found[0] if found else None


def list_compiled(name: str, queryset: Callable[..., QuerySet[M, M]], *values: Any) -> list[M]:
    """``list(queryset(*values))`` compiled once per process as in ``unique_or_none_compiled``
    (a case's timeline and open tasks, which every case page and action answer lists)."""
    prepared = _prepared(name, queryset, values)
    if isinstance(prepared, QuerySet):
        return list(prepared)
    assert prepared.klass_info is not None
    info, attnames, alias = prepared.klass_info, prepared.attnames, prepared.alias
    rows = _rows(prepared, values)
    built = [_built(row, info, attnames, alias) for row in rows]
    if prepared.annotations:
        # As the ORM's ModelIterable sets them: on the queryset's own model.
        for instance, row in zip(built, rows, strict=True):
            for attname, index in prepared.annotations:
                setattr(instance, attname, row[index])
    return built


def values_list_compiled(name: str, queryset: Callable[..., QuerySet[Any, Any]], *values: Any) -> list[list[Any]]:
    """The rows of ``queryset(*values)``, a ``values_list`` query, compiled once per process as in
    ``unique_or_none_compiled`` (for the staff member's roles, which every staff request reads)."""
    prepared = _prepared(name, queryset, values)
    if isinstance(prepared, QuerySet):
        return [list(row) for row in prepared]
    return _rows(prepared, values)


def _prepared(name: str, queryset: Callable[..., QuerySet[Any, Any]], values: tuple[Any, ...]) -> Any:
    """The lookup's compiled statement, or, while it cannot be compiled (a value equal to another
    parameter: which is which is unknown), ``queryset(*values)`` for the ORM to answer."""
    compiled = _compiled.get(name)
    if compiled is not None:
        return compiled
    probe = queryset(*values)
    return _compile(name, probe, values) or probe


def _same(param: Any, value: Any) -> bool:
    """Whether a statement's parameter is ``value``, as given or as the backend adapted it
    (psycopg's Int4 for a small integer column is an int; SQLite's ISO text for a date, which
    ``_adapted`` makes again with ``str``)."""
    if isinstance(param, bool) != isinstance(value, bool):
        return False
    if isinstance(param, str) and type(value) is datetime.date:
        return param == value.isoformat()
    return isinstance(param, type(value)) and param == value


def _adapted(value: Any, kind: type) -> Any:
    return value if type(value) is kind else kind(value)


def _compile(name: str, queryset: QuerySet[Any, Any], values: tuple[Any, ...]) -> _Compiled | None:
    """The statement of ``queryset`` with the place of each value among its parameters; None
    when a value equals another parameter too (it is compiled at a later call)."""
    alias = router.db_for_read(queryset.model)
    compiler = queryset.query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    parameters: list[tuple[int | None, Any]] = []
    for param in params:
        matching = [index for index, value in enumerate(values) if _same(param, value)]
        if len(matching) > 1:
            return None
        parameters.append((matching[0], type(param)) if matching else (None, param))
    placed = [index for index, _constant in parameters if index is not None]
    if sorted(placed) != list(range(len(values))):
        if len(placed) > len(set(placed)):
            return None
        raise ValueError("a compiled lookup takes each looked-up value as one parameter of its statement")
    columns = [column for column, _sql, _alias in compiler.select]
    compiled = _compiled[name] = _Compiled(
        alias=alias,
        sql=sql,
        parameters=parameters,
        klass_info=compiler.klass_info,
        attnames=[column.target.attname if hasattr(column, "target") else None for column in columns],
        annotations=list(compiler.annotation_col_map.items()) if compiler.klass_info is not None else [],
        converted=[(index, columns[index]) for index in compiler.get_converters(columns)],
    )
    return compiled


def _rows(compiled: _Compiled, values: tuple[Any, ...]) -> list[list[Any]]:
    connection = connections[compiled.alias]
    params = [
        constant if index is None else _adapted(values[index], constant) for index, constant in compiled.parameters
    ]
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, params)
        rows = [list(row) for row in cursor.fetchall()]
    # The converters of this thread's connection, as the ORM applies them (SQLite gives text for
    # a date and time, for example).
    for index, column in compiled.converted:
        functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        for row in rows:
            for function in functions:
                row[index] = function(row[index], column, connection)
    return rows


def _built(row: list[Any], info: dict[str, Any], attnames: list[str], alias: str) -> Any:
    """One model of the row and its related ones, as django.db.models.query.RelatedPopulator
    builds them (a missing related row, a NULL key, gives None)."""
    model = info["model"]
    fields = info["select_fields"]
    names = [attnames[index] for index in fields]
    if row[fields[names.index(model._meta.pk.attname)]] is None:
        return None
    instance = model.from_db(alias, names, [row[index] for index in fields])
    for related in info.get("related_klass_infos", []):
        other = _built(row, related, attnames, alias)
        related["local_setter"](instance, other)
        if other is not None:
            related["remote_setter"](other, instance)
    return instance


# ---------------------------------------------------------------------------------------------
# Rows written on every action, each statement built once per process
#
# ``Model.save()`` and ``Manager.create()`` build the statement anew on every call (an
# InsertQuery or UpdateQuery, its compiler, the quoted names): about 0.2 ms of CPU of a 0.4 ms
# insert and 0.25 ms of a 0.4 ms update on the twentieth session's machine, and an acceptance
# writes seven rows. The three below write what ``save`` and ``bulk_create`` write, with the same
# pre_save and post_save signals, the statement built once per model, database and columns
# (ADR 20).


@dataclass(frozen=True)
class _Write:
    sql: str
    fields: list[Field[Any, Any]]  # whose values are the statement's parameters, in order
    inserts: bool  # an INSERT returning the new primary key, else an UPDATE by primary key


# None: this model is written by ``save`` (see ``_insert_statement``).
_writes: dict[tuple[Any, ...], _Write | None] = {}


def _insert_statement(model: type[Model], alias: str, rows: int = 1) -> _Write | None:
    """``INSERT … RETURNING`` the primary key, for a model ``save`` writes to one table with an
    automatic primary key and no column whose placeholder depends on its value; of ``rows``
    rows, the keys read back in their order (as ``bulk_create`` reads them on PostgreSQL and
    SQLite), where the database can return several."""
    key = ("insert", model, alias, rows)
    if key in _writes:
        return _writes[key]
    meta = model._meta
    connection = connections[alias]
    fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field]
    statement = None
    if (
        meta.auto_field is not None
        and not meta.parents
        and not meta.proxy
        and list(meta.db_returning_fields) == [meta.pk]
        and connection.features.can_return_columns_from_insert
        and (rows == 1 or connection.features.can_return_rows_from_bulk_insert)
        and not any(field.generated or hasattr(field, "get_placeholder") for field in fields)
    ):
        ops: Any = connection.ops  # PostgreSQL's and SQLite's operations read back inserted columns
        quote = ops.quote_name
        returning, _returning_params = ops.return_insert_columns([meta.pk])
        row = f"({', '.join(['%s'] * len(fields))})"
        statement = _Write(
            sql=(
                f"{connection.ops.insert_statement()} {quote(meta.db_table)} "
                f"({', '.join(quote(field.column) for field in fields)}) "
                f"VALUES {', '.join([row] * rows)} {returning}"
            ),
            fields=fields,
            inserts=True,
        )
    _writes[key] = statement
    return statement


def _update_statement(model: type[Model], alias: str, names: tuple[str, ...]) -> _Write | None:
    """``UPDATE … SET`` the columns named (by field name or attribute name) ``WHERE`` the primary
    key; None when a name is not a column of the model (``save`` says why)."""
    key = ("update", model, alias, names)
    if key in _writes:
        return _writes[key]
    meta = model._meta
    connection = connections[alias]
    fields = [
        field
        for field in meta.local_concrete_fields
        if not field.primary_key and (field.name in names or field.attname in names)
    ]
    known = {field.name for field in fields} | {field.attname for field in fields}
    statement = None
    if (
        not meta.parents
        and not meta.proxy
        and set(names) <= known
        and not any(field.generated or hasattr(field, "get_placeholder") for field in fields)
    ):
        quote: Any = connection.ops.quote_name
        columns = ", ".join(f"{quote(field.column)} = %s" for field in fields)
        statement = _Write(
            # The model's own quoted names; every value is a parameter.
            sql=f"UPDATE {quote(meta.db_table)} SET {columns} WHERE {quote(meta.pk.column)} = %s",  # noqa: S608
            fields=fields,
            inserts=False,
        )
    _writes[key] = statement
    return statement


def _expression(instance: Model, fields: list[Field[Any, Any]]) -> bool:
    """Whether a value to write is an expression (``F("n") + 1``), which ``save`` compiles."""
    return any(hasattr(getattr(instance, field.attname), "resolve_expression") for field in fields)


def _written(alias: str, statement: _Write, params: list[Any]) -> Any:
    """Run ``statement`` as ``save`` does: an error marks the surrounding transaction for
    rollback. The inserted row's primary key, or the number of rows updated."""
    connection = connections[alias]
    with transaction.mark_for_rollback_on_error(alias), connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        if statement.inserts:
            ops: Any = connection.ops
            return ops.fetch_returned_insert_columns(cursor, [])[0]
        return cursor.rowcount


def insert_compiled(instance: M, *, send_signals: bool = True) -> M:
    """``instance.save(force_insert=True)`` (what ``Manager.create`` does) for a new row, with
    the statement built once per process: the related rows' keys checked and taken, the fields'
    ``pre_save`` (times set on creation), the primary key read back, the pre_save and post_save
    signals; without ``send_signals``, as ``bulk_create`` writes a row (no signals). An
    expression among the values, a primary key already set or a model the statement cannot be
    built for is written by the ORM."""
    model = type(instance)
    alias = router.db_for_write(model, instance=instance)
    statement = _insert_statement(model, alias)
    if statement is None or instance.pk is not None or _expression(instance, statement.fields):
        if send_signals:
            instance.save(force_insert=True, using=alias)
        else:
            model._base_manager.using(alias).bulk_create([instance])
        return instance
    instance._prepare_related_fields_for_save(  # type: ignore[attr-defined]  # what save() calls first
        operation_name="save" if send_signals else "bulk_create"
    )
    if send_signals:
        signals.pre_save.send(sender=model, instance=instance, raw=False, using=alias, update_fields=None)
    connection = connections[alias]
    params = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in statement.fields]
    setattr(instance, model._meta.pk.attname, _written(alias, statement, params))
    instance._state.adding = False
    instance._state.db = alias
    if send_signals:
        signals.post_save.send(
            sender=model, instance=instance, created=True, update_fields=None, raw=False, using=alias
        )
    return instance


# Rows one statement inserts by ``rows_insert``'s compiled statements; more go to the ORM.
ROWS_COMPILED_AT_MOST = 16


def rows_insert(instances: list[M]) -> list[M]:
    """``bulk_create(instances)`` of one model (no signals): one row, the usual case of an
    action's new task or its audit record, by ``insert_compiled``; several (a filing's
    materials and their audit records, a parallel step's tasks) in one statement built once
    per model and number of rows, up to ``ROWS_COMPILED_AT_MOST``: the ORM's ``bulk_create``
    built it anew, a seventh of a filing's time in one process (thirty-eighth session). An
    expression among the values, a primary key already set or more rows go to the ORM."""
    if len(instances) == 1:
        insert_compiled(instances[0], send_signals=False)
        return instances
    if not instances:
        return instances
    model = type(instances[0])
    alias = router.db_for_write(model, instance=instances[0])
    statement = _insert_statement(model, alias, len(instances)) if len(instances) <= ROWS_COMPILED_AT_MOST else None
    if (
        statement is None
        or any(type(instance) is not model or instance.pk is not None for instance in instances)
        or any(_expression(instance, statement.fields) for instance in instances)
    ):
        model._base_manager.using(alias).bulk_create(instances)
        return instances
    connection = connections[alias]
    params: list[Any] = []
    for instance in instances:
        instance._prepare_related_fields_for_save(operation_name="bulk_create")  # type: ignore[attr-defined]
        params.extend(field.get_db_prep_save(field.pre_save(instance, True), connection) for field in statement.fields)
    with transaction.mark_for_rollback_on_error(alias), connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        keys = [row[0] for row in cursor.fetchall()]
    if len(keys) != len(instances):
        raise DatabaseError(f"{len(instances)} rows inserted, {len(keys)} keys returned")
    attname = model._meta.pk.attname
    for instance, key in zip(instances, keys, strict=True):
        setattr(instance, attname, key)
        instance._state.adding = False
        instance._state.db = alias
    return instances


def update_compiled(instance: Model, fields: list[str] | tuple[str, ...]) -> None:
    """``instance.save(update_fields=fields)`` with the statement built once per process for
    these columns: the related rows' keys checked, the fields' ``pre_save`` (a time set on every
    save), the signals, and the same error when no row has the instance's primary key. An
    expression among the values, or a name that is not a column, goes to the ORM."""
    if not fields:
        return
    model = type(instance)
    alias = router.db_for_write(model, instance=instance)
    names = tuple(fields)
    statement = _update_statement(model, alias, names)
    if statement is None or instance.pk is None or _expression(instance, statement.fields):
        instance.save(update_fields=names, using=alias)
        return
    instance._prepare_related_fields_for_save(operation_name="save")  # type: ignore[attr-defined]
    update_fields = frozenset(names)
    signals.pre_save.send(sender=model, instance=instance, raw=False, using=alias, update_fields=update_fields)
    connection = connections[alias]
    params = [field.get_db_prep_save(field.pre_save(instance, False), connection) for field in statement.fields]
    params.append(model._meta.pk.get_db_prep_value(instance.pk, connection))
    if _written(alias, statement, params) < 1:
        raise DatabaseError("Save with update_fields did not affect any rows.")
    instance._state.adding = False
    instance._state.db = alias
    signals.post_save.send(
        sender=model, instance=instance, created=False, update_fields=update_fields, raw=False, using=alias
    )


# ---------------------------------------------------------------------------------------------
# Rows that never change once written, kept in the process


class KeptAfterCommit(Generic[K, V]):
    """Values read from rows that never change once written, kept in this process by a key
    that names their content (an implementation's id and version, a definition's digest): the
    ``size`` most recently used. A value is kept only once the transaction that read it has
    committed, so what a rolled-back transaction read or wrote (whose ids SQLite may give again)
    is never kept. Safe for a threaded server."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def keep_after_commit(self, key: K, value: V) -> None:
        """Keep ``value`` when the current transaction commits (at once outside one)."""

        def keep() -> None:
            with self._lock:
                self._values[key] = value
                self._values.move_to_end(key)
                while len(self._values) > self.size:
                    self._values.popitem(last=False)

        transaction.on_commit(keep)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        return len(self._values)
