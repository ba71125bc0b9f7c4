"""What is personal data: the one definition used by ``pii``, ``erase --tag``, flow rules and ``graph``.

A column is personal data when a field-level ``tags`` facet marks it (``pii`` =
true/yes/1, or ``classification`` = PII; dbt ``meta: {pii: true}`` and
``tags: [pii]`` arrive as such tags), or when a ``pii.columns`` glob of the
policy matches it (on ``name.column`` or ``namespace/name.column``). A dataset
holds personal data when one of its columns is, or when a dataset-level tag
marks the whole dataset the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lineagectl.common.policy import Policy
from lineagectl.graph.edges import ColumnKey

# The one test of "this tag marks personal data", for field- and dataset-level tags alike, in SQL
# and in Python (``is_pii_tag``: tags not in a store, such as a manifest's), written from these words.
_PII_KEY, _PII_TRUE = "pii", ("true", "yes", "1")  # a missing value reads as true
_CLASSIFICATION_KEY, _CLASSIFICATION_PII = "classification", "pii"
_IS_PII_TAG = f"""(lower(t.key) = '{_PII_KEY}' AND lower(coalesce(t.value, 'true')) IN {_PII_TRUE}
                  OR lower(t.key) = '{_CLASSIFICATION_KEY}' AND lower(t.value) = '{_CLASSIFICATION_PII}')"""
# Field-level tags that mark personal data; dbt-sourced tags say so in their source.
_PII_TAGS = f"""
    SELECT t.entity_id, t.field, min(CASE WHEN t.source = 'dbt' THEN 'dbt' ELSE 'tag' END
                                     || ' ' || t.key || '=' || coalesce(t.value, 'true'))
    FROM tags t JOIN datasets d ON d.dataset_id = t.entity_id
    WHERE t.entity_kind = 'dataset' AND t.field IS NOT NULL AND {_IS_PII_TAG}
      AND ($ids IS NULL OR t.entity_id IN (SELECT unnest($ids::BIGINT[])))
    GROUP BY ALL"""
_PII_DATASET_TAGS = f"""
    SELECT DISTINCT t.entity_id FROM tags t
    WHERE t.entity_kind = 'dataset' AND t.field IS NULL AND {_IS_PII_TAG}
      AND t.entity_id IN (SELECT unnest($ids::BIGINT[]))"""
_TAGGED = """
    SELECT t.entity_id, t.field, min('tag ' || t.key || coalesce('=' || t.value, ''))
    FROM tags t JOIN datasets d ON d.dataset_id = t.entity_id
    WHERE t.entity_kind = 'dataset' AND t.field IS NOT NULL
      AND (lower(t.key) = lower($tag) OR lower(t.value) = lower($tag))
    GROUP BY ALL"""
# The column pre-filter lets DuckDB skip most rows before building the long strings.
_GLOBBED = """
    SELECT c.dataset_id, c.column_name
    FROM (SELECT * FROM columns WHERE regexp_full_match(column_name, $last)
            AND ($ids IS NULL OR dataset_id IN (SELECT unnest($ids::BIGINT[])))) c JOIN datasets d USING (dataset_id)
    WHERE regexp_full_match(d.name || '.' || c.column_name, $regex)
       OR regexp_full_match(d.namespace || '/' || d.name || '.' || c.column_name, $regex)"""


def is_pii_tag(key: object, value: object) -> bool:
    """Whether a tag ``key``=``value`` (a facet's, not yet stored) marks personal data: the rule
    the queries here apply to stored tags (``pii`` true/yes/1 or valueless, ``classification`` PII)."""
    name = str(key).lower()
    if name == _PII_KEY:
        return str("true" if value is None else value).lower() in _PII_TRUE
    return name == _CLASSIFICATION_KEY and value is not None and str(value).lower() == _CLASSIFICATION_PII


def policy_marks(policy: Policy, namespace: str, name: str, column: str) -> list[str]:
    """The policy's ``pii.columns`` globs that mark the column, as ``pii_columns`` words them
    (matched on ``name.column`` and ``namespace/name.column``, as there)."""
    texts = (f"{name}.{column}", f"{namespace}/{name}.{column}")
    return [f"policy {glob.pattern}" for glob in policy.pii_columns if any(glob.match(t) for t in texts)]


def pii_columns(con: Any, policy: Policy, ids: Iterable[int] | None = None) -> dict[ColumnKey, list[str]]:
    """Personal-data columns, as (dataset id, lower-cased column) → why (tags, dbt, policy globs);
    of the datasets ``ids`` only, when given (a graph of a neighbourhood, not the whole store)."""
    wanted = None if ids is None else sorted(set(ids))
    found: dict[ColumnKey, list[str]] = {}
    for dataset_id, column, why in con.execute(_PII_TAGS, {"ids": wanted}).fetchall():
        found.setdefault((dataset_id, column.lower()), []).append(why)
    for glob in policy.pii_columns:
        params = {"regex": glob.sql_regex(), "last": glob.sql_last_part_regex(), "ids": wanted}
        for dataset_id, column in con.execute(_GLOBBED, params).fetchall():
            found.setdefault((dataset_id, column.lower()), []).append(f"policy {glob.pattern}")
    return found


def means_pii(tag: str) -> bool:
    """Whether selecting by ``tag`` selects every PII column (tags, dbt, the policy's globs)."""
    return tag.lower() == "pii"


def tagged_columns(con: Any, tag: str, policy: Policy) -> dict[ColumnKey, list[str]]:
    """Columns carrying field-level tag ``tag`` (as key or value); ``pii`` means every PII column."""
    if means_pii(tag):
        return pii_columns(con, policy)
    found: dict[ColumnKey, list[str]] = {}
    for dataset_id, column, why in con.execute(_TAGGED, {"tag": tag}).fetchall():
        found.setdefault((dataset_id, column.lower()), []).append(why)
    return found


def pii_datasets(con: Any, policy: Policy, ids: Iterable[int]) -> set[int]:
    """Which of the datasets ``ids`` hold personal data: a PII column, or a dataset-level PII tag."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    by_column = {d for d, _ in pii_columns(con, policy, wanted)}
    by_tag = {r[0] for r in con.execute(_PII_DATASET_TAGS, {"ids": wanted}).fetchall()}
    return (by_column | by_tag) & set(wanted)
