"""SQL for a GDPR plan step: a ``DELETE``/``SELECT`` of the subject's rows in the dataset's dialect.

Every identifier is quoted as lineage recorded it (sqlglot builds the
statement, never string formatting) and the subject's value is a placeholder,
bound by whoever runs the statement: it never enters the SQL text.

Placeholders are those of the dialect's usual Python driver (``PARAMSTYLES``;
sqlglot's own elsewhere): positional (``%s``, ``?``, ``:1``) when every key holds
the subject's value as given; when a key holds a masked form of it (a hash the
operator must compute), every placeholder of the statement is named after its
key column (``%(email_hash)s``, ``@email_hash``, ``$email_hash``,
``:email_hash``), so the parameters are bound by name and a value nobody
computed cannot be bound by mistake. Drivers that ``%``-format the SQL text
(psycopg2, clickhouse-driver) read ``%%`` as ``%``: there, a ``%`` of an
identifier is written ``%%``. A dataset name no statement can address (an empty
part, more than three parts) is refused with the reason, never cut to another
table's name (``docs/erase.md``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lineagectl.common.dialects import dialect_of_namespace, option_dialect

# Oracle's reserved words (SQL Language Reference, "Oracle SQL Reserved Words"): no bind variable may be
# named so (ORA-01745).
_ORACLE_RESERVED = """
ACCESS ADD ALL ALTER AND ANY AS ASC AUDIT BETWEEN BY CHAR CHECK CLUSTER COLUMN COMMENT COMPRESS CONNECT CREATE
CURRENT DATE DECIMAL DEFAULT DELETE DESC DISTINCT DROP ELSE EXCLUSIVE EXISTS FILE FLOAT FOR FROM GRANT GROUP
HAVING IDENTIFIED IMMEDIATE IN INCREMENT INDEX INITIAL INSERT INTEGER INTERSECT INTO IS LEVEL LIKE LOCK LONG
MAXEXTENTS MINUS MLSLABEL MODE MODIFY NOAUDIT NOCOMPRESS NOT NOWAIT NULL NUMBER OF OFFLINE ON ONLINE OPTION OR
ORDER PCTFREE PRIOR PUBLIC RAW RENAME RESOURCE REVOKE ROW ROWID ROWNUM ROWS SELECT SESSION SET SHARE SIZE
SMALLINT START SUCCESSFUL SYNONYM SYSDATE TABLE THEN TO TRIGGER UID UNION UNIQUE UPDATE USER VALIDATE VALUES
VARCHAR VARCHAR2 VIEW WHENEVER WHERE WITH"""
ORACLE_RESERVED = frozenset(_ORACLE_RESERVED.split())


@dataclass(frozen=True)
class Paramstyle:
    """How a dialect's Python driver writes placeholders: ``positional`` (``{n}`` the 1-based position;
    None when the driver binds by name only) and ``named`` (``{name}``)."""

    positional: str | None
    named: str
    percent: bool = False  # the driver %-formats the SQL text: a % of an identifier is written %%
    reserved: frozenset[str] = frozenset()  # words no placeholder may be named (compared in upper case)
    longest: int | None = None  # the longest name a placeholder may have


PYFORMAT = Paramstyle("%s", "%({name})s", percent=True)
PARAMSTYLES: dict[str, Paramstyle] = {
    "postgres": PYFORMAT,  # psycopg2, psycopg 3
    "redshift": PYFORMAT,  # psycopg2; redshift_connector with paramstyle "format"/"pyformat"
    # clickhouse-driver binds a dict only; clickhouse-connect binds %(name)s client-side too.
    "clickhouse": Paramstyle(None, "%({name})s", percent=True),
    "oracle": Paramstyle(":{n}", ":{name}", reserved=ORACLE_RESERVED, longest=30),  # python-oracledb
}


class Unaddressable(ValueError):
    """A dataset name no statement can address as a table; the message says why."""


def placeholder_names(columns: Iterable[str], style: Paramstyle | None = None) -> dict[str, str]:
    """A parameter name for each column: its name in lower case with every character outside
    ``[a-z0-9_]`` made ``_`` (so no column name can put text into the SQL), unique within the statement,
    and neither a word ``style`` reserves nor longer than it allows."""
    reserved, longest = (style.reserved, style.longest) if style else (frozenset(), None)
    names: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        base = re.sub(r"[^a-z0-9_]+", "_", column.lower()).strip("_") or "key"
        base = f"k_{base}" if base[0].isdigit() else base
        base = f"{base}_key" if base.upper() in reserved else base
        name, n = base[:longest], 1
        while name in taken:
            n += 1
            name = f"{base[:longest - len(str(n)) - 1] if longest else base}_{n}"
        taken.add(name)
        names[column] = name
    return names


def table_parts(name: str) -> list[str]:
    """The parts of a dataset name a table is addressed by (``catalog.schema.table``); ``Unaddressable`` when
    a part is empty or there are more than three: leaving one out would address another table."""
    parts = name.split(".")
    if "" in parts:
        raise Unaddressable(f"the name {name!r} has an empty part, and leaving it out would name another table")
    if len(parts) > 3:
        raise Unaddressable(f"the name {name!r} has {len(parts)} parts where a table has at most three "
                            "(catalog.schema.table), and leaving one out would name another table")
    return parts


def _dialect(namespace: str, dialect: str | None) -> str | None:
    return option_dialect(dialect) if dialect else dialect_of_namespace(namespace)


def statement(verb: str, namespace: str, name: str, columns: list[str], dialect: str | None,
              named: dict[str, str] | None = None) -> str | None:
    """``DELETE``/``SELECT`` of the rows whose ``columns`` equal the subject's key, in the dialect;
    None when the dataset is not a SQL table, ``Unaddressable`` when its name cannot address one.
    Placeholders are positional, in ``columns`` order, unless ``named`` (column → parameter name, see
    ``placeholder_names``) is given: then each is named."""
    from sqlglot import exp

    dialect = _dialect(namespace, dialect)
    if dialect is None or not columns or "/" in name:
        return None
    style = PARAMSTYLES.get(dialect)
    escape = (lambda text: text.replace("%", "%%")) if style and style.percent else (lambda text: text)
    parts = [exp.to_identifier(escape(p), quoted=True) for p in reversed(table_parts(name))]
    table = exp.Table(this=parts[0], db=parts[1] if len(parts) > 1 else None,
                      catalog=parts[2] if len(parts) > 2 else None)

    def placeholder(position: int, column: str) -> exp.Expression:
        if style is None:
            return exp.Placeholder(this=named[column]) if named is not None else exp.Placeholder()
        if named is None:
            assert style.positional is not None, f"{dialect} placeholders are named"
            return exp.Var(this=style.positional.format(n=position))
        return exp.Var(this=style.named.format(name=named[column]))

    where = exp.or_(*(exp.column(exp.to_identifier(escape(c), quoted=True)).eq(placeholder(i, c))
                      for i, c in enumerate(columns, 1)))
    query = exp.delete(table, where=where) if verb == "delete" else exp.select("*").from_(table).where(where)
    return query.sql(dialect=dialect)


@dataclass(frozen=True)
class Bound:
    """A statement and what a DB-API ``execute(sql, params)`` takes for it; ``names`` maps each
    column to its placeholder's name when the placeholders are named (else it is empty)."""

    sql: str
    params: list | dict
    names: dict[str, str]


def bound_statement(verb: str, namespace: str, name: str, columns: list[str], masked: set[str],
                    dialect: str | None, value: str | None) -> Bound | None:
    """The statement of a step keyed by ``columns`` (``masked`` among them hold a function of the value)
    and its parameters: a list, one value per placeholder, when every key is plain and the driver binds
    by position; else an object by placeholder name holding the plain keys only (the operator computes
    the masked ones). None when the dataset is not a SQL table; ``Unaddressable`` as ``statement``."""
    resolved = _dialect(namespace, dialect)
    style = PARAMSTYLES.get(resolved or "")
    by_name = bool(masked) or (style is not None and style.positional is None)
    named = placeholder_names(columns, style) if by_name else None
    sql = statement(verb, namespace, name, columns, resolved, named)
    if sql is None:
        return None
    if named is None:
        return Bound(sql, [value] * len(columns), {})
    return Bound(sql, {named[c]: value for c in columns if c not in masked}, named)
