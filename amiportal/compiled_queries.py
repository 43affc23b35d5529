"""ORM queries compiled to SQL once per process, then run with new values.

A page's small indexed reads (the signed-in user, the premise it shows and the reader's
occupancies, its meters) run on every request. For them, Django building the SQL (the
compiler resolving joins, subqueries and annotations) costs more than PostgreSQL answering
it: about 1 ms of Python against 0.2 ms of query. A ``CompiledQuery`` builds its queryset
once, with a sentinel integer standing for each value the caller passes, and afterwards only
swaps the values into the compiled parameters.

The queryset is still the ORM's, so the filters that carry a rule (whose data a reader may
see) are written once, in the selector that owns them, as usual. Values are integers (ids)
unless ``types`` names another kind for one: ``str`` (compared as it is, as a CharField
lookup does) or ``date`` (as a DateField lookup passes it to the database). A queryset whose
compiled parameters do not hold each sentinel exactly once is refused when it is first
compiled: a value the ORM transforms on its way in (``icontains`` wraps it in ``%``, a date
compared with a datetime column becomes a datetime) is never found, so it cannot be swapped
in wrongly. ``datetime`` (aware, as a DateTimeField lookup passes it) is a kind too, and on
PostgreSQL ``list``: any number of values in one parameter, which the queryset compares with a
column through ``AnyOf`` (``column = ANY(%s)``), never through ``__in``, whose SQL has one
placeholder per value.

A ``CompiledInsert`` does the same for ``Model.save`` of a new row (the installer's
submission inserts a device and a command each time): the INSERT is built once, and each
save only prepares the row's values as the ORM would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.models import BooleanField, Expression, F, Field, Model, QuerySet
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import InsertQuery


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: list[Any]
    positions: dict[str, int]  # where each named value goes among ``params``
    model: type[Model]
    converters: list[tuple[int, tuple[list[Callable], Any]]]  # the ORM's per-column converters, by position


# Integers no id or count in the project can take; each stands for one named value.
_SENTINEL_BASE = -7_291_044_615_000
# Days of the year 1 and strings no form or record holds stand for the other kinds of value.
_DATE_SENTINEL_BASE = date(1, 1, 1)
_DATETIME_SENTINEL_BASE = datetime(1, 1, 2, tzinfo=UTC)
_VALUE_TYPES = (int, str, date, datetime, list)


def _sentinel(kind: type, index: int) -> Any:
    if kind is int or kind is list:  # a list's sentinel reaches the parameters as it is, through AnyOf
        return _SENTINEL_BASE - index
    if kind is str:
        return f"\x1fcompiled-query-value-{index}\x1f"
    if kind is datetime:
        return _DATETIME_SENTINEL_BASE + timedelta(microseconds=index)
    return _DATE_SENTINEL_BASE + timedelta(days=index)


def _checked(name: str, kind: type, value: Any) -> Any:
    """``value`` as the kind ``name`` takes: an int (``int()`` of it), a str, a date (not a datetime), an aware
    datetime, or a list (from any iterable but a string)."""
    if kind is int:
        return int(value)
    if kind is list and not isinstance(value, str | bytes | dict) and hasattr(value, "__iter__"):
        return list(value)
    if kind is str and isinstance(value, str):
        return value
    if kind is date and isinstance(value, date) and not isinstance(value, datetime):
        return value
    if kind is datetime and isinstance(value, datetime) and value.tzinfo is not None:
        return value
    raise TypeError(f"{name}: expected a {kind.__name__}, got {type(value).__name__}")


def _adapted(kind: type, value: Any, connection) -> Any:
    """What the ORM passes to the database for ``value`` (a DateField or DateTimeField lookup adapts it per backend)."""
    if kind is datetime:
        return connection.ops.adapt_datetimefield_value(value)
    return connection.ops.adapt_datefield_value(value) if kind is date else value


class AnyOf(Expression):
    """A filter ``column = ANY(%s)``: one parameter, a list (PostgreSQL), whatever its length; a ``CompiledQuery``'s ``list`` value."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, column: str, values: Any) -> None:
        super().__init__()
        self.column = F(column)
        self.values = values

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.column)
        return f"{sql} = ANY(%s)", [*params, self.values]


class CompiledQuery:
    """``build(**names)`` (a queryset) compiled once per database alias; ``rows`` or ``objects`` run it with new values.

    Each value is an integer unless ``types`` says ``str``, ``date``, ``datetime`` (aware) or ``list`` (PostgreSQL,
    through ``AnyOf``) for its name.
    ``instances=True``: the queryset is of one model with no joins selected, and ``objects`` gives its instances.
    """

    def __init__(self, build: Callable[..., QuerySet], *names: str, types: dict[str, type] | None = None, instances: bool = False) -> None:
        types = dict(types or {})
        if unknown := set(types) - set(names):
            raise TypeError(f"types names values the query does not take: {sorted(unknown)}")
        if odd := {name: kind for name, kind in types.items() if kind not in _VALUE_TYPES}:
            raise TypeError(f"values can be int, str, date, datetime or list, not {odd}")
        self._build = build
        self._names = names
        self._types = {name: types.get(name, int) for name in names}
        self._instances = instances
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, alias: str) -> _Compiled:
        if alias not in self._compiled:
            if list in self._types.values() and connections[alias].vendor != "postgresql":
                raise ValueError("list values need PostgreSQL (column = ANY(array))")
            sentinels = {name: _sentinel(self._types[name], index) for index, name in enumerate(self._names)}
            queryset = self._build(**sentinels)
            if self._instances:
                queryset = queryset.values_list(*model_columns(queryset.model))
            compiler = queryset.query.get_compiler(using=alias)
            sql, params = compiler.as_sql()
            params = list(params)
            # What the ORM would do to each column's value (a naive SQLite datetime made aware, JSON decoded...).
            converters = compiler.get_converters([column[0] for column in compiler.select])
            positions = {}
            for name, sentinel in sentinels.items():
                passed = _adapted(self._types[name], sentinel, connections[alias])
                found = sum(1 for param in params if type(param) is type(passed) and param == passed)
                if found != 1:
                    raise ValueError(f"{name}: the compiled query must hold its value exactly once, found {found}")
                positions[name] = next(at for at, param in enumerate(params) if type(param) is type(passed) and param == passed)
            self._compiled[alias] = _Compiled(sql, params, positions, queryset.model, list(converters.items()))
        return self._compiled[alias]

    def sql_with_params(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> tuple[str, list[Any]]:
        """The SQL for database ``using`` and its parameters with ``values`` in place."""
        compiled = self._compile(using)
        sql, params, positions = compiled.sql, compiled.params, compiled.positions
        if set(values) != set(positions):
            raise TypeError(f"expected values for {sorted(positions)}, got {sorted(values)}")
        bound = list(params)
        connection = connections[using]
        for name, at in positions.items():
            kind = self._types[name]
            bound[at] = _adapted(kind, _checked(name, kind, values[name]), connection)
        return sql, bound

    def rows(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[tuple]:
        """The rows, each value as the ORM would give it (a ``values_list`` queryset names its columns in order)."""
        sql, params = self.sql_with_params(using=using, **values)
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        converters = self._compiled[using].converters
        if not converters:
            return rows
        converted = []
        for row in rows:
            values_out = list(row)
            for position, (functions, expression) in converters:
                value = values_out[position]
                for function in functions:
                    value = function(value, expression, connection)
                values_out[position] = value
            converted.append(tuple(values_out))
        return converted

    def objects(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[Model]:
        """The model instances, as ``Model.from_db`` makes them (``instances=True``)."""
        if not self._instances:
            raise TypeError("objects() needs a CompiledQuery made with instances=True")
        rows = self.rows(using=using, **values)
        model = self._compile(using).model
        return [model_from_row(model, using, row) for row in rows]


def model_columns(model: type[Model], prefix: str = "") -> list[str]:
    """The ``values_list`` names of every concrete column of ``model`` (``prefix`` + attname), in ``from_db``'s order."""
    return [prefix + field.attname for field in model._meta.concrete_fields]


def model_from_row(model: type[Model], alias: str, row: tuple) -> Model:
    """An instance of ``model`` from ``row`` holding its concrete columns in ``model_columns`` order."""
    return model.from_db(alias, [field.attname for field in model._meta.concrete_fields], row)


@dataclass(frozen=True)
class _CompiledInsert:
    sql: str
    fields: list[Field]  # the columns the ORM's save() inserts, in its order
    returning: list[Field]  # what it reads back (the primary key)
    converters: list[tuple[int, tuple[list[Callable], Any]]]
    returning_params: Any


class CompiledInsert:
    """``obj.save(force_insert=True)`` of a new row of ``model``, its INSERT compiled once per database alias.

    ``Model.save`` builds the same INSERT every time; building it is most of an insert's Python
    cost. ``save`` does what ``Model.save`` does for a new row (related objects checked, each
    field's ``pre_save`` and database preparation, the primary key read back, the instance
    marked saved) and runs the compiled statement. Where the ORM's insert would be more than
    that (a model with its own ``save``, pre_save or post_save receivers for the model, a
    primary key already set, a value that is an expression, parent models, database defaults,
    a field with its own placeholder), ``save`` simply calls ``obj.save(force_insert=True)``.
    """

    def __init__(self, model: type[Model]) -> None:
        self._model = model
        self._compiled: dict[str, _CompiledInsert | None] = {}

    def _compile(self, alias: str) -> _CompiledInsert | None:
        if alias not in self._compiled:
            self._compiled[alias] = self._build(alias)
        return self._compiled[alias]

    def _build(self, alias: str) -> _CompiledInsert | None:
        meta = self._model._meta
        connection = connections[alias]
        plain = (
            all(getattr(self._model, method) is getattr(Model, method) for method in ("save", "save_base", "_save_table", "_do_insert"))
            and not meta.proxy
            and not meta.parents
            and not meta.order_with_respect_to
            and meta.auto_field is not None
            and meta.pk is meta.auto_field
            and connection.features.can_return_columns_from_insert
        )
        # As Model._save_table for a row without a primary key.
        fields = [field for field in meta.local_concrete_fields if not field.generated and field is not meta.auto_field]
        if not plain or any(field.has_db_default() or hasattr(field, "get_placeholder") for field in fields):
            return None
        returning = list(meta.db_returning_fields)
        query = InsertQuery(self._model)
        query.insert_values(fields, [self._model()])
        compiler = query.get_compiler(using=alias)
        compiler.returning_fields = returning
        ((sql, params),) = compiler.as_sql()
        if len(params) != len(fields) or sql.count("%s") != len(fields):
            return None
        converters = compiler.get_converters([field.get_col(meta.db_table) for field in returning])
        return _CompiledInsert(sql, fields, returning, list(converters.items()), compiler.returning_params)

    def save(self, obj: Model, *, using: str | None = None) -> None:
        """Insert ``obj`` as ``obj.save(force_insert=True, using=using)`` would."""
        if type(obj) is not self._model:
            raise TypeError(f"expected a {self._model.__name__}, got {type(obj).__name__}")
        using = using or router.db_for_write(self._model, instance=obj)
        compiled = self._compile(using)
        if (
            compiled is None
            or obj._is_pk_set()
            or pre_save.has_listeners(self._model)
            or post_save.has_listeners(self._model)
            or any(hasattr(getattr(obj, field.attname), "resolve_expression") for field in compiled.fields)
        ):
            obj.save(force_insert=True, using=using)
            return
        obj._prepare_related_fields_for_save(operation_name="save")
        connection = connections[using]
        params = [field.get_db_prep_save(field.pre_save(obj, add=True), connection=connection) for field in compiled.fields]
        with transaction.mark_for_rollback_on_error(using=using), connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            (row,) = connection.ops.fetch_returned_rows(cursor, compiled.returning_params)
        values = list(row)
        for position, (functions, expression) in compiled.converters:
            for function in functions:
                values[position] = function(values[position], expression, connection)
        for value, field in zip(values, compiled.returning, strict=True):
            setattr(obj, field.attname, value)
        obj._state.db = using
        obj._state.adding = False
