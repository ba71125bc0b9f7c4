"""Column lineage from a SQL query, in OpenLineage's vocabulary (sqlglot).

``column_lineage(sql, dialect, schema)`` returns, for each output column, the
source table columns it is computed from, each classified as OpenLineage
does: DIRECT IDENTITY (copied), DIRECT TRANSFORMATION (computed per row),
DIRECT AGGREGATION (sum, count, …), with ``masking`` for hashes and counts;
INDIRECT WINDOW for columns that only partition or order a window; plus
dataset-level INDIRECT dependencies: columns used in JOIN conditions,
WHERE/HAVING filters and GROUP BY. Usable on its own; dbt ingest uses it for
every model's compiled SQL. Queries sqlglot cannot read raise ``SqlLineageError``.
``column_lineage_facet(edges, locate)`` turns the edges into an OpenLineage
``columnLineage`` facet, the one way every source of derived lineage builds it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # sqlglot is imported when lineage is computed, not with this module
    from sqlglot.schema import Schema


class SqlLineageError(Exception):
    """The query could not be parsed or qualified; the message says why."""


@dataclass(frozen=True)
class Source:
    """A source column: table as ``catalog.db.name`` (parts present), column name."""

    table: str
    column: str


@dataclass(frozen=True)
class Edge:
    """One input field of an output column (or of the whole dataset when ``column`` is None)."""

    column: str | None
    source: Source
    type: str
    subtype: str | None  # None only on the internal marker of _conditional, never in a result
    masking: bool


# Functions whose output no longer shows the input value (OpenLineage "masking").
_MASKING_PREFIXES = ("md5", "sha", "hash", "farm_fingerprint", "xxhash", "murmur", "crc32", "count",
                     "approx_count", "hll")


def _table_name(table) -> str:
    return ".".join(part for part in (table.catalog, table.db, table.name) if part)


_NAVIGATION: tuple = ()  # window navigation functions, set on first use (sqlglot loads lazily)


def _classify(expressions: list) -> tuple[str, bool]:
    from sqlglot import exp

    global _NAVIGATION
    _NAVIGATION = _NAVIGATION or (exp.Lag, exp.Lead, exp.FirstValue, exp.LastValue, exp.NthValue)
    subtype, masking = "IDENTITY", False
    for expression in expressions:
        inner = expression.this if isinstance(expression, exp.Alias) else expression
        if isinstance(inner, (exp.Column, exp.Star)) or inner is None:
            continue
        for node in inner.walk():
            if isinstance(node, exp.Func):
                names = (str(node.name) if isinstance(node, exp.Anonymous) else node.sql_name(),
                         type(node).__name__)
                if any(n.lower().startswith(_MASKING_PREFIXES) for n in names):
                    masking = True
            # LAG/LEAD/FIRST_VALUE… pick one row's value: a transformation, not an aggregation.
            if isinstance(node, exp.AggFunc) and not isinstance(node, _NAVIGATION):
                subtype = "AGGREGATION"
        if subtype != "AGGREGATION":
            subtype = "TRANSFORMATION"
    return subtype, masking


def _only_in_window_spec(column: str, expressions: list) -> bool:
    """True if ``column`` shapes the result only through PARTITION BY / ORDER BY of a window."""
    from sqlglot import exp

    expressions = [e for e in expressions if e is not None]
    if not any(expression.find(exp.Window) for expression in expressions):
        return False  # the common case: no window, nothing to copy
    in_spec = in_value = False
    for expression in expressions:
        for window in expression.find_all(exp.Window):
            spec = [*(window.args.get("partition_by") or []), window.args.get("order")]
            if any(c.name.lower() == column.lower() for part in spec if part is not None
                   for c in part.find_all(exp.Column)):
                in_spec = True
        outside = expression.copy()
        for window in list(outside.find_all(exp.Window)):
            window.set("partition_by", None)
            window.set("order", None)
        if any(c.name.lower() == column.lower() for c in outside.find_all(exp.Column)):
            in_value = True
    return in_spec and not in_value


def _paths(node, trail: list):
    """(leaf, expressions on the way) for every leaf of a sqlglot lineage node."""
    trail = [*trail, node.expression]
    if not node.downstream:
        yield node, trail
    for child in node.downstream:
        yield from _paths(child, trail)


def _indirect_order(edge: Edge) -> tuple:
    # Every field of the edge is in the key: ties would come out in set order, which changes from
    # process to process (string hashing), and so would the facet and the event that carries it.
    return (edge.subtype or "", edge.column or "", edge.source.table, edge.source.column, edge.type, edge.masking)


def _indirect(tree) -> list[Edge]:
    from sqlglot import exp

    edges = []
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for select in tree.find_all(exp.Select):
        tables = {}
        for table in select.find_all(exp.Table):
            # A CTE or subquery is not a source; its own SELECT is visited in turn.
            if table.find_ancestor(exp.Select) is select and not (not table.db and table.name.lower() in ctes):
                tables[table.alias_or_name] = table
        clauses = [("FILTER", select.args.get("where")), ("FILTER", select.args.get("having")),
                   ("GROUP_BY", select.args.get("group")), ("SORT", select.args.get("order"))]
        clauses += [("JOIN", join.args.get("on")) for join in select.args.get("joins") or []]
        for subtype, clause in clauses:
            if clause is None:
                continue
            for column in clause.find_all(exp.Column):
                for table, name in _sources(column, select, tables, subtype):
                    edges.append(Edge(None, Source(_table_name(table), name), "INDIRECT", subtype, False))
        if select is tree or (isinstance(tree, exp.Union) and select.find_ancestor(exp.Select) is None):
            edges += _conditional(select, tables)
    return sorted(set(edges), key=_indirect_order)


def _sources(column, select, tables: dict, subtype: str) -> list[tuple]:
    """(table, column) a clause's column reads; ORDER BY may name an output alias instead."""
    from sqlglot import exp

    table = tables.get(column.table)
    if table is not None and column.name:
        return [(table, column.name)]
    if subtype == "SORT" and not column.table:
        for projection in select.selects:
            if projection.alias_or_name == column.name and isinstance(projection, exp.Alias):
                return [(tables[inner.table], inner.name) for inner in projection.find_all(exp.Column)
                        if inner.table in tables and inner.name]
    return []


def _conditional(select, tables: dict) -> list[Edge]:
    """INDIRECT CONDITIONAL edges: columns in the condition of a CASE/IF that computes an output.

    A column read only in such conditions (not in a value) is returned with subtype
    None too: the caller drops the DIRECT edge lineage() reported for it.
    """
    from sqlglot import exp

    edges = []
    for projection in select.selects:
        name = projection.alias_or_name
        if not name or isinstance(projection, exp.Star):
            continue
        # sqlglot parses IF(c, x, y) and each CASE WHEN c THEN x as exp.If, the condition in ``this``.
        conditions = [node.this for node in projection.find_all(exp.If)]
        in_conditions = {id(c) for condition in conditions for c in condition.find_all(exp.Column)}
        values = {(c.table, c.name) for c in projection.find_all(exp.Column) if id(c) not in in_conditions}
        # A branch that is a bare column passes that column's value as it is: IDENTITY for it.
        branches = [node.args.get("true") for node in projection.find_all(exp.If)]
        branches += [case.args.get("default") for case in projection.find_all(exp.Case)]
        for branch in branches:
            table = tables.get(branch.table) if isinstance(branch, exp.Column) else None
            if table is not None and branch.name:
                edges.append(Edge(name, Source(_table_name(table), branch.name), "DIRECT", "IDENTITY", False))
        for condition in conditions:
            for column in condition.find_all(exp.Column):
                table = tables.get(column.table)
                if table is None or not column.name:
                    continue
                source = Source(_table_name(table), column.name)
                edges.append(Edge(name, source, "INDIRECT", "CONDITIONAL", False))
                if (column.table, column.name) not in values:
                    edges.append(Edge(name, source, "DIRECT", None, False))  # marker: not a value
    return edges


def _target_columns(statement, schema, dialect) -> list[str] | None:
    """The columns an INSERT writes, in order: its column list, else the target table's schema."""
    from sqlglot import exp
    from sqlglot.schema import ensure_schema

    target = statement.this
    if isinstance(target, exp.Schema) and target.expressions:
        return [column.name for column in target.expressions]
    table = target.this if isinstance(target, exp.Schema) else target
    if isinstance(statement, exp.Insert) and isinstance(table, exp.Table) and schema:
        try:
            names = ensure_schema(schema, dialect=dialect).column_names(table, dialect=dialect)
        except Exception:  # an unknown target simply keeps the SELECT's names
            return None
        return list(names) or None
    return None


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


def column_lineage(sql: str, dialect: str | None = None, schema: dict | Schema | None = None) -> list[Edge]:
    """Field-level (``column`` set) and dataset-level (``column`` None) edges of ``sql``.

    ``schema`` is a ``{db: {schema: {table: {column: type}}}}`` mapping or a sqlglot
    ``MappingSchema`` (build one once when lineage of many queries shares it). DDL and other
    statements that move no data (``moves_no_data``) have no edges.
    """
    import logging

    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.lineage import lineage
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import build_scope

    # sqlglot logs what it cannot resolve; the caller reports failures once, as it sees fit.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    try:
        tree = _statement(sql, dialect)
        if tree is None:
            return []
        target_columns = None
        if isinstance(tree, (exp.Create, exp.Insert)) and isinstance(tree.expression, exp.Query):
            target_columns = _target_columns(tree, schema, dialect)
            tree = tree.expression  # CREATE TABLE … AS SELECT / INSERT … SELECT: the query decides
        tree = qualify(tree, schema=schema or None, dialect=dialect, validate_qualify_columns=False,
                       identify=False)
        if not isinstance(tree, exp.Query):
            raise SqlLineageError("not a SELECT query")
        edges: set[Edge] = set()
        indirect = _indirect(tree)  # before lineage, which may rewrite the tree in place (copy=False)
        # One call for every output column, sharing sqlglot's work across them; the scope of the
        # tree qualified above spares lineage() qualifying it a second time.
        roots = lineage(None, tree, schema=schema or {}, dialect=dialect, trim_selects=False, copy=False,
                        scope=build_scope(tree))
        for name, root in roots.items():
            if not name or name == "*":
                continue
            for leaf, trail in _paths(root, []):
                if not isinstance(leaf.source, exp.Table):
                    continue
                column = leaf.name.rsplit(".", 1)[-1].strip('"')
                source = Source(_table_name(leaf.source), column)
                if _only_in_window_spec(column, trail[:-1]):
                    edges.add(Edge(name, source, "INDIRECT", "WINDOW", False))
                    continue
                subtype, masking = _classify(trail[:-1])
                edges.add(Edge(name, source, "DIRECT", subtype, masking))
    except SqlglotError as exc:
        raise SqlLineageError(str(exc).splitlines()[0]) from None
    except SqlLineageError:
        raise
    except Exception as exc:  # sqlglot also fails with assertions and lookups
        raise SqlLineageError(f"{type(exc).__name__}: {exc}") from None
    condition_only = {(e.column, e.source) for e in indirect if e.type == "DIRECT" and e.subtype is None}
    edges |= {e for e in indirect if e.type == "DIRECT" and e.subtype is not None}  # CASE branch identities
    indirect = [e for e in indirect if e.type != "DIRECT"]
    edges = {e for e in edges if not (e.type == "DIRECT" and (e.column, e.source) in condition_only)}
    if target_columns is not None:
        edges = _rename_outputs(edges, tree, target_columns)
        indirect = sorted(_rename_outputs(set(indirect), tree, target_columns), key=_indirect_order)
    ordered = sorted(edges, key=lambda e: (e.column or "", e.source.table, e.source.column, e.subtype or "",
                                          e.type, e.masking))
    return ordered + indirect


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
