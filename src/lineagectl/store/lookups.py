"""Describing what a query found: datasets, jobs and column spellings by id, in one query each.

Every answer names datasets and jobs by namespace and name; these are the only
places that look them up, so every command describes a dataset the same way
(``owners`` always a sorted list).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

_DATASETS = """
    SELECT d.dataset_id, d.namespace, d.name, d.dataset_type,
           list(DISTINCT o.owner ORDER BY o.owner) FILTER (WHERE o.owner IS NOT NULL)
    FROM datasets d
    LEFT JOIN owners o ON o.entity_kind = 'dataset' AND o.entity_id = d.dataset_id
    WHERE d.dataset_id IN (SELECT unnest($ids::BIGINT[]))
    GROUP BY ALL"""
_NAMES = """
    SELECT dataset_id, namespace, name, dataset_type FROM datasets
    WHERE dataset_id IN (SELECT unnest($ids::BIGINT[]))"""
_JOBS = "SELECT job_id, namespace, name FROM jobs WHERE job_id IN (SELECT unnest($ids::BIGINT[]))"
_COLUMNS = "SELECT dataset_id, column_name FROM columns WHERE dataset_id IN (SELECT unnest($ids::BIGINT[]))"


def _ids(ids: Iterable[int | None]) -> list[int]:
    return sorted({i for i in ids if i is not None})


def describe_datasets(con: Any, ids: Iterable[int], *, owners: bool = True) -> dict[int, dict]:
    """``{dataset_id: {"namespace", "name", "type", "owners"}}`` for the datasets ``ids`` that exist;
    without ``owners`` (answers that name thousands of datasets and no owners) that key is left out."""
    wanted = _ids(ids)
    if not wanted:
        return {}
    if not owners:
        rows = con.execute(_NAMES, {"ids": wanted}).fetchall()
        return {r[0]: {"namespace": r[1], "name": r[2], "type": r[3]} for r in rows}
    rows = con.execute(_DATASETS, {"ids": wanted}).fetchall()
    return {r[0]: {"namespace": r[1], "name": r[2], "type": r[3], "owners": r[4] or []} for r in rows}


def describe_jobs(con: Any, ids: Iterable[int | None]) -> dict[int, dict]:
    """``{job_id: {"namespace", "name"}}`` for the jobs ``ids`` (duplicates and None allowed)."""
    wanted = _ids(ids)
    if not wanted:
        return {}
    return {r[0]: {"namespace": r[1], "name": r[2]} for r in con.execute(_JOBS, {"ids": wanted}).fetchall()}


def column_spellings(con: Any, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], str]:
    """The stored spelling of (dataset id, lower-cased column) keys; the key's own text when unknown."""
    keys = list(keys)
    wanted = _ids(k[0] for k in keys)
    rows = con.execute(_COLUMNS, {"ids": wanted}).fetchall() if wanted else []
    spelled = {(d, c.lower()): c for d, c in rows}
    return {k: spelled.get(k, k[1]) for k in keys}


_DROPPED = """
    SELECT f.dataset_id, max(f.first_seen)
    FROM dataset_facets f JOIN facet_blobs b USING (facet_hash) JOIN datasets d USING (dataset_id)
    WHERE d.dropped AND f.facet_key = 'lifecycleStateChange'
      AND upper(b.payload->>'lifecycleStateChange') = 'DROP'
      AND f.dataset_id IN (SELECT unnest($ids::BIGINT[]))
    GROUP BY f.dataset_id"""


def dropped_at(con: Any, ids: Iterable[int]) -> dict[int, Any]:
    """When each of the datasets ``ids`` that is dropped now was dropped (its latest DROP)."""
    wanted = _ids(ids)
    return dict(con.execute(_DROPPED, {"ids": wanted}).fetchall()) if wanted else {}


def dataset_columns(con: Any, dataset_id: int) -> list[str]:
    """The column names known for a dataset, sorted."""
    rows = con.execute("SELECT column_name FROM columns WHERE dataset_id = ? ORDER BY column_name",
                       [dataset_id]).fetchall()
    return [r[0] for r in rows]
