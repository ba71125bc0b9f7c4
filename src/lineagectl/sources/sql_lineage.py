"""Column lineage from a SQL query, in OpenLineage's vocabulary (sqlglot).

``column_lineage(sql, dialect, schema)`` returns, for each output column, the
source table columns it is computed from, each classified as OpenLineage
does: DIRECT IDENTITY (copied), DIRECT TRANSFORMATION (computed per row),
DIRECT AGGREGATION (sum, count, …), with ``masking`` for hashes and counts,
one edge per way a column is used; INDIRECT WINDOW for a column that only
partitions or orders a window and INDIRECT CONDITIONAL for one that only decides
a CASE/IF, at whatever CTE or subquery level; plus dataset-level INDIRECT
dependencies: columns used in JOIN conditions, WHERE/HAVING/QUALIFY filters,
GROUP BY and ORDER BY of every SELECT, resolved through CTEs and subqueries to
base-table columns. The statement may be a SELECT, CREATE … AS SELECT, INSERT … SELECT
(CTEs written before the INSERT included), UPDATE or MERGE: ``sql_queries`` turns it into
the queries whose outputs are the target's columns. A column the schema does not list is
read as its table's, and the columns of a table without a schema as that table's where it
is the only one its SELECT reads: one such column costs no other column its lineage
(``statement_lineage`` reports what it could not place). Usable on its own; dbt ingest
uses it for every model's compiled SQL. Queries sqlglot cannot read raise ``SqlLineageError``.
``column_lineage_facet(edges, locate)`` turns the edges into an OpenLineage
``columnLineage`` facet, the one way every source of derived lineage builds it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from lineagectl.sources.sql_edges import (
    Edge,
    Source,
    indirect,
    indirect_order,
    listed_columns,
    path_edges,
    paths,
    table_name,
)
from lineagectl.sources.sql_leaves import laterals, leaf_sources, star_tables
from lineagectl.sources.sql_queries import Query, queries

if TYPE_CHECKING:  # sqlglot is imported when lineage is computed, not with this module
    from sqlglot.schema import Schema

__all__ = ["Edge", "Source", "SqlLineageError", "column_lineage", "column_lineage_facet", "moves_no_data",
           "statement_lineage"]


class SqlLineageError(Exception):
    """The query could not be parsed or qualified; the message says why."""


def _rename_outputs(edges: set, query, columns: list[str]) -> set:
    """Field edges named by the target's columns, matched to the SELECT's outputs by position."""
    outputs = [select.alias_or_name for select in query.selects]
    if len(outputs) != len(columns):
        return edges
    names = dict(zip(outputs, columns, strict=True))
    return {replace(edge, column=names.get(edge.column, edge.column)) if edge.column else edge for edge in edges}


# Statements that read no column into another: DDL, grants, maintenance and session commands
# (sqlglot parses what it does not know, VACUUM say, as a Command). Names absent from an older
# sqlglot are skipped.
_NO_LINEAGE = ("Drop", "Alter", "TruncateTable", "Comment", "Grant", "Revoke", "Undrop", "Command", "Use",
               "Set", "Analyze", "Refresh", "Cache", "Uncache", "Describe", "Show", "Pragma", "Transaction",
               "Commit", "Rollback")


def moves_no_data(statement) -> bool:
    """True for a parsed statement (sqlglot) that has no column lineage, whatever it names:
    DDL (``DROP``, ``ALTER … RENAME``, ``TRUNCATE``, ``CREATE VIEW``/``TABLE`` without a query),
    grants and commands, and writes of literal rows (``INSERT … VALUES``)."""
    from sqlglot import exp

    if isinstance(statement, (exp.Create, exp.Insert)):
        return not isinstance(statement.expression, exp.Query)
    return isinstance(statement, tuple(getattr(exp, name) for name in _NO_LINEAGE if hasattr(exp, name)))


def _statement(sql: str, dialect: str | None):
    """The one statement of ``sql`` that moves data, or None when none does (DDL alone).

    A script is read statement by statement: ``DROP TABLE IF EXISTS t; CREATE TABLE t AS
    SELECT …`` is the lineage of its CREATE. Two statements that move data are an error:
    which of them an output's lineage is, the SQL does not say.
    """
    import sqlglot

    statements = [s for s in sqlglot.parse(sql, dialect=dialect) if s is not None]
    if not statements:
        raise SqlLineageError("no SQL statement")
    moving = [s for s in statements if not moves_no_data(s)]
    if len(moving) > 1:
        raise SqlLineageError(f"{len(moving)} statements that move data; column lineage is read from one")
    return moving[0] if moving else None


def _own_sources(tree, schema, dialect: str | None, everywhere: bool) -> None:
    """Unqualified columns of every SELECT that reads one table the schema does not list (with
    ``everywhere``, one source of any kind), qualified with that source (in place).

    Without a schema sqlglot leaves such columns unqualified (and loses them in some set
    operations); it cannot tell a correlated subquery's column from its outer query's, nor a
    column from a projection alias of the same name, and gives up on the whole statement. SQL
    reads the innermost source first, and a source column before a lateral alias."""
    from sqlglot import exp
    from sqlglot.optimizer.scope import build_scope
    from sqlglot.schema import ensure_schema

    mapping = ensure_schema(schema or {}, dialect=dialect)

    def table_columns(table) -> list[str]:
        return listed_columns(mapping, table, dialect)

    def listed(table) -> bool:
        return bool(table_columns(table))

    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    if not everywhere and all(listed(t) or (not t.db and t.name.lower() in ctes) for t in tree.find_all(exp.Table)):
        return  # every table is known: sqlglot qualifies every column itself
    root = build_scope(tree)
    for scope in root.traverse() if root is not None else []:
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue
        home, known = _home(scope, table_columns, everywhere)
        if home is None:
            continue
        outputs = {item.alias.lower(): item.this for item in select.selects if isinstance(item, exp.Alias)}
        for column in list(scope.columns):
            if column.table or isinstance(column.this, exp.Star) or column.find_ancestor(exp.Select) is not select:
                continue  # qualified, a star, or a subquery's own (sqlglot lists some as their parent's)
            name = column.name.lower()
            if any(names is not None and name in names for names in known.values()):
                continue  # a source lists it: sqlglot places it
            clause = column.find_ancestor(exp.Order, exp.Group, exp.Having, exp.Qualify, exp.Select)
            if name in outputs and not isinstance(clause, exp.Select):
                if everywhere and isinstance(clause, exp.Group):  # GROUP BY an output's alias: its expression
                    column.replace(outputs[name].copy())
                continue  # ORDER BY an output's alias
            column.set("table", exp.to_identifier(home))


def _home(scope, table_columns, everywhere: bool) -> tuple[str | None, dict]:
    """(the source an unqualified column of ``scope`` that no known source lists belongs to, or None;
    the known columns of each source, None where unknown)."""
    from sqlglot import exp
    from sqlglot.errors import OptimizeError

    try:
        sources = scope.selected_sources
    except OptimizeError:  # two subqueries without an alias: qualify() names them
        return None, {}
    known = {alias: _columns_of(source, table_columns) for alias, (_, source) in sources.items()}
    unknown = [alias for alias, names in known.items() if names is None]
    if len(sources) == 1:  # the one source; without ``everywhere``, only a table the schema lacks
        only = next(iter(sources))
        return (only if only and (everywhere or (unknown and isinstance(sources[only][1], exp.Table))) else None,
                known)
    # Several: the one whose columns are unknown, when no other has the name.
    return (unknown[0] if len(unknown) == 1 and unknown[0] else None), known


def _columns_of(source, table_columns) -> set[str] | None:
    """The lower-case column names a FROM source is known to have (a table's from the schema, a
    subquery's or CTE's from its SELECT list); None when unknown."""
    from sqlglot import exp

    if isinstance(source, exp.Table):
        names = table_columns(source)
        return {n.lower() for n in names} if names else None
    query = getattr(source, "expression", None)
    if not isinstance(query, exp.Select) or any(s.is_star for s in query.selects):
        return None
    return {name.lower() for name in query.named_selects}


def _qualified(query, schema, dialect: str | None):
    """``query`` (a copy) qualified by sqlglot.

    A column the schema does not list for its table (a catalog older than the model, documented
    columns only) fails sqlglot's qualify as a whole; the query is then qualified again with that
    column taken as its table's, so it costs no other column its lineage. Columns of tables the
    schema does not list are placed by ``_own_sources`` (everywhere, when sqlglot still cannot)."""
    from sqlglot.errors import OptimizeError
    from sqlglot.optimizer.qualify import qualify

    partial = everywhere = False
    aliases = True
    while True:
        tree = query.copy()
        _own_sources(tree, schema, dialect, everywhere)
        try:
            return qualify(tree, schema=schema or None, dialect=dialect, validate_qualify_columns=False,
                           identify=False, allow_partial_qualification=partial, expand_alias_refs=aliases)
        except OptimizeError as exc:
            if not partial and str(exc).startswith("Unknown column"):
                partial = True
            elif not everywhere and str(exc).startswith("Cannot resolve"):
                everywhere = True
            elif aliases and str(exc).startswith("Cannot resolve"):
                # An earlier output's alias, or a column of one of several tables no schema lists: no
                # telling which (a source column comes first where both exist). It is left unplaced
                # (reported by _unplaced) and costs only itself, not the statement.
                aliases = False
            else:
                raise


def _roots(query: Query, tree, scope, dialect: str | None, schema, errors: list[str] | None) -> dict:
    """sqlglot's lineage node of every output column of ``tree`` (qualified ``query.select``).

    One call for every output column shares sqlglot's work across them (the scope of the tree
    spares it qualifying it again). When that fails and ``errors`` is a list, each column is read
    on its own: one that fails is reported there and costs no other column."""
    from sqlglot.lineage import lineage

    try:
        return lineage(None, tree, schema=schema or {}, dialect=dialect, trim_selects=False, copy=False, scope=scope)
    except Exception as exc:  # sqlglot's errors, assertions and lookups alike
        if errors is None:
            raise
        whole = f"{type(exc).__name__}: {exc}"
    fresh = _qualified(query.select, schema, dialect)  # lineage() may have rewritten the tree
    roots = {}
    for position, select in enumerate(fresh.selects):
        name = select.alias_or_name
        try:
            roots[name] = lineage(name, fresh, schema=schema or {}, dialect=dialect, trim_selects=False)
        except Exception as exc:
            target = query.columns[position] if query.columns and position < len(query.columns) else name
            errors.append(f"column {target}: {str(exc).splitlines()[0] if str(exc) else whole}")
    return roots


def _unplaced(root_scope) -> list[str]:
    """Why each column qualify() left without a table in a SELECT that reads several lost its lineage."""
    from sqlglot import exp

    found: dict[str, str] = {}
    for scope in root_scope.traverse():
        if not isinstance(scope.expression, exp.Select) or len(scope.sources) < 2:
            continue
        outputs = {select.alias_or_name.lower() for select in scope.expression.selects}
        for column in scope.columns:
            # An output's alias read by ORDER BY, GROUP BY, HAVING or QUALIFY is that output; read
            # elsewhere (an earlier output's alias in a later one) qualify() would have expanded it.
            clause = column.find_ancestor(exp.Order, exp.Group, exp.Having, exp.Qualify, exp.Select)
            placed = (column.table or isinstance(column.this, exp.Star)
                      or (column.name.lower() in outputs and clause is not scope.expression)
                      or column.find_ancestor(exp.Select) is not scope.expression)
            if not placed and column.name not in found:
                found[column.name] = (f"column {column.name}: an earlier output's alias or a column of one of "
                                      "several tables, and no schema says which" if _other_output(column, scope)
                                      else f"column {column.name}: read from one of several tables, and no "
                                      "schema says which")
    return list(found.values())


def _other_output(column, scope) -> bool:
    """True when an output of ``column``'s SELECT other than the one it is read in is named as it is."""
    own = column
    while own.parent is not None and own.parent is not scope.expression:
        own = own.parent
    return any(p.alias_or_name.lower() == column.name.lower() and p is not own for p in scope.expression.selects)


def _query_edges(query: Query, dialect: str | None, schema, errors: list[str] | None) -> tuple[set[Edge], list[Edge]]:
    """(field edges, dataset edges) of one query, its outputs named by the target's columns."""
    from sqlglot import exp
    from sqlglot.optimizer.scope import build_scope

    tree = _qualified(query.select, schema, dialect)
    if not isinstance(tree, exp.Query):
        raise SqlLineageError("not a SELECT query")
    edges: set[Edge] = set()
    scope = build_scope(tree)
    if scope is None:
        raise SqlLineageError("no query scope")
    dataset = indirect(scope)  # before lineage, which may rewrite the tree in place (copy=False)
    if errors is not None:
        errors += _unplaced(scope)
    uses: dict = {}  # one per query: paths of a deep CTE chain share their steps
    scopes: dict = {}
    for name, root in _roots(query, tree, scope, dialect, schema, errors).items():
        if name == "*" and errors is not None:  # no schema lists the columns it reads: none to name
            unknown = ", ".join(star_tables(root, tree, dialect, schema, scopes))
            errors.append("column *: not expanded" + (f", no schema lists the columns of {unknown}" if unknown else ""))
        if not name or name == "*":
            continue
        for leaf, steps in paths(root, [], laterals(root, dialect, schema, scopes)):
            for table, column, trail in leaf_sources(leaf, steps, dialect, schema, scopes):
                edges |= path_edges(name, Source(table_name(table), column), trail, uses)
    if errors is not None:
        errors += [f"column {name}: read through * of several tables, and no schema says which"
                   for name in sorted(scopes.get("unplaced", ()))]
    if query.columns is not None:
        edges = _rename_outputs(edges, tree, query.columns)
    return edges, dataset


def _reason(exc: Exception) -> str:
    from sqlglot.errors import SqlglotError

    if isinstance(exc, (SqlglotError, SqlLineageError)):
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{type(exc).__name__}: {exc}"  # sqlglot also fails with assertions and lookups


def statement_lineage(statement, dialect: str | None = None, schema: dict | Schema | None = None,
                      errors: list[str] | None = None, owned: bool = False) -> list[Edge]:
    """``column_lineage`` of one statement sqlglot parsed (left as it is): SELECT, CREATE … AS
    SELECT, INSERT … SELECT, UPDATE and MERGE (``sql_queries``); other kinds raise
    ``SqlLineageError("not a SELECT query")``, DDL (``moves_no_data``) has no edges.

    With ``errors`` (a list), what cannot be read costs only itself: a column, or one WHEN
    clause of a MERGE, is reported there and the rest still answers; ``SqlLineageError`` is
    raised only when nothing could be read. With ``owned`` the statement is the caller's to spend
    (it may be changed), which spares a copy of it."""
    import logging

    # sqlglot logs what it cannot resolve; the caller reports failures once, as it sees fit.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    if moves_no_data(statement):
        return []
    edges: set[Edge] = set()
    dataset: set[Edge] = set()
    try:
        found = queries(statement, schema, dialect, copy=not owned)
    except Exception as exc:
        raise SqlLineageError(_reason(exc)) from None
    if found is None:
        raise SqlLineageError("not a SELECT query")
    failures = []
    for query in found:
        try:
            fields, influence = _query_edges(query, dialect, schema, errors)
        except Exception as exc:
            if errors is None or len(found) == 1:
                raise SqlLineageError(_reason(exc)) from None
            failures.append(_reason(exc))
            continue
        edges |= fields
        dataset.update(influence)
    if failures and len(failures) == len(found):
        raise SqlLineageError(failures[0])
    if errors is not None:
        errors += [f"one of {len(found)} queries: {reason}" for reason in failures]
    ordered = sorted(edges, key=lambda e: (e.column or "", e.source.table, e.source.column, e.subtype or "",
                                          e.type, e.masking))
    return ordered + sorted(dataset, key=indirect_order)


def column_lineage(sql: str, dialect: str | None = None, schema: dict | Schema | None = None) -> list[Edge]:
    """Field-level (``column`` set) and dataset-level (``column`` None) edges of ``sql``.

    ``schema`` is a ``{db: {schema: {table: {column: type}}}}`` mapping or a sqlglot
    ``MappingSchema`` (build one once when lineage of many queries shares it). DDL and other
    statements that move no data (``moves_no_data``) have no edges.
    """
    from sqlglot.errors import SqlglotError

    try:
        statement = _statement(sql, dialect)
    except SqlglotError as exc:
        raise SqlLineageError(str(exc).splitlines()[0]) from None
    except SqlLineageError:
        raise
    except Exception as exc:  # an unknown dialect, sqlglot's assertions
        raise SqlLineageError(f"{type(exc).__name__}: {exc}") from None
    return [] if statement is None else statement_lineage(statement, dialect, schema, owned=True)


def column_lineage_facet(edges: Iterable[Edge], locate: Callable[[str], tuple[str, str] | None]) -> dict | None:
    """The OpenLineage ``columnLineage`` facet of ``edges``: its ``fields`` and ``dataset`` (1-2-0
    dataset-level entries: joins, filters…), without ``_producer``/``_schemaURL``, which the caller adds.

    ``locate`` gives the dataset (namespace, name) a SQL table reference (``Source.table``) reads;
    edges from a table it cannot place (None) are left out. None when no edge is left.
    """
    fields: dict[str, dict[str, list[dict]]] = {}
    dataset: list[dict] = []
    located: dict[str, tuple[str, str] | None] = {}
    for edge in edges:
        table = edge.source.table
        if table not in located:
            located[table] = locate(table)
        target = located[table]
        if target is None:
            continue
        item = {"namespace": target[0], "name": target[1], "field": edge.source.column,
                "transformations": [{"type": edge.type, "subtype": edge.subtype, "masking": edge.masking}]}
        if edge.column is None:
            dataset.append(item)
        else:
            fields.setdefault(edge.column, {"inputFields": []})["inputFields"].append(item)
    if not fields and not dataset:
        return None
    return {"fields": fields, "dataset": dataset}
