"""Table-level lineage of every statement of a SQL script: what it writes, what it reads.

``statements(sql, dialect)`` splits a script with the dialect's own tokenizer (a ``;``
inside a string or a comment does not split), parses each statement on its own and
answers, for each, its ``kind`` and the tables it writes (``targets``) and reads
(``sources``), named as written in the SQL (``db.schema.table``, parts present, without
quotes). A statement sqlglot cannot read keeps its text and an ``error``; the others still
answer. CTE names are not sources. A temporary table that an earlier statement of the
script filled is read through: its sources stand in for it (``through`` names it).

Kinds: SELECT, SELECT_INTO, CREATE_TABLE_AS_SELECT (also Spark's ``CACHE TABLE … AS``),
CREATE_TABLE (sources: ``LIKE``/``CLONE``), CREATE_VIEW, INSERT (also ``VALUES``,
``OVERWRITE [DIRECTORY]``, Hive's multi-insert, MySQL's ``REPLACE INTO``), MERGE, UPDATE
(its target is a source too), DELETE, COPY (loads and unloads, files and stages),
DROP (tables and views), ALTER_RENAME (source the old name, target the new; also MySQL's
``RENAME TABLE`` and T-SQL's ``sp_rename``), ALTER, TRUNCATE, OTHER, UNKNOWN (unparsed).

sqlglot is imported when a script is read, not with this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Statement:
    """One statement of a script and its table-level lineage."""

    index: int
    sql: str
    kind: str = "UNKNOWN"
    targets: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    error: str | None = None
    temporary: bool = False  # it creates a temporary table
    through: list[str] = field(default_factory=list)  # temporary tables read through (their sources added)
    tree: Any = field(default=None, repr=False, compare=False)  # the parsed statement (sqlglot), None if unparsed


def table_name(table: Any) -> str:
    """``catalog.db.name`` of a sqlglot ``Table``, parts present, as written (without quotes)."""
    from sqlglot import exp

    this = table.this
    name = this.name if isinstance(this, exp.Identifier) else this.sql() if this is not None else ""
    if "$" in name and not name.startswith("$"):  # BigQuery's partition decorator: table$20230101
        name = name.split("$", 1)[0]
    return ".".join(part for part in (table.catalog, table.db, name) if part)


def split(sql: str, dialect: str | None = None) -> list[str]:
    """The statements of ``sql`` as text, split at the ``;`` tokens of ``dialect``'s tokenizer.

    Where the script cannot be tokenized (an unterminated string, say) it is one statement.
    """
    from sqlglot.dialects import Dialect
    from sqlglot.tokens import TokenType

    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(sql)
    except Exception:  # sqlglot's TokenError and whatever else a broken script raises
        return [sql] if sql.strip() else []
    pieces, start = [], 0
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            pieces.append(sql[start:token.start])
            start = token.end + 1
    pieces.append(sql[start:])
    return [piece.strip() for piece in pieces if piece.strip()]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _is_temporary(tree: Any) -> bool:
    from sqlglot import exp

    into = tree.args.get("into") if isinstance(tree, exp.Select) else None
    if into is not None and into.args.get("temporary"):  # SELECT … INTO #t (T-SQL), INTO TEMP t (Postgres)
        return True
    properties = tree.args.get("properties")
    if properties is not None and any(isinstance(p, (exp.TemporaryProperty, exp.VolatileProperty))
                                      for p in properties.expressions):
        return True
    target = tree.find(exp.Table)
    return target is not None and target.name.startswith("#")  # T-SQL's and Redshift's temporary tables


def _targets(tree: Any) -> tuple[str, list]:
    """The statement's kind and the ``Table`` nodes it writes (or drops, or renames)."""
    from sqlglot import exp

    def written(node: Any) -> list:
        node = node.this if isinstance(node, exp.Schema) else node
        return [node] if isinstance(node, exp.Table) else []

    if isinstance(tree, exp.MultitableInserts):
        return "INSERT", [t for insert in tree.expressions for t in written(insert.this)]
    if isinstance(tree, exp.Insert):
        return "INSERT", written(tree.this)
    if isinstance(tree, exp.Cache) and isinstance(tree.expression, exp.Query):  # Spark: CACHE TABLE t AS SELECT
        return "CREATE_TABLE_AS_SELECT", written(tree.this)
    if isinstance(tree, exp.Create):
        kind = str(tree.args.get("kind") or "").upper()
        if kind == "VIEW":
            return "CREATE_VIEW", written(tree.this)
        if kind == "TABLE":
            query = isinstance(tree.expression, exp.Query)
            return ("CREATE_TABLE_AS_SELECT" if query else "CREATE_TABLE"), written(tree.this)
        return "OTHER", []
    if isinstance(tree, exp.Update):
        return "UPDATE", _aliased(tree, written(tree.this))
    if isinstance(tree, (exp.Merge, exp.Delete)):
        return type(tree).__name__.upper(), written(tree.this)
    if isinstance(tree, exp.Copy):  # COPY [INTO] t FROM files (a load), or COPY t|(query) TO files (an unload)
        if tree.args.get("kind"):
            return "COPY", written(tree.this)
        return "COPY", [f for f in tree.args.get("files") or [] if isinstance(f, exp.Table)]
    if isinstance(tree, exp.Drop):
        if str(tree.args.get("kind") or "").upper() not in ("TABLE", "VIEW"):
            return "DROP", []  # a schema, a function, an index: no dataset
        return "DROP", [t for t in tree.args.get("tables") or [tree.this] if isinstance(t, exp.Table)]
    if isinstance(tree, exp.Alter):
        renames = [a for a in tree.args.get("actions") or [] if isinstance(a, exp.AlterRename)]
        if renames:
            return "ALTER_RENAME", written(renames[0].this)
        return "ALTER", written(tree.this)
    if isinstance(tree, exp.TruncateTable):
        return "TRUNCATE", [t for t in tree.expressions if isinstance(t, exp.Table)]
    if isinstance(tree, exp.Query):
        into = tree.args.get("into") if isinstance(tree, exp.Select) else None
        if into is not None:
            return "SELECT_INTO", written(into.this)
        return "SELECT", []
    return "OTHER", []


def _aliased(tree: Any, targets: list) -> list:
    """T-SQL's ``UPDATE t SET … FROM tab1 t JOIN …``: the target is the table its alias names."""
    from sqlglot import exp

    if len(targets) != 1 or targets[0].db:
        return targets
    from_ = tree.args.get("from") or tree.args.get("from_")
    for table in (from_.find_all(exp.Table) if from_ is not None else []):
        if table.alias and table.alias.lower() == targets[0].name.lower():
            return [table]
    return targets


def _sources(tree: Any, kind: str, targets: list) -> list[str]:
    """The tables ``tree`` reads, in order of appearance: every ``Table`` but the targets' own
    nodes, CTE references and table functions."""
    from sqlglot import exp

    if kind in ("DROP", "TRUNCATE", "OTHER"):
        return []
    if kind == "CREATE_TABLE":  # CREATE TABLE a LIKE b, … CLONE b: b; a column list reads nothing
        return [table_name(t) for node in tree.find_all(exp.LikeProperty, exp.Clone)
                for t in node.find_all(exp.Table)]
    if kind == "ALTER_RENAME":
        return [table_name(tree.this)] if isinstance(tree.this, exp.Table) else []
    if kind == "ALTER":
        return []
    # An UPDATE reads the rows it rewrites (SET x = x + 1, its WHERE): its target is a source too.
    written = set() if kind == "UPDATE" else {id(t) for t in targets}
    if kind == "UPDATE" and targets and targets[0] is not tree.this:
        written.add(id(tree.this))  # the alias the T-SQL UPDATE names, not a table
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    found: list[str] = []
    for table in tree.find_all(exp.Table):
        if id(table) in written:
            continue
        if not isinstance(table.this, exp.Identifier) and not (kind == "COPY" and isinstance(table.this, exp.Var)):
            continue  # UNNEST(…), generate_series(…): no table
        if not table.db and not table.catalog and table.name.lower() in ctes:
            continue
        name = table_name(table)
        if name and name not in found:
            found.append(name)
    return found


def _understood(tree: Any, dialect: str | None) -> Any:
    """What sqlglot leaves a ``Command`` or an ``EXECUTE``, read as the statement it is: MySQL's
    ``REPLACE INTO`` an INSERT, its ``RENAME TABLE a TO b`` and T-SQL's ``sp_rename 'a', 'b'``
    an ``ALTER TABLE … RENAME``. Anything else is returned as it is."""
    import re

    import sqlglot
    from sqlglot import exp

    text = None
    if isinstance(tree, exp.Command) and isinstance(tree.expression, exp.Literal):
        verb, rest = str(tree.this).upper(), tree.expression.name
        if verb == "REPLACE" and rest.upper().startswith("INTO"):
            text = f"INSERT {rest}"
        match = re.fullmatch(r"TABLE\s+(\S+)\s+TO\s+(\S+)", rest.strip(), re.I) if verb == "RENAME" else None
        if match:
            text = f"ALTER TABLE {match[1]} RENAME TO {match[2]}"
    elif isinstance(tree, exp.Execute) and isinstance(tree.this, exp.Table) and tree.this.name.lower() == "sp_rename":
        names = [e.name for e in tree.expressions if isinstance(e, exp.Literal)]
        if len(names) >= 2 and len(names[1].split(".")) == 1:  # 'schema.old', 'new': the new name keeps the schema
            schema = names[0].rsplit(".", 1)[0] + "." if "." in names[0] else ""
            text = f"ALTER TABLE {names[0]} RENAME TO {schema}{names[1]}"
    if text is None:
        return tree
    try:
        return sqlglot.parse_one(text, read=dialect)
    except Exception:  # not what it looked like: keep sqlglot's own reading
        return tree


def _describe(statement: Statement, dialect: str | None) -> None:
    from sqlglot import exp

    tree = statement.tree
    kind, nodes = _targets(tree)
    statement.kind = kind
    for node in nodes:
        name = table_name(node)
        if name and name not in statement.targets:
            statement.targets.append(name)
    statement.sources = _sources(tree, kind, nodes)
    if isinstance(tree, exp.Insert) and isinstance(tree.this, exp.Directory):  # INSERT OVERWRITE DIRECTORY '/x'
        statement.targets.append(tree.this.name)
    if kind == "COPY":  # files named by a string: '/data/x.csv', 's3://bucket/key'
        files = [f.name for f in tree.args.get("files") or [] if isinstance(f, exp.Literal) and f.is_string]
        if tree.args.get("kind"):
            statement.sources += [f for f in files if f not in statement.sources]
        else:
            statement.targets += [f for f in files if f not in statement.targets]
    statement.temporary = kind in ("CREATE_TABLE_AS_SELECT", "CREATE_VIEW", "SELECT_INTO")
    # A cached table (Spark's CACHE TABLE t AS SELECT) lives as long as the session.
    statement.temporary = statement.temporary and (isinstance(tree, exp.Cache) or _is_temporary(tree))


def _is_bare_expression(tree: Any) -> bool:
    """``SELEC a``, ``foo``, ``a + b``: sqlglot parses a script's text that starts with no statement
    keyword it knows as a lone expression (a column, an alias, arithmetic) instead of refusing it."""
    from sqlglot import exp

    return isinstance(tree, (exp.Condition, exp.Alias)) and not isinstance(tree, exp.Query)


def _excerpt(text: str, limit: int = 40) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[:limit - 1] + "…")


def _read_through(statements: list[Statement]) -> None:
    """Sources that are temporary tables filled earlier in the script: their sources instead."""
    temporary: dict[str, list[str]] = {}
    for statement in statements:
        sources: list[str] = []
        for source in statement.sources:
            if source.lower() in temporary:
                statement.through.append(source)
                sources += [s for s in temporary[source.lower()] if s not in sources]
            elif source not in sources:
                sources.append(source)
        statement.sources = sources
        for target in statement.targets:
            if statement.temporary:
                known = temporary.setdefault(target.lower(), [])
                known += [s for s in sources if s not in known]
            elif statement.kind in ("DROP", "ALTER_RENAME"):
                temporary.pop(target.lower(), None)


def statements(sql: str, dialect: str | None = None) -> list[Statement]:
    """Every statement of ``sql`` with its kind, targets and sources (see the module's docstring)."""
    import logging

    import sqlglot

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    found = []
    for index, text in enumerate(split(sql, dialect)):
        statement = Statement(index=index, sql=text)
        try:
            trees = [t for t in sqlglot.parse(text, read=dialect) if t is not None]
        except Exception as exc:  # sqlglot's ParseError/TokenError, and assertions on odd input
            statement.error = _first_line(exc)
            found.append(statement)
            continue
        if not trees:
            continue
        if _is_bare_expression(trees[0]):
            statement.error = f"not a statement: sqlglot reads {_excerpt(text)} as an expression (a misspelt keyword?)"
            found.append(statement)
            continue
        statement.tree = _understood(trees[0], dialect)
        try:
            _describe(statement, dialect)
        except Exception as exc:  # a shape sqlglot builds that this module does not know
            statement.error = f"{type(exc).__name__}: {_first_line(exc)}"
        found.append(statement)
    _read_through(found)
    return found
