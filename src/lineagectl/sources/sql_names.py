"""Identifier case per SQL dialect: the one home for how a name is stored and how sqlglot must see it.

A warehouse folds an unquoted identifier to its own case (Snowflake upper, Postgres lower,
case-insensitive dialects such as BigQuery or DuckDB compare without case) and keeps a quoted
one as written. sqlglot's lineage follows those rules: Snowflake's ``order_id`` is ``ORDER_ID``.

- ``stored_name(name, dialect, quoted)``: the name a column written ``name`` is stored under, so
  a dbt project's documented ``order_id`` and its SQL's ``ORDER_ID`` are one column, never two.
- ``schema_key(stored, dialect)``: a stored name (a catalog's) as sqlglot's schema must be given
  it, quoted when its case is not the one its unquoted form folds to (Postgres ``"BillingMonth"``).
- ``spellings(stored, dialect)``: the names sqlglot's lineage reports stored columns under, where they
  differ, -> the stored names. BigQuery, T-SQL, DuckDB, Spark compare even quoted names without case
  and keep the case a column was created with (``tax_paid as `TAX_PAID_CENTS` ``), while sqlglot names
  every column in lower case: its answers are spelled back as the catalog spells them.

Dialects are sqlglot's names (``common.dialects``); None is sqlglot's generic dialect, which
keeps names as written. sqlglot is imported on first use.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any


@cache
def _dialect(dialect: str | None) -> Any:
    from sqlglot.dialects import Dialect

    return None if dialect is None else Dialect.get_or_raise(dialect)


def stored_name(name: str, dialect: str | None, quoted: bool = False) -> str:
    """The name an identifier written ``name`` (``quoted``: in quotes) is stored under in ``dialect``."""
    from sqlglot import exp

    sql_dialect = _dialect(dialect)
    if sql_dialect is None or quoted:
        return name
    # to_identifier quotes a name no one can write unquoted (a space in it): that one stays as written.
    return sql_dialect.normalize_identifier(exp.to_identifier(name)).name


def schema_key(stored: str, dialect: str | None) -> str:
    """A stored column name as sqlglot's schema must see it: quoted when the warehouse stores it in a
    case its unquoted form would not fold to, so it keeps its case; case-insensitive dialects fold
    quoted names too, so nothing changes there."""
    from sqlglot import exp

    sql_dialect = _dialect(dialect)
    if sql_dialect is None or stored_name(stored, dialect) == stored:
        return stored
    return exp.to_identifier(stored, quoted=True).sql(dialect=sql_dialect)


def spellings(stored: Iterable[str], dialect: str | None) -> dict[str, str]:
    """``{name sqlglot's lineage reports: stored name}`` for the ``stored`` column names (a catalog's,
    given to sqlglot by ``schema_key``) that sqlglot reports otherwise: in a dialect that compares quoted
    names without case, a column stored ``TAX_PAID_CENTS`` is sqlglot's ``tax_paid_cents``."""
    from sqlglot import exp

    sql_dialect = _dialect(dialect)
    if sql_dialect is None:
        return {}
    found = {}
    for name in stored:
        reported = sql_dialect.normalize_identifier(exp.to_identifier(name, quoted=True)).name
        if reported != name:
            found[reported] = name
    return found
