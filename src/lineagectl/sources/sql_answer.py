"""Lineage of a SQL script without a store: each statement's tables and typed column edges.

``answer(sql, dialect, schema)`` is ``lineagectl sql`` and ``api.sql_lineage``: for every
statement (``sql_statements``) its kind, targets and sources, and — where the statement
moves data and its columns resolve — the column edges of ``sql_lineage.column_lineage``:
``columns`` (one per output column and input field) and ``dataset`` (the dataset-wide
INDIRECT influence: joins, filters, group by …). A statement whose columns do not resolve
keeps its table-level answer and says why in ``errors``.

``schema`` is ``{"db.schema.table": {"column": "type"}}`` (names at any depth, all tables at
the same depth), sqlglot's nested form, or the path of a file holding either (JSON or YAML)
or a dbt ``catalog.json``; ``load_schema`` reads such a file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lineagectl.common.dialects import option_dialect
from lineagectl.errors import InputError
from lineagectl.sources.sql_budget import budget_seconds, call_within
from lineagectl.sources.sql_lineage import SqlLineageError, moves_no_data, statement_lineage
from lineagectl.sources.sql_names import schema_key
from lineagectl.sources.sql_script import compose, written_columns
from lineagectl.sources.sql_statements import Statement, statements, table_name

# Statements whose columns sqlglot's lineage cannot read today: their tables still answer.
_NO_COLUMNS = ("DROP", "ALTER", "ALTER_RENAME", "TRUNCATE", "CREATE_TABLE", "OTHER", "COPY", "DELETE")


def _is_columns(value: Any) -> bool:
    """True for ``{"column": "type"}``: the leaf of a schema."""
    return isinstance(value, dict) and all(not isinstance(v, dict) for v in value.values())


def nested_schema(schema: dict) -> dict:
    """``schema`` in sqlglot's nested form: dotted table names (``"db.t"``) split into levels.

    Raises ``InputError`` when it is not a mapping of tables to ``{column: type}`` or when its
    tables are named at different depths (sqlglot needs one depth).
    """
    if not isinstance(schema, dict):
        raise InputError("a schema maps table names to {column: type}")
    tables: dict[tuple[str, ...], dict] = {}

    def collect(node: dict, path: tuple[str, ...]) -> None:
        for key, value in node.items():
            if not isinstance(value, dict):
                raise InputError(f"schema entry {'.'.join((*path, str(key)))!r} is not a table or a level",
                                 hint='write {"db.schema.table": {"column": "type"}}')
            name = (*path, *str(key).split("."))
            if _is_columns(value):
                tables[name] = {str(c): str(t) if t is not None else "VARCHAR" for c, t in value.items()}
            else:
                collect(value, name)

    collect(schema, ())
    if len({len(name) for name in tables}) > 1:
        raise InputError("the schema names its tables at different depths",
                         hint="name every table the same way, e.g. all as db.schema.table")
    nested: dict = {}
    for name, columns in tables.items():
        node = nested
        for part in name[:-1]:
            node = node.setdefault(part, {})
        node[name[-1]] = columns
    return nested


def _catalog_schema(catalog: dict, dialect: str | None) -> dict:
    """A dbt ``catalog.json``'s tables (nodes and sources) as ``{"db.schema.table": {column: type}}``,
    its columns named as the warehouse stores them (``sql_names.schema_key``: Postgres's ``BillingMonth``
    keeps its case)."""
    tables = {}
    for node in [*(catalog.get("nodes") or {}).values(), *(catalog.get("sources") or {}).values()]:
        metadata = node.get("metadata") or {}
        name = ".".join(p for p in (metadata.get("database"), metadata.get("schema"), metadata.get("name")) if p)
        if name:
            tables[name] = {schema_key(c.get("name") or key, dialect): c.get("type") or "VARCHAR"
                            for key, c in (node.get("columns") or {}).items()}
    return tables


def load_schema(path: str | Path, dialect: str | None = None) -> dict:
    """The schema in ``path`` (JSON or YAML mapping, or a dbt ``catalog.json`` of the warehouse of
    ``dialect``), nested for sqlglot.

    Raises ``InputError`` when the file cannot be read or is not a schema.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read schema file {str(path)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"schema file {str(path)!r} is not UTF-8 text") from None
    is_yaml = path.suffix.lower() in (".yaml", ".yml")
    try:
        if is_yaml:
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # json's and yaml's own errors
        raise InputError(f"schema file {str(path)!r} is not {'YAML' if is_yaml else 'JSON'}: "
                         f"{str(exc).splitlines()[0]}") from None
    if isinstance(data, dict) and isinstance(data.get("metadata"), dict) and "nodes" in data:
        data = _catalog_schema(data, dialect)
    return nested_schema(data or {})


def _written(tree: Any) -> dict[str, str]:
    """The tables ``tree`` names, as written, by their lower-case name: sqlglot's lineage names a
    table as the dialect stores it (Snowflake's ``orders`` as ``ORDERS``); the answer, as written."""
    from sqlglot import exp

    return {table_name(t).lower(): table_name(t) for t in tree.find_all(exp.Table)}


def _edge(edge: Any, target: str | None, written: dict[str, str]) -> dict:
    source = written.get(edge.source.table.lower(), edge.source.table)
    item = {"target": target, "source": source, "source_column": edge.source.column,
            "type": edge.type, "subtype": edge.subtype, "masking": edge.masking}
    if edge.column is not None:
        return {"target": target, "column": edge.column, **{k: v for k, v in item.items() if k != "target"}}
    return item


def _parts(statement: Statement) -> list[tuple[str | None, Any]]:
    """(target, parsed statement) of each query whose columns are read: the statement itself, or each INSERT of a
    Hive multi-insert (``FROM src INSERT … SELECT … INSERT … SELECT …``) as ``INSERT … SELECT … FROM src``."""
    from sqlglot import exp

    tree = statement.tree
    if not isinstance(tree, exp.MultitableInserts):
        return [(statement.targets[0] if len(statement.targets) == 1 else None, tree)]
    source, with_ = tree.args.get("source"), tree.args.get("with_")
    ctes = {cte.alias_or_name.lower(): cte for cte in (with_.expressions if with_ is not None else [])}
    if isinstance(source, exp.Table) and not source.db and source.name.lower() in ctes:
        # FROM a CTE: read from its query as a subquery, as `WITH … INSERT` would lose the CTE's lineage.
        cte = ctes[source.name.lower()]
        source = exp.Subquery(this=cte.this.copy(), alias=exp.TableAlias(this=exp.to_identifier(source.alias_or_name)))
    parts: list[tuple[str | None, Any]] = []
    for insert, target in zip(tree.expressions, statement.targets, strict=False):
        insert = insert.copy()
        query = insert.expression
        if isinstance(query, exp.Select) and source is not None:
            query.from_(source.copy(), copy=False)
        parts.append((target, insert))
    return parts


def _statement(statement: Statement, dialect: str | None, schema: dict | None, seconds: float | None) -> dict:
    errors = [statement.error] if statement.error else []
    columns: list[dict] = []
    dataset: list[dict] = []
    if statement.tree is not None and statement.kind not in _NO_COLUMNS and not moves_no_data(statement.tree):
        for target, tree in _parts(statement):
            where = f"column lineage{f' of {target}' if target else ''}"
            problems: list[str] = []
            try:
                edges = call_within(seconds, statement_lineage, tree, dialect, schema, problems)
            except SqlLineageError as exc:  # StatementTimeout (past the budget) is one
                reason = f"not read yet for {statement.kind}" if str(exc) == "not a SELECT query" else str(exc)
                errors.append(f"{where}: {reason}")
                continue
            errors += [f"{where}: {problem}" for problem in problems]
            written = _written(tree)
            for edge in edges:
                (columns if edge.column is not None else dataset).append(_edge(edge, target, written))
    return {"index": statement.index, "kind": statement.kind, "targets": statement.targets,
            "sources": statement.sources, "columns": columns, "dataset": dataset, "errors": errors,
            **({"temporary": True} if statement.temporary else {}),
            **({"through": statement.through} if statement.through else {})}


def table_graph(payload: dict) -> dict:
    """The tables of an answer as a graph for dot/mermaid: a node per table, an edge per
    (source, target) of a statement labelled with its kind; a dropped table is marked ``dropped``."""
    nodes: dict[str, dict] = {}
    edges: list[dict] = []

    def node(name: str) -> None:
        nodes.setdefault(name, {"id": name, "label": name, "kind": "dataset", "marks": []})

    for statement in payload["statements"]:
        for name in statement["sources"] + statement["targets"]:
            node(name)
        if statement["kind"] == "DROP":
            for name in statement["targets"]:
                nodes[name]["marks"] = ["dropped"]
        for target in statement["targets"]:
            for source in statement["sources"]:
                edge = {"source": source, "target": target, "label": statement["kind"]}
                if edge not in edges:
                    edges.append(edge)
    return {"nodes": list(nodes.values()), "edges": edges}


def answer(sql: str, dialect: str | None = None, schema: dict | str | Path | None = None,
           timeout: float | None = None) -> dict:
    """``{"statements": [{index, kind, targets, sources, columns, dataset, errors}], "script": {targets,
    sources, columns, dataset}}`` of ``sql``: each statement as it reads and writes, and the script as a
    whole, composed through the tables it writes then reads (``sql_script.compose``). A table a
    statement fills is read by the later ones with the columns it was written with.

    ``dialect`` is any name ``common.dialects`` knows (``InputError`` otherwise); see the
    module's docstring for ``schema``. ``temporary`` (only when true) marks a statement that
    fills a temporary table; ``through`` lists the temporary tables a statement was read
    through, when it read any. A statement whose column lineage takes longer than ``timeout``
    CPU seconds (None: ``sql_budget``'s default, 0: no limit) keeps its table-level answer and
    says so in ``errors``.
    """
    dialect = option_dialect(dialect)
    seconds = budget_seconds(timeout)
    if isinstance(schema, (str, Path)):
        schema = load_schema(schema, dialect)
    elif schema is not None:
        schema = nested_schema(schema)
    answers = []
    for statement in statements(sql, dialect):
        answers.append(_statement(statement, dialect, schema or None, seconds))
        if statement.tree is not None:  # what it writes, a later statement reads with its columns known
            for table, names in written_columns(answers[-1], statement.tree).items():
                schema = _with_table(schema, table, names)
    return {"statements": answers, "script": compose(answers)}


def _with_table(schema: dict | None, table: str, columns: list[str]) -> dict | None:
    """``schema`` (nested) with ``table``'s columns added, unless it names the table already or names
    its tables at another depth (sqlglot needs one)."""
    import copy

    parts = table.split(".")
    depth, node = 0, schema or {}
    while node and not _is_columns(node):
        node = next(iter(node.values()))
        depth += 1
    if (schema and depth != len(parts)) or not columns:
        return schema
    grown = copy.deepcopy(schema) if schema else {}
    level = grown
    for part in parts[:-1]:
        level = level.setdefault(part, {})
        if _is_columns(level) and level:
            return schema
    level.setdefault(parts[-1], dict.fromkeys(columns, "VARCHAR"))
    return grown
