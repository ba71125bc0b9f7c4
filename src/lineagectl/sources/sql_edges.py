"""How a SQL query's output columns use their source columns: typed lineage edges (sqlglot).

``path_edges`` types one path of sqlglot's lineage tree (a column copied, computed,
aggregated, masked; or only deciding a window or a CASE/IF: INDIRECT WINDOW/CONDITIONAL);
``indirect`` gives the dataset-level INDIRECT edges of every SELECT of a query (JOIN, FILTER
incl. HAVING/QUALIFY, GROUP_BY, SORT) resolved through CTEs and subqueries to base-table
columns. ``sql_lineage.column_lineage`` puts them together; sqlglot is imported on use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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


def table_name(table) -> str:
    return ".".join(part for part in (table.catalog, table.db, table.name) if part)


def listed_columns(mapping, table, dialect: str | None) -> list[str]:
    """The columns sqlglot's Schema ``mapping`` lists for ``table`` (sqlglot's Table), [] when it lists none."""
    try:
        return list(mapping.column_names(table, dialect=dialect))
    except Exception:  # a name the schema cannot place
        return []


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
        bare = (isinstance(parent, (exp.Alias, exp.Paren, exp.Subquery))
                or (isinstance(parent, exp.If) and key in ("true", "false"))
                or (isinstance(parent, exp.Case) and key in ("ifs", "default")))
        if not bare and subtype == "IDENTITY":
            subtype = "TRANSFORMATION"
        if _aggregates(parent):
            subtype = "AGGREGATION"
        masking = masking or _masks(parent)
        node = parent
    return "DIRECT", subtype, masking


def _step_uses(expression, child) -> set[tuple[str, str | None, bool]]:
    """The uses (``_use``) in ``expression`` of what lineage node ``child`` stands for: a scalar
    subquery of the expression (``CASE WHEN (SELECT max(x) …) > 0 …``), else the column its name
    (``alias.column``) names."""
    from sqlglot import exp

    query = child.source
    if isinstance(query, exp.Query):
        node: Any = query
        while node is not None and node is not expression:
            node = node.parent
        if node is expression:
            return {_use(query, expression)}
    table, _, column = child.name.rpartition(".")
    table, column = table.rsplit(".", 1)[-1].strip('"').lower(), column.strip('"').lower()
    refs = [c for c in expression.find_all(exp.Column)
            if c.name.lower() == column and (not table or not c.table or c.table.lower() == table)]
    if not refs:
        return {("DIRECT", *_classify([expression]))}
    return {_use(ref, expression) for ref in refs}


def path_edges(name: str, source: Source, steps: list, memo: dict | None = None) -> set[Edge]:
    """Edges of output ``name`` from one lineage path: ``steps`` is [(expression, child node)], outermost first.

    The value flows (DIRECT) only if every step uses it as a value; a step using it as a window
    key or a CASE condition adds that INDIRECT edge. ``memo`` (one per query) keeps each step's uses
    for the other paths through it: a 33k-character dbt model walked one step 26,076 times."""
    edges: set[Edge] = set()
    direct: list[set] = []
    for expression, child in steps:
        key = (id(expression), child.name, id(child.source))  # what _step_uses reads; alive all query long
        uses = memo.get(key) if memo is not None else None
        if uses is None:
            uses = _step_uses(expression, child)
            if memo is not None:
                memo[key] = uses
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


def paths(node, trail: list, swaps: dict | None = None):
    """(leaf, [(expression, child node)] on the way) for every leaf of a sqlglot lineage node, each
    node in ``swaps`` (``laterals``) read as the node it maps to."""
    if not node.downstream:
        yield node, trail
    for child in node.downstream:
        child = swaps.get(id(child), child) if swaps else child
        yield from paths(child, [*trail, (node.expression, child)], swaps)


def indirect_order(edge: Edge) -> tuple:
    # Every field of the edge is in the key: ties would come out in set order, which changes from
    # process to process (string hashing), and so would the facet and the event that carries it.
    return (edge.subtype or "", edge.column or "", edge.source.table, edge.source.column, edge.type, edge.masking)


def indirect(root_scope) -> list[Edge]:
    """Dataset-level INDIRECT edges (JOIN, FILTER incl. HAVING/QUALIFY, GROUP_BY, SORT) of every
    SELECT of the query, its CTEs and subqueries included, resolved to base-table columns."""
    from sqlglot import exp

    edges = set()
    memo: dict = {}
    # A clause's columns inside a subquery (x IN (SELECT y …), EXISTS (SELECT … WHERE …)) belong to
    # that subquery's scope: they decide the clause too, and are read there.
    owners = {id(column): scope for scope in root_scope.traverse() for column in scope.columns}
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
                owner = owners.get(id(column), scope)
                aliased = [p for p in select.selects if isinstance(p, exp.Alias) and p.alias_or_name == column.name]
                if aliased and subtype == "SORT" and not column.table and owner is scope:  # ORDER BY an alias
                    found = set()
                    for inner in aliased[0].find_all(exp.Column):
                        found |= _resolve(scope, inner.table, inner.name, memo, set())
                else:
                    found = _resolve_outward(owner, column.table, column.name, memo)
                for table, name in found:
                    edges.add(Edge(None, Source(table, name), "INDIRECT", subtype, False))
    return sorted(edges, key=indirect_order)


def _resolve_outward(scope, alias: str, name: str, memo: dict) -> set[tuple[str, str]]:
    """``_resolve`` in ``scope`` or, for a correlated subquery's outer reference, the scope that has ``alias``."""
    while alias and scope is not None and alias not in scope.sources:
        scope = scope.parent
    return set() if scope is None else _resolve(scope, alias, name, memo, set())


def _resolve(scope, alias: str, name: str, memo: dict, seen: set) -> set[tuple[str, str]]:
    """Base (table, column) that column ``alias.name`` of ``scope`` reads, through CTEs and subqueries."""
    from sqlglot import exp

    if not alias and len(scope.selected_sources) == 1:  # qualify() leaves a lone unknown source's columns
        (alias,) = scope.selected_sources
    source = scope.sources.get(alias) if alias else None
    if isinstance(source, exp.Table):
        return {(table_name(source), name)} if name else set()
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
