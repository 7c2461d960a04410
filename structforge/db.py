"""Database connections of long-lived processes, and the few raw-SQL helpers the hot paths share."""

from collections.abc import Sequence
from contextlib import suppress
from functools import cache
from typing import Any
from weakref import WeakKeyDictionary

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model


def keep_connection() -> None:
    """Keep this thread's database connection between units of work, and drop it once it broke.

    Web requests give theirs back after each request (to the pool, or closed when there is no
    pool). A worker or beat thread does a unit of work every few milliseconds for hours, so it
    keeps its connection: borrowed from the pool for good, or made persistent when there is no
    pool (the copy of the settings is this thread's own: web threads of the same process, in
    standalone, keep theirs). A connection that broke (a database restart) is closed here, so the
    next query opens a new one.
    """
    if connection.connection is not None and connection.errors_occurred and not connection.is_usable():
        connection.close()
    pooled = bool(connection.settings_dict.get("OPTIONS", {}).get("pool"))
    if not pooled and connection.settings_dict.get("CONN_MAX_AGE") is not None:
        connection.settings_dict = {**connection.settings_dict, "CONN_MAX_AGE": None}
        if connection.connection is not None:
            connection.close_at = None


def in_one_round_trip(statements: Sequence[tuple[str, Sequence]]) -> list[tuple]:
    """Run `statements`, each `(sql, params)`, in one transaction (the caller's, else one of its
    own) sent as one pipeline: one round trip to PostgreSQL, each statement bound and prepared
    like any other (DATABASE_PREPARED_STATEMENTS). As one text message of several statements,
    they would be parsed and planned on every call. Returns the last statement's rows."""
    own_transaction = connection.get_autocommit()
    connection.ensure_connection()
    control, *cursors = (connection.cursor() for _ in range(len(statements) + 1))
    try:
        with connection.connection.pipeline():
            if own_transaction:
                control.execute("BEGIN")
            for cursor, (sql, params) in zip(cursors, statements, strict=True):
                cursor.execute(sql, params)
            if own_transaction:
                control.execute("COMMIT")
        return cursors[-1].fetchall()
    except BaseException:
        if own_transaction:
            with suppress(Exception):  # a broken connection has no transaction left to end
                control.execute("ROLLBACK")
        raise
    finally:
        for cursor in (control, *cursors):
            cursor.close()


@cache
def row_columns(model: type[Model], table_alias: str = "") -> str:
    """The columns of `model`'s concrete fields, in their order, as a RETURNING or SELECT list: the
    row `instance_from_row` takes. Where `RETURNING *` would need the cursor's description to name
    its columns, which costs an object per column on every call."""
    prefix = f"{table_alias}." if table_alias else ""
    return ", ".join(f"{prefix}{connection.ops.quote_name(field.column)}" for field in model._meta.concrete_fields)


def instance_from_row(model: type[Model], row: Sequence) -> Model:
    """A `model` instance from a row of `row_columns(model)`, its values converted as the ORM
    converts them (JSON parsed, …)."""
    database = connections[DEFAULT_DB_ALIAS]  # once: each `connection.…` looks up this thread's
    converted = []
    for value, (column, converters) in zip(row, _converters(database, model), strict=True):
        for convert in converters:
            value = convert(value, column, database)
        converted.append(value)
    return model.from_db(database.alias, [field.attname for field in model._meta.concrete_fields], converted)


# Per connection, as the converters may be bound to it; looking them up for every field of every
# row cost more than building the instance.
_converters_by_connection: WeakKeyDictionary = WeakKeyDictionary()


def _converters(database: BaseDatabaseWrapper, model: type[Model]) -> list[tuple]:
    by_model = _converters_by_connection.setdefault(database, {})
    if model not in by_model:
        # The database's converters, then the field's: the order the ORM applies them in.
        by_model[model] = [
            (
                field.cached_col,
                database.ops.get_db_converters(field.cached_col) + field.get_db_converters(database),
            )
            for field in model._meta.concrete_fields
        ]
    return by_model[model]


def rows_with_related(model: type[Model], *, related: str, key: str, value: Any) -> list[Model]:
    """`model.objects.select_related(related).filter(**{key: value})` for a non-null foreign key
    `related`, from SQL built once per process.

    For the lookups every request makes (its API token, its workflow): compiling the ORM's query
    cost each about 0.35 ms more CPU than this (docs/benchmarks.md).
    """
    sql = _rows_with_related_sql(model, related, key, connection.vendor)
    related_model = model._meta.get_field(related).related_model
    columns = len(model._meta.concrete_fields)
    with connection.cursor() as cursor:
        cursor.execute(sql, [value])
        rows = cursor.fetchall()
    instances = []
    for row in rows:
        instance = instance_from_row(model, row[:columns])
        setattr(instance, related, instance_from_row(related_model, row[columns:]))
        instances.append(instance)
    return instances


@cache
def _rows_with_related_sql(model: type[Model], related: str, key: str, vendor: str) -> str:
    quote = connection.ops.quote_name
    foreign_key = model._meta.get_field(related)
    related_model = foreign_key.related_model
    key_column = model._meta.pk.column if key == "pk" else model._meta.get_field(key).column
    return (
        f"SELECT {row_columns(model, 'm')}, {row_columns(related_model, 'r')} FROM {quote(model._meta.db_table)} m "
        f"JOIN {quote(related_model._meta.db_table)} r "
        f"ON r.{quote(foreign_key.target_field.column)} = m.{quote(foreign_key.column)} "
        f"WHERE m.{quote(key_column)} = %s"
    )


@cache
def insert_fields(model: type[Model]) -> list:
    """The fields an INSERT of `model` names: its concrete fields but a database-made primary key."""
    return [
        field
        for field in model._meta.local_concrete_fields
        if not getattr(field, "generated", False) and not (field.primary_key and field.db_returning)
    ]


def insert_values(instance: Model, fields: Sequence | None = None) -> list:
    """The values `instance.save()` would insert for `fields` (by default `insert_fields`):
    `auto_now_add` and the like applied (`pre_save`), then prepared as the ORM prepares them."""
    database = connections[DEFAULT_DB_ALIAS]
    return [
        field.get_db_prep_save(field.pre_save(instance, add=True), database)
        for field in (insert_fields(type(instance)) if fields is None else fields)
    ]


def value_type(field) -> str:
    """The PostgreSQL type to cast a parameter of `field` to where no column gives it one (`INSERT …
    SELECT`, `unnest`). Without its length: an explicit cast to `varchar(n)` would cut a longer
    value silently, where storing it into the column refuses it."""
    return field.db_type(connection).split("(", 1)[0]


def array_type(field) -> str:
    """The PostgreSQL type of an array of `field`'s values, to `unnest` many rows from one parameter."""
    return f"{value_type(field)}[]"
