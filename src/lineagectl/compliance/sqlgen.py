"""SQL for a GDPR plan step: a ``DELETE``/``SELECT`` of the subject's rows in the dataset's dialect.

Every identifier is quoted as lineage recorded it (sqlglot builds the
statement, never string formatting) and the subject's value is a placeholder,
bound by whoever runs the statement: it never enters the SQL text.
"""

from __future__ import annotations

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


def statement(verb: str, namespace: str, name: str, columns: list[str], dialect: str | None) -> str | None:
    """``DELETE``/``SELECT`` of the rows whose ``columns`` equal the subject's value, with ``?``-style
    placeholders in the dialect; None when the dataset is not a SQL table."""
    from sqlglot import exp

    dialect = check_dialect(dialect) if dialect else dialect_of_namespace(namespace)
    if dialect is None or not columns or "/" in name or not name.strip("."):
        return None
    parts = [p for p in name.split(".") if p][-3:]
    table = exp.Table(this=exp.to_identifier(parts[-1], quoted=True),
                      db=exp.to_identifier(parts[-2], quoted=True) if len(parts) > 1 else None,
                      catalog=exp.to_identifier(parts[-3], quoted=True) if len(parts) > 2 else None)
    where = exp.or_(*(exp.column(exp.to_identifier(c, quoted=True)).eq(exp.Placeholder()) for c in columns))
    query = exp.delete(table, where=where) if verb == "delete" else exp.select("*").from_(table).where(where)
    return query.sql(dialect=dialect)


