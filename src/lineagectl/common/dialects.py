"""SQL dialects: the one table of the names producers use for a SQL engine, and sqlglot's name for it.

An OpenLineage namespace names its engine by scheme (``postgres://db:5432``,
``bigquery``, ``snowflake://account``), a dbt manifest by its adapter type
(``sqlserver``, ``fabric``), a ``sql`` job facet by its ``dialect``: all of them
are aliases in ``ALIASES``. ``dialect_of_namespace`` tells whether a namespace is
a SQL engine at all; ``dialect_named`` resolves any name to a dialect sqlglot
knows, or raises ``UnknownDialect``; ``dialect_or_generic`` is the one behaviour
for an unknown name found in data: a warning, and sqlglot's generic dialect.

sqlglot is imported only when a name is checked: importing this module costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable

# Producer names for a SQL engine (namespace schemes, dbt adapter types, sql facet dialects), lower
# case -> sqlglot dialect. A name sqlglot knows as it is needs no entry unless it is a namespace
# scheme: ``dialect_of_namespace`` reads this table only.
ALIASES: dict[str, str] = {
    "athena": "athena",
    "awsathena": "athena",
    "azuresql": "tsql",
    "bigquery": "bigquery",
    "clickhouse": "clickhouse",
    "databricks": "databricks",
    "db2": "postgres",
    "doris": "doris",
    "dremio": "dremio",
    "duckdb": "duckdb",
    "fabric": "tsql",
    "hive": "hive",
    "mariadb": "mysql",
    "mssql": "tsql",
    "mysql": "mysql",
    "oracle": "oracle",
    "postgres": "postgres",
    "postgresql": "postgres",
    "presto": "presto",
    "redshift": "redshift",
    "snowflake": "snowflake",
    "spark": "spark",
    "sqlite": "sqlite",
    "sqlserver": "tsql",
    "synapse": "tsql",
    "teradata": "teradata",
    "trino": "trino",
}


class UnknownDialect(ValueError):
    """A dialect name that sqlglot does not know (``name`` is the name as given)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown SQL dialect {name!r}")
        self.name = name


def dialect_of_namespace(namespace: str) -> str | None:
    """The sqlglot dialect of a dataset namespace; None when its datasets are not SQL tables (s3, kafka, file…)."""
    scheme = namespace.split("://", 1)[0] if "://" in namespace else namespace
    return ALIASES.get(scheme.lower())


def dialect_named(name: str) -> str:
    """The sqlglot dialect a producer's ``name`` for a SQL engine means; ``UnknownDialect`` if sqlglot has none."""
    key = name.strip().lower()
    dialect = ALIASES.get(key, key)
    if not dialect:
        raise UnknownDialect(name)
    from sqlglot.dialects import Dialect

    try:
        Dialect.get_or_raise(dialect)
    except ValueError:
        raise UnknownDialect(name) from None
    return dialect


def dialect_or_generic(name: str | None, where: str, warn: Callable[[str], None]) -> str | None:
    """The dialect to parse SQL found in data with: ``name``'s, or None (sqlglot's generic dialect)
    when the data names none, or one sqlglot does not know (then ``warn`` says so, naming ``where``)."""
    if name is None or not name.strip():
        return None
    try:
        return dialect_named(name)
    except UnknownDialect:
        warn(f"unknown SQL dialect {name!r} in {where}: parsed with sqlglot's generic dialect")
        return None


def option_dialect(name: str | None) -> str | None:
    """The sqlglot dialect a ``--dialect`` option names (any alias here), None for none;
    an ``InputError`` naming it when it is unknown (a user's typo, not data to warn about)."""
    if name is None:
        return None
    from lineagectl.errors import InputError

    try:
        return dialect_named(name)
    except UnknownDialect:
        raise InputError(f"unknown SQL dialect {name!r}",
                         hint="e.g. postgres, bigquery, snowflake, mysql, tsql, trino, databricks, duckdb") from None
