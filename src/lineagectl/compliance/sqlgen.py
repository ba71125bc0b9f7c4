"""SQL for a GDPR plan step: a ``DELETE``/``SELECT`` of the subject's rows in the dataset's dialect.

Every identifier is quoted as lineage recorded it (sqlglot builds the
statement, never string formatting) and the subject's value is a placeholder,
bound by whoever runs the statement: it never enters the SQL text.

Placeholders are positional (``%s``, ``?``) when every key holds the subject's
value as given; when a key holds a masked form of it (a hash the operator must
compute), every placeholder of the statement is named after its key column
(``%(email_hash)s``, ``@email_hash``, ``$email_hash``, ``:email_hash`` as the
dialect writes them), so the parameters are bound by name and a value nobody
computed cannot be bound by mistake (``docs/erase.md``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lineagectl.common.dialects import UnknownDialect, dialect_named, dialect_of_namespace
from lineagectl.errors import InputError


def check_dialect(dialect: str | None) -> str | None:
    """The sqlglot dialect a ``--dialect`` option names (any alias of ``common.dialects``);
    an ``InputError`` naming it when sqlglot does not know it."""
    if dialect is None:
        return None
    try:
        return dialect_named(dialect)
    except UnknownDialect:
        raise InputError(f"unknown SQL dialect {dialect!r}",
                         hint="e.g. postgres, bigquery, snowflake, mysql, tsql, trino, databricks, duckdb") from None


def placeholder_names(columns: Iterable[str]) -> dict[str, str]:
    """A parameter name for each column: its name in lower case with every character outside
    ``[a-z0-9_]`` made ``_`` (so no column name can put text into the SQL), unique within the statement."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        base = re.sub(r"[^a-z0-9_]+", "_", column.lower()).strip("_") or "key"
        base = f"k_{base}" if base[0].isdigit() else base
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        names[column] = name
    return names


def statement(verb: str, namespace: str, name: str, columns: list[str], dialect: str | None,
              named: dict[str, str] | None = None) -> str | None:
    """``DELETE``/``SELECT`` of the rows whose ``columns`` equal the subject's key, in the dialect;
    None when the dataset is not a SQL table. Placeholders are positional, in ``columns`` order, unless
    ``named`` (column → parameter name, see ``placeholder_names``) is given: then each is named."""
    from sqlglot import exp

    dialect = check_dialect(dialect) if dialect else dialect_of_namespace(namespace)
    if dialect is None or not columns or "/" in name or not name.strip("."):
        return None
    parts = [p for p in name.split(".") if p][-3:]
    table = exp.Table(this=exp.to_identifier(parts[-1], quoted=True),
                      db=exp.to_identifier(parts[-2], quoted=True) if len(parts) > 1 else None,
                      catalog=exp.to_identifier(parts[-3], quoted=True) if len(parts) > 2 else None)

    def placeholder(column: str) -> exp.Placeholder:
        return exp.Placeholder(this=named[column]) if named is not None else exp.Placeholder()

    where = exp.or_(*(exp.column(exp.to_identifier(c, quoted=True)).eq(placeholder(c)) for c in columns))
    query = exp.delete(table, where=where) if verb == "delete" else exp.select("*").from_(table).where(where)
    return query.sql(dialect=dialect)
