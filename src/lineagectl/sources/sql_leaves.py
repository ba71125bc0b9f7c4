"""Where a leaf of sqlglot's lineage tree leads: base-table columns sqlglot's lineage leaves unplaced.

sqlglot ends a path at a placeholder for a subquery's reference to its outer query's column
(``SELECT (SELECT a.x + 1) AS y FROM a``), at ``*`` for a column read through a star no schema
expands (``SELECT x FROM (SELECT * FROM t)``), and reads a ``LATERAL (SELECT …)`` column as every
column the subquery mentions. ``leaf_sources`` follows such leaves on through sqlglot's scopes
to the base-table columns, and ``laterals`` reads LATERAL columns as the subquery's outputs;
``sql_lineage`` types the paths (``sql_edges.path_edges``). ``star_tables`` names the tables an
output ``*`` no schema expands reads (its columns are unknown, so reported). sqlglot is imported on use.
"""

from __future__ import annotations

from lineagectl.sources.sql_edges import listed_columns, paths, table_name


def _scope_of(expression, scopes: dict):
    """The scope whose expression is ``expression``, from the scopes of its query tree (cached by id)."""
    from sqlglot.optimizer.scope import build_scope

    root = expression.root()
    if id(root) not in scopes:
        top = build_scope(root)
        every = list(top.traverse()) if top else []
        scopes[id(root)] = ({id(c): scope for scope in every for c in scope.columns},
                            {id(scope.expression): scope for scope in every})
    return scopes[id(root)]


def _schema(schema, dialect: str | None, scopes: dict):
    """sqlglot's Schema of ``schema`` (a mapping is normalised once per query, kept in ``scopes``)."""
    from sqlglot.schema import ensure_schema

    if "schema" not in scopes:
        scopes["schema"] = ensure_schema(schema, dialect=dialect)
    return scopes["schema"]


def laterals(root, dialect: str | None, schema, scopes: dict) -> dict:
    """``{id(node): the node to read instead}`` for each ``LATERAL (SELECT …) alias`` column of sqlglot's
    lineage tree ``root``: the subquery's output it is (``paths`` reads them). sqlglot takes every
    column the subquery mentions (its WHERE's included) as the source of each of its columns; its
    filters stay dataset-level (``indirect``)."""
    from sqlglot import exp
    from sqlglot.lineage import to_node

    swaps: dict = {}
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        lateral = node.source
        if isinstance(lateral, exp.Lateral) and isinstance(lateral.this, exp.Subquery):
            inner = _scope_of(lateral, scopes)[1].get(id(lateral.this.unnest()))
            if inner is not None:
                swaps[id(node)] = to_node(
                    node.name.rsplit(".", 1)[-1].strip('"'), scope=inner, dialect=dialect, trim_selects=False,
                    schema=_schema(schema, dialect, scopes), scope_name=lateral.alias or None)
                node = swaps[id(node)]
        stack += node.downstream
    return swaps


def leaf_sources(leaf, steps: list, dialect: str | None, schema, scopes: dict):
    """(table, column, steps) of base-table columns a leaf of sqlglot's lineage stands for, ``steps``
    the path to it: a table's column as it is; a star (``*`` of a SELECT without a schema to expand it)
    as the column the path asked of it (``_star``); an outer query's column sqlglot left a placeholder
    (``_outer``). ``scopes`` is the query's cache: the scopes of each tree (``_scope_of``), sqlglot's
    schema, and under ``"unplaced"`` the columns read through a star of several tables (no edge)."""
    from sqlglot import exp

    star = leaf.name == "*" or leaf.name.endswith(".*")
    if isinstance(leaf.source, exp.Table) and not star:
        yield leaf.source, leaf.name.rsplit(".", 1)[-1].strip('"'), steps
    elif star:
        yield from _star(leaf, steps, dialect, schema, scopes)
    elif isinstance(leaf.source, exp.Placeholder):
        yield from _outer(leaf, steps, dialect, schema, scopes)


def _read_on(column: str, scope, alias: str | None, steps: list, dialect: str | None, schema, scopes: dict):
    """``leaf_sources`` of output ``column`` of a CTE/subquery ``scope`` (sqlglot's to_node), on from ``steps``."""
    from sqlglot import exp
    from sqlglot.lineage import to_node

    select = scope.expression
    if isinstance(select, exp.Select) and not any(
            p.alias_or_name.lower() == column.lower() or isinstance(p, exp.Star)
            or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star)) for p in select.selects):
        return  # not among its outputs (a star a partial schema expanded): sqlglot would read them all
    node = to_node(column, scope=scope, dialect=dialect, schema=_schema(schema, dialect, scopes),
                   scope_name=alias or None, trim_selects=False)
    # The node stands for the column the path's last step read (a star, a placeholder): it takes its place.
    for inner, trail in paths(node, [*steps[:-1], (steps[-1][0], node)]):
        yield from leaf_sources(inner, trail, dialect, schema, scopes)


def _star(leaf, steps: list, dialect: str | None, schema, scopes: dict):
    """A star leaf: without a schema sqlglot cannot expand ``SELECT *``, and gives the star's table
    (or CTE) as the source of a column read through it. The column passes through under its name
    (the node above the star's); read from the star's one source, or not at all when the star reads
    several (which one has the column, no schema says)."""
    from sqlglot import exp

    if len(steps) < 2:
        return
    asked = steps[-2][1]
    column = asked.name.rsplit(".", 1)[-1].strip('"')
    stars = [child for child in asked.downstream if child.name == "*" or child.name.endswith(".*")]
    if len(stars) > 1:  # SELECT t.*, u.y …: only the tables of qualified stars pass unnamed columns on
        selects = asked.source.selects if isinstance(asked.source, exp.Select) else []
        qualified = {p.table.lower() for p in selects if isinstance(p, exp.Column) and isinstance(p.this, exp.Star)}
        if not any(isinstance(p, exp.Star) for p in selects) and qualified:
            stars = [child for child in stars if child.source.alias_or_name.lower() in qualified]
        if len(stars) != 1:
            scopes.setdefault("unplaced", set()).add(column)  # reported by the caller
            return
        if stars[0] is not leaf:
            return
    if isinstance(leaf.source, exp.Table):
        yield leaf.source, column, steps
    elif isinstance(leaf.source, exp.Query):  # a CTE's or subquery's SELECT: read on through it
        scope = _scope_of(leaf.source, scopes)[1].get(id(leaf.source))
        if scope is not None:
            yield from _read_on(column, scope, None, steps, dialect, schema, scopes)


def _outer(leaf, steps: list, dialect: str | None, schema, scopes: dict):
    """A placeholder leaf: a subquery's reference to its outer query's column (``SELECT (SELECT a.x + 1)
    AS y FROM a``), followed to the outer source that has its alias (sqlglot's scopes): a table, or a
    CTE/subquery read on. Nothing when the reference cannot be placed."""
    from sqlglot import exp
    from sqlglot.optimizer.scope import Scope

    refs = [c for c in steps[-1][0].find_all(exp.Column) if c.sql(comments=False) == leaf.name] if steps else []
    if not refs:
        return
    column = refs[0]
    scope, alias = _scope_of(column, scopes)[0].get(id(column)), column.table
    # An unqualified one is the column of the one table its nearest query with a FROM reads.
    while scope is not None and not (alias in scope.sources if alias else scope.selected_sources):
        scope = scope.parent
    if scope is None or (not alias and len(scope.selected_sources) != 1):
        return
    source = scope.sources[alias or next(iter(scope.selected_sources))]
    if isinstance(source, exp.Table):
        yield source, column.name, steps
    elif isinstance(source, Scope):
        yield from _read_on(column.name, source, alias, steps, dialect, schema, scopes)


def star_tables(root, tree, dialect: str | None, schema, scopes: dict) -> list[str]:
    """The tables an output ``*`` that no schema expanded reads whose columns no schema lists (``root``:
    its lineage node, ``tree``: the qualified query): of the tables its lineage reaches, else (a CTE's
    own star, where sqlglot's lineage stops) of the query's base tables. The star gives no column."""
    from sqlglot import exp

    names = [node.source for node in root.walk() if isinstance(node.source, exp.Table)]
    if not names:
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        names = [t for t in tree.find_all(exp.Table) if t.db or t.name.lower() not in ctes]
    mapping = _schema(schema, dialect, scopes)
    return list(dict.fromkeys(table_name(t) for t in names if not listed_columns(mapping, t, dialect)))
