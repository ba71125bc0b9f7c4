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
base-table columns. A column the schema does not list is read as its table's
(it costs no other column its lineage). Usable on its own; dbt ingest uses it for
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
    subtype: str | None
    masking: bool


# Functions whose output no longer shows the input value (OpenLineage "masking").
_MASKING_PREFIXES = ("md5", "sha", "hash", "farm_fingerprint", "xxhash", "murmur", "crc32", "count",
                     "approx_count", "hll")


def _table_name(table) -> str:
    return ".".join(part for part in (table.catalog, table.db, table.name) if part)


_NAVIGATION: tuple = ()  # window navigation functions, set on first use (sqlglot loads lazily)


def _classify(expressions: list) -> tuple[str, bool]:
    """Subtype and masking of a whole expression (when the column it reads cannot be found in it)."""
    from sqlglot import exp

    subtype, masking = "IDENTITY", False
    for expression in expressions:
        inner = expression.this if isinstance(expression, exp.Alias) else expression
        if isinstance(inner, (exp.Column, exp.Star)) or inner is None:
            continue
        for node in inner.walk():
            masking = masking or _masks(node)
            if _aggregates(node):
                subtype = "AGGREGATION"
        if subtype != "AGGREGATION":
            subtype = "TRANSFORMATION"
    return subtype, masking


def _masks(node) -> bool:
    from sqlglot import exp

    if not isinstance(node, exp.Func):
        return False
    names = (str(node.name) if isinstance(node, exp.Anonymous) else node.sql_name(), type(node).__name__)
    return any(n.lower().startswith(_MASKING_PREFIXES) for n in names)


def _aggregates(node) -> bool:
    from sqlglot import exp

    global _NAVIGATION
    _NAVIGATION = _NAVIGATION or (exp.Lag, exp.Lead, exp.FirstValue, exp.LastValue, exp.NthValue)
    # LAG/LEAD/FIRST_VALUE… pick one row's value: a transformation, not an aggregation.
    return isinstance(node, exp.AggFunc) and not isinstance(node, _NAVIGATION)


_RANK = {"IDENTITY": 0, "TRANSFORMATION": 1, "AGGREGATION": 2}


def _use(ref, root) -> tuple[str, str | None, bool]:
    """How ``root`` (a projection) uses column ``ref`` in it: ("WINDOW"|"CONDITIONAL", None, False)
    when it only partitions/orders a window or decides a CASE/IF, else ("DIRECT", subtype, masking)."""
    from sqlglot import exp

    node, subtype, masking = ref, "IDENTITY", False
    while node is not root and node.parent is not None:
        parent, key = node.parent, node.arg_key
        if isinstance(parent, exp.Window) and key in ("partition_by", "order"):
            return "WINDOW", None, False
        if isinstance(parent, (exp.If, exp.Case)) and key == "this":
            return "CONDITIONAL", None, False
        bare = (isinstance(parent, (exp.Alias, exp.Paren)) or (isinstance(parent, exp.If) and key in ("true", "false"))
                or (isinstance(parent, exp.Case) and key in ("ifs", "default")))
        if not bare and subtype == "IDENTITY":
            subtype = "TRANSFORMATION"
        if _aggregates(parent):
            subtype = "AGGREGATION"
        masking = masking or _masks(parent)
        node = parent
    return "DIRECT", subtype, masking


def _step_uses(expression, name: str) -> set[tuple[str, str | None, bool]]:
    """The uses (``_use``) of the column a lineage node ``name`` (``alias.column``) names in ``expression``."""
    from sqlglot import exp

    table, _, column = name.rpartition(".")
    table, column = table.rsplit(".", 1)[-1].strip('"').lower(), column.strip('"').lower()
    refs = [c for c in expression.find_all(exp.Column)
            if c.name.lower() == column and (not table or not c.table or c.table.lower() == table)]
    if not refs:
        return {("DIRECT", *_classify([expression]))}
    return {_use(ref, expression) for ref in refs}


def _path_edges(name: str, source: Source, steps: list) -> set[Edge]:
    """Edges of output ``name`` from one lineage path: ``steps`` is [(expression, child name)], outermost first.

    The value flows (DIRECT) only if every step uses it as a value; a step using it as a window
    key or a CASE condition adds that INDIRECT edge."""
    edges: set[Edge] = set()
    direct: list[set] = []
    for expression, child in steps:
        uses = _step_uses(expression, child)
        edges |= {Edge(name, source, "INDIRECT", kind, False) for kind, _, _ in uses if kind != "DIRECT"}
        direct.append({(subtype, masking) for kind, subtype, masking in uses if kind == "DIRECT"})
    if direct and all(direct):
        inner = [max(uses, key=lambda u: (_RANK[u[0]], u[1])) for uses in direct[1:]]
        for subtype, masking in direct[0]:
            for inner_subtype, inner_masking in inner:
                subtype = max(subtype, inner_subtype, key=_RANK.__getitem__)
                masking = masking or inner_masking
            edges.add(Edge(name, source, "DIRECT", subtype, masking))
    return edges


def _paths(node, trail: list):
    """(leaf, [(expression, child name)] on the way) for every leaf of a sqlglot lineage node."""
    if not node.downstream:
        yield node, trail
    for child in node.downstream:
        yield from _paths(child, [*trail, (node.expression, child.name)])


def _indirect_order(edge: Edge) -> tuple:
    # Every field of the edge is in the key: ties would come out in set order, which changes from
    # process to process (string hashing), and so would the facet and the event that carries it.
    return (edge.subtype or "", edge.column or "", edge.source.table, edge.source.column, edge.type, edge.masking)


def _indirect(root_scope) -> list[Edge]:
    """Dataset-level INDIRECT edges (JOIN, FILTER incl. HAVING/QUALIFY, GROUP_BY, SORT) of every
    SELECT of the query, its CTEs and subqueries included, resolved to base-table columns."""
    from sqlglot import exp

    edges = set()
    memo: dict = {}
    for scope in root_scope.traverse():
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue
        clauses = [("FILTER", select.args.get("where")), ("FILTER", select.args.get("having")),
                   ("FILTER", select.args.get("qualify")), ("GROUP_BY", select.args.get("group")),
                   ("SORT", select.args.get("order"))]
        clauses += [("JOIN", join.args.get("on")) for join in select.args.get("joins") or []]
        for subtype, clause in clauses:
            if clause is None:
                continue
            for column in clause.find_all(exp.Column):
                if isinstance(column.this, exp.Star):
                    continue
                found = _resolve(scope, column.table, column.name, memo, set())
                if not found and subtype == "SORT" and not column.table:  # ORDER BY an output alias
                    for projection in select.selects:
                        if isinstance(projection, exp.Alias) and projection.alias_or_name == column.name:
                            for inner in projection.find_all(exp.Column):
                                found |= _resolve(scope, inner.table, inner.name, memo, set())
                for table, name in found:
                    edges.add(Edge(None, Source(table, name), "INDIRECT", subtype, False))
    return sorted(edges, key=_indirect_order)


def _resolve(scope, alias: str, name: str, memo: dict, seen: set) -> set[tuple[str, str]]:
    """Base (table, column) that column ``alias.name`` of ``scope`` reads, through CTEs and subqueries."""
    from sqlglot import exp

    source = scope.sources.get(alias) if alias else None  # qualify() qualified every column it could
    if isinstance(source, exp.Table):
        return {(_table_name(source), name)} if name else set()
    if source is None or not hasattr(source, "expression"):
        return set()
    return _resolve_output(source, name, memo, seen)


def _resolve_output(scope, name: str, memo: dict, seen: set) -> set[tuple[str, str]]:
    """Base (table, column) that output ``name`` of a CTE/subquery scope reads."""
    from sqlglot import exp

    key = (id(scope), name.lower())
    if key in memo:
        return memo[key]
    if key in seen:  # a recursive CTE
        return set()
    seen.add(key)
    found: set[tuple[str, str]] = set()
    if isinstance(scope.expression, exp.SetOperation):
        for branch in getattr(scope, "set_operation_scopes", None) or getattr(scope, "union_scopes", []):
            found |= _resolve_output(branch, name, memo, seen)
    elif isinstance(scope.expression, exp.Select):
        selects = scope.expression.selects
        named = [s for s in selects if s.alias_or_name.lower() == name.lower()]
        for projection in named:
            for column in projection.find_all(exp.Column):
                if not isinstance(column.this, exp.Star):
                    found |= _resolve(scope, column.table, column.name, memo, seen)
        if not named:  # through a star: the column passes on under its name
            for star in selects:
                if isinstance(star, exp.Star):
                    for alias in scope.sources:
                        found |= _resolve(scope, alias, name, memo, seen)
                elif isinstance(star, exp.Column) and isinstance(star.this, exp.Star):
                    found |= _resolve(scope, star.table, name, memo, seen)
    memo[key] = found
    return found


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


def _query(sql: str, dialect: str | None, schema) -> tuple:
    """(qualified query or None, target columns or None) of the one statement of ``sql`` that moves data.

    A column the schema does not list for its table (a catalog older than the model, documented
    columns only) fails sqlglot's qualify as a whole; the statement is then read again with that
    column taken as its table's, so it costs no other column its lineage."""
    from sqlglot import exp
    from sqlglot.errors import OptimizeError
    from sqlglot.optimizer.qualify import qualify

    for partial in (False, True):
        tree = _statement(sql, dialect)
        if tree is None:
            return None, None
        target_columns = None
        if isinstance(tree, (exp.Create, exp.Insert)) and isinstance(tree.expression, exp.Query):
            target_columns = _target_columns(tree, schema, dialect)
            tree = tree.expression  # CREATE TABLE … AS SELECT / INSERT … SELECT: the query decides
        try:
            return qualify(tree, schema=schema or None, dialect=dialect, validate_qualify_columns=False,
                           identify=False, allow_partial_qualification=partial), target_columns
        except OptimizeError as exc:
            if partial or not str(exc).startswith("Unknown column"):
                raise
    raise AssertionError("unreachable")


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
    from sqlglot.optimizer.scope import build_scope

    # sqlglot logs what it cannot resolve; the caller reports failures once, as it sees fit.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    try:
        tree, target_columns = _query(sql, dialect, schema)
        if tree is None:
            return []
        if not isinstance(tree, exp.Query):
            raise SqlLineageError("not a SELECT query")
        edges: set[Edge] = set()
        scope = build_scope(tree)
        if scope is None:
            raise SqlLineageError("no query scope")
        indirect = _indirect(scope)  # before lineage, which may rewrite the tree in place (copy=False)
        # One call for every output column, sharing sqlglot's work across them; the scope of the
        # tree qualified above spares lineage() qualifying it a second time.
        roots = lineage(None, tree, schema=schema or {}, dialect=dialect, trim_selects=False, copy=False,
                        scope=scope)
        for name, root in roots.items():
            if not name or name == "*":
                continue
            for leaf, steps in _paths(root, []):
                if not isinstance(leaf.source, exp.Table):
                    continue
                column = leaf.name.rsplit(".", 1)[-1].strip('"')
                edges |= _path_edges(name, Source(_table_name(leaf.source), column), steps)
    except SqlglotError as exc:
        raise SqlLineageError(str(exc).splitlines()[0]) from None
    except SqlLineageError:
        raise
    except Exception as exc:  # sqlglot also fails with assertions and lookups
        raise SqlLineageError(f"{type(exc).__name__}: {exc}") from None
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
