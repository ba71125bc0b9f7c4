"""The SELECT queries a statement's column lineage is read from (sqlglot).

``queries(statement, schema, dialect)`` turns one parsed statement that moves data into the
queries whose outputs are the columns it writes, each a ``Query``:

- ``SELECT``: itself. ``CREATE TABLE … AS SELECT`` / ``INSERT … SELECT``: its query, with the
  CTEs written before the INSERT (``WITH c AS (…) INSERT INTO t SELECT … FROM c``, which
  sqlglot keeps on the INSERT) moved onto the query, so ``c`` is read through, never named as a
  source; outputs are renamed by position to the INSERT's column list or the target's schema.
- ``UPDATE t SET c = expr [FROM …] [WHERE …]`` (also T-SQL's ``UPDATE alias … FROM t alias
  JOIN …`` and ``SET c = (SELECT …)``): ``SELECT expr AS c FROM t, … WHERE …``; the WHERE is
  then INDIRECT FILTER and a join's ON INDIRECT JOIN, as in any SELECT.
- ``MERGE INTO t USING s ON cond WHEN …``: one query per WHEN clause, over ``t JOIN s ON
  cond`` (the ON is INDIRECT JOIN). ``WHEN MATCHED [AND w] THEN UPDATE SET c = expr`` gives
  ``CASE WHEN w THEN expr END AS c``: ``w`` decides the value ``c`` takes, INDIRECT
  CONDITIONAL on ``c``. ``WHEN NOT MATCHED [AND w] THEN INSERT (cols) VALUES (exprs)`` gives
  ``SELECT exprs AS cols … WHERE w``: ``w`` decides which rows exist, INDIRECT FILTER.
  ``UPDATE SET *`` / ``INSERT *`` read every column of the source. ``DELETE`` writes no value.

Anything else has no queries (None). sqlglot is imported by the caller, before these run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lineagectl.sources.sql_edges import listed_columns


@dataclass
class Query:
    """A query whose outputs are written to a target's columns."""

    select: Any  # a sqlglot Query (SELECT or set operation), unqualified, owned by the caller
    columns: list[str] | None = None  # the target's columns by output position; None: the outputs' names


def _arg(node_type: Any, name: str) -> str:
    """sqlglot's key for an argument that newer versions spell with a trailing ``_`` (``from_``)."""
    return f"{name}_" if f"{name}_" in node_type.arg_types else name


def target_columns(statement: Any, schema: Any, dialect: str | None) -> list[str] | None:
    """The columns an INSERT writes, in order: its column list, else the target table's schema."""
    from sqlglot import exp
    from sqlglot.schema import ensure_schema

    target = statement.this
    if isinstance(target, exp.Schema) and target.expressions:
        return [column.name for column in target.expressions]
    table = target.this if isinstance(target, exp.Schema) else target
    if isinstance(statement, exp.Insert) and isinstance(table, exp.Table) and schema:
        try:
            mapping = ensure_schema(schema, dialect=dialect)
        except Exception:  # a schema sqlglot cannot read: the SELECT's names, as for an unknown target
            return None
        return listed_columns(mapping, table, dialect) or None  # an unknown target keeps the SELECT's names
    return None


def with_ctes(query: Any, statement: Any, copy: bool = True) -> Any:
    """``query`` (a copy, unless not ``copy``) carrying the CTEs ``statement`` declares before it,
    ahead of its own."""
    from sqlglot import exp

    query = query.copy() if copy else query
    outer = statement.args.get(_arg(type(statement), "with"))
    if outer is None or not outer.expressions:
        return query
    key = _arg(type(query), "with")
    inner = query.args.get(key)
    ctes = [cte.copy() for cte in outer.expressions] + (list(inner.expressions) if inner is not None else [])
    recursive = bool(outer.args.get("recursive") or (inner is not None and inner.args.get("recursive")))
    query.set(key, exp.With(expressions=ctes, recursive=recursive))
    return query


def _select(projections: list, from_: Any, joins: list, where: Any, statement: Any) -> Any:
    from sqlglot import exp

    select = exp.Select(expressions=projections)
    select.set(_arg(exp.Select, "from"), exp.From(this=from_))
    if joins:
        select.set("joins", joins)
    if where is not None:
        select.set("where", exp.Where(this=where.copy()))
    return with_ctes(select, statement)


def _assignments(expressions: list, condition: Any = None) -> list:
    """``SET c = expr, …`` as ``expr AS c`` projections; under a WHEN condition ``w``,
    ``CASE WHEN w THEN expr END AS c``. ``SET (a, b) = (…)`` is not read."""
    from sqlglot import exp

    projections = []
    for assignment in expressions:
        if not isinstance(assignment, exp.EQ) or not isinstance(assignment.this, exp.Column):
            continue
        value = assignment.expression.copy()
        if condition is not None:
            value = exp.Case(ifs=[exp.If(this=condition.copy(), true=value)])
        projections.append(exp.alias_(value, assignment.this.name, quoted=assignment.this.this.quoted))
    return projections


def _from_items(from_: Any) -> tuple[Any, list]:
    """(first table, its joins) of a FROM clause; sqlglot hangs an UPDATE's joins on the table."""
    first = from_.this.copy()
    joins = list(first.args.get("joins") or [])
    first.set("joins", None)
    return first, joins


def _update(statement: Any) -> list[Query]:
    from sqlglot import exp

    target = statement.this
    projections = _assignments(statement.expressions)
    if not projections or not isinstance(target, exp.Table):
        return []
    from_ = statement.args.get(_arg(exp.Update, "from"))
    joins = [join.copy() for join in statement.args.get("joins") or []]
    if from_ is None:
        first = target.copy()
    else:
        first, more = _from_items(from_)
        joins = more + joins
        tables = [first, *(join.this for join in joins)]
        aliased = not target.db and not target.alias and any(
            isinstance(t, exp.Table) and t.alias and t.alias.lower() == target.name.lower() for t in tables)
        if not aliased:  # UPDATE t SET … FROM s: the target and the FROM's tables side by side
            joins = [exp.Join(this=first), *joins]
            first = target.copy()
    return [Query(_select(projections, first, joins, statement.args.get("where"), statement))]


def _merge(statement: Any) -> list[Query]:
    from sqlglot import exp

    target, using, on = statement.this, statement.args.get("using"), statement.args.get("on")
    if not isinstance(target, exp.Table) or using is None:
        return []
    whens = statement.args.get("whens")
    clauses = whens.expressions if whens is not None else statement.expressions
    source = using.alias_or_name
    found = []
    for when in clauses:
        then, condition = when.args.get("then"), when.args.get("condition")
        where = None
        projections: list = []
        if isinstance(then, exp.Update):
            if any(isinstance(e, exp.Star) for e in then.expressions):  # UPDATE SET *
                projections = [exp.Column(this=exp.Star(), table=exp.to_identifier(source))]
            else:
                projections = _assignments(then.expressions, condition)
        elif isinstance(then, exp.Insert):
            where = condition
            columns, values = then.this, then.expression
            if isinstance(columns, exp.Tuple) and isinstance(values, exp.Tuple):
                projections = [exp.alias_(value.copy(), column.name, quoted=column.this.quoted)
                               for column, value in zip(columns.expressions, values.expressions, strict=False)
                               if isinstance(column, exp.Column)]
            elif (columns is None and values is None) or isinstance(columns, exp.Star):  # INSERT *
                projections = [exp.Column(this=exp.Star(), table=exp.to_identifier(source))]
        else:
            continue
        if not projections:
            continue
        join = exp.Join(this=using.copy(), on=on.copy()) if on is not None else exp.Join(this=using.copy())
        found.append(Query(_select(projections, target.copy(), [join], where, statement)))
    return found


def _undecorated(query: Any, dialect: str | None) -> Any:
    """``query`` with BigQuery's partition decorators dropped (``t$20230101``, ``t$__UNPARTITIONED__``
    read table ``t``), so the schema finds the table, as its table-level answer names it."""
    from sqlglot import exp

    if dialect != "bigquery":
        return query
    for table in query.find_all(exp.Table):
        name = table.name
        if "$" in name and not name.startswith("$") and isinstance(table.this, exp.Identifier):
            table.set("this", exp.to_identifier(name.split("$", 1)[0], quoted=table.this.quoted))
    return query


def queries(statement: Any, schema: Any, dialect: str | None, copy: bool = True) -> list[Query] | None:
    """The queries whose outputs ``statement`` writes (see the module's docstring); None when
    its kind is not read (DELETE, COPY …). ``statement`` is left as it is, unless not ``copy``
    (the caller's own tree, which a SELECT or INSERT's query is then read from in place)."""
    found = _queries(statement, schema, dialect, copy)
    return None if found is None else [Query(_undecorated(q.select, dialect), q.columns) for q in found]


def _queries(statement: Any, schema: Any, dialect: str | None, copy: bool) -> list[Query] | None:
    from sqlglot import exp

    if isinstance(statement, (exp.Create, exp.Insert)) and isinstance(statement.expression, exp.Query):
        query = statement.expression
        while isinstance(query, exp.Subquery) and not query.alias and isinstance(query.this, exp.Query):
            query = query.this  # CREATE VIEW v AS (SELECT …)
        return [Query(with_ctes(query, statement, copy), target_columns(statement, schema, dialect))]
    if isinstance(statement, exp.Update):
        return _update(statement)
    if isinstance(statement, exp.Merge):
        return _merge(statement)
    if isinstance(statement, exp.Query):
        return [Query(statement.copy() if copy else statement)]
    return None
