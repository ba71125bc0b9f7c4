"""SQL for a GDPR plan step: a ``DELETE``/``SELECT`` of the subject's rows in the dataset's dialect.

Every identifier is quoted as lineage recorded it (sqlglot builds the
statement, never string formatting) and the subject's value is a placeholder,
bound by whoever runs the statement: it never enters the SQL text.
"""

from __future__ import annotations

from lineagectl.errors import InputError

# Namespace schemes (OpenLineage naming) whose datasets are SQL tables, and their sqlglot dialect.
_DIALECTS = {
    "postgres": "postgres", "postgresql": "postgres", "redshift": "redshift", "mysql": "mysql",
    "mariadb": "mysql", "bigquery": "bigquery", "snowflake": "snowflake", "trino": "trino",
    "presto": "presto", "awsathena": "athena", "athena": "athena", "hive": "hive", "spark": "spark",
    "databricks": "databricks", "sqlserver": "tsql", "mssql": "tsql", "azuresql": "tsql",
    "oracle": "oracle", "teradata": "teradata", "duckdb": "duckdb", "sqlite": "sqlite",
    "clickhouse": "clickhouse", "db2": "postgres", "dremio": "dremio", "doris": "doris",
}


def dialect_of(namespace: str) -> str | None:
    """The SQL dialect of a dataset namespace, None when its datasets are not SQL tables (s3, kafka…)."""
    scheme = namespace.split("://", 1)[0].lower() if "://" in namespace else namespace.lower()
    return _DIALECTS.get(scheme)


def check_dialect(dialect: str | None) -> None:
    """Fail with an InputError naming ``dialect`` when sqlglot does not know it."""
    if dialect is None:
        return
    from sqlglot.dialects import Dialect

    try:
        Dialect.get_or_raise(dialect)
    except ValueError:
        raise InputError(f"unknown SQL dialect {dialect!r}",
                         hint="e.g. postgres, bigquery, snowflake, mysql, tsql, trino, databricks, duckdb") from None


def statement(verb: str, namespace: str, name: str, columns: list[str], dialect: str | None) -> str | None:
    """``DELETE``/``SELECT`` of the rows whose ``columns`` equal the subject's value, with ``?``-style
    placeholders in the dialect; None when the dataset is not a SQL table."""
    from sqlglot import exp

    dialect = dialect or dialect_of(namespace)
    if dialect is None or not columns or "/" in name or not name.strip("."):
        return None
    parts = [p for p in name.split(".") if p][-3:]
    table = exp.Table(this=exp.to_identifier(parts[-1], quoted=True),
                      db=exp.to_identifier(parts[-2], quoted=True) if len(parts) > 1 else None,
                      catalog=exp.to_identifier(parts[-3], quoted=True) if len(parts) > 2 else None)
    where = exp.or_(*(exp.column(exp.to_identifier(c, quoted=True)).eq(exp.Placeholder()) for c in columns))
    query = exp.delete(table, where=where) if verb == "delete" else exp.select("*").from_(table).where(where)
    return query.sql(dialect=dialect)


