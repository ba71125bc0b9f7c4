"""Describing what a query found: datasets, jobs and column spellings by id, in one query each.

Every answer names datasets and jobs by namespace and name; these are the only
places that look them up, so every command describes a dataset the same way
(``owners`` always a sorted list).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
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
_JOB_OWNERS = """
    SELECT j.job_id, j.namespace, j.name,
           list(DISTINCT o.owner ORDER BY o.owner) FILTER (WHERE o.owner IS NOT NULL)
    FROM jobs j LEFT JOIN owners o ON o.entity_kind = 'job' AND o.entity_id = j.job_id
    WHERE j.job_id IN (SELECT unnest($ids::BIGINT[]))
    GROUP BY ALL"""
_JOBS_WITH_CLL = "SELECT DISTINCT job_id FROM column_edges WHERE job_id IN (SELECT unnest($ids::BIGINT[]))"
_COLUMNS = "SELECT dataset_id, column_name FROM columns WHERE dataset_id IN (SELECT unnest($ids::BIGINT[]))"


_SHORT_LIST = 1_000


def _ids(ids: Iterable[int | None]) -> list[int]:
    return sorted({i for i in ids if i is not None})


def describe_datasets(con: Any, ids: Iterable[int], *, owners: bool = True) -> dict[int, dict]:
    """``{dataset_id: {"namespace", "name", "type", "owners"}}`` for the datasets ``ids`` that exist;
    without ``owners`` (answers that name thousands of datasets and no owners) that key is left out.
    A dataset dropped now adds ``"dropped": True`` and ``"dropped_at"`` (a datetime; see ``dropped_at``)."""
    wanted = _ids(ids)
    if not wanted:
        return {}
    if not owners:
        rows = con.execute(_NAMES, {"ids": wanted}).fetchall()
        described = {r[0]: {"namespace": r[1], "name": r[2], "type": r[3]} for r in rows}
    else:
        rows = con.execute(_DATASETS, {"ids": wanted}).fetchall()
        described = {r[0]: {"namespace": r[1], "name": r[2], "type": r[3], "owners": r[4] or []} for r in rows}
    # Sending a long id list again costs more (about 25 ms per 10k ids) than reading every DROP
    # of the store, which are few: then ask for all of them.
    gone = dropped_at(con, wanted if len(wanted) <= _SHORT_LIST else None)
    for dataset_id, when in gone.items():
        if dataset_id in described:
            described[dataset_id] |= {"dropped": True, "dropped_at": when}
    return described


def describe_jobs(con: Any, ids: Iterable[int | None], *, owners: bool = False) -> dict[int, dict]:
    """``{job_id: {"namespace", "name"}}`` for the jobs ``ids`` (duplicates and None allowed); with
    ``owners``, also ``"owners"`` (a sorted list)."""
    wanted = _ids(ids)
    if not wanted:
        return {}
    if owners:
        return {r[0]: {"namespace": r[1], "name": r[2], "owners": r[3] or []}
                for r in con.execute(_JOB_OWNERS, {"ids": wanted}).fetchall()}
    return {r[0]: {"namespace": r[1], "name": r[2]} for r in con.execute(_JOBS, {"ids": wanted}).fetchall()}


def jobs_with_column_lineage(con: Any, ids: Iterable[int | None]) -> set[int]:
    """Which of the jobs ``ids`` report column lineage for some output (the others say only which
    tables they read, not which columns)."""
    wanted = _ids(ids)
    if not wanted:
        return set()
    return {r[0] for r in con.execute(_JOBS_WITH_CLL, {"ids": wanted}).fetchall()}


def column_spellings(con: Any, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], str]:
    """The stored spelling of (dataset id, lower-cased column) keys; the key's own text when unknown."""
    keys = list(keys)
    wanted = _ids(k[0] for k in keys)
    rows = con.execute(_COLUMNS, {"ids": wanted}).fetchall() if wanted else []
    spelled = {(d, c.lower()): c for d, c in rows}
    return {k: spelled.get(k, k[1]) for k in keys}


# A dataset's lifecycle as marks in time: each lifecycleStateChange payload seen (at its first and
# last sighting) and each run that wrote it. DROP marks it gone; any other state (CREATE, OVERWRITE,
# …) or a write marks it there again. A run's write and a DROP at the same instant are the dropping
# run's own output: the DROP wins. Only datasets with a DROP are looked at. Aliases are folded into
# the dataset they name, as walks fold them. ``{ids}`` narrows to a list, ``{as_of}`` to marks then.
_DROPPED = """
    WITH states AS (
        SELECT coalesce(a.dataset_id, f.dataset_id) AS dataset_id, f.first_seen, f.last_seen,
               upper(b.payload->>'lifecycleStateChange') = 'DROP' AS gone
        FROM dataset_facets f JOIN facet_blobs b USING (facet_hash)
        LEFT JOIN dataset_aliases a ON a.alias_id = f.dataset_id
        WHERE f.facet_key = 'lifecycleStateChange'),
    candidates AS (SELECT DISTINCT dataset_id FROM states WHERE gone {ids}),
    spellings AS (SELECT dataset_id AS raw_id, dataset_id FROM candidates
                  UNION SELECT alias_id, dataset_id FROM dataset_aliases SEMI JOIN candidates USING (dataset_id)),
    marks AS (
        SELECT dataset_id, unnest([first_seen, last_seen]) AS seen, gone
        FROM states SEMI JOIN candidates USING (dataset_id)
        UNION ALL
        SELECT s.dataset_id, w.event_time, false
        FROM run_io w JOIN spellings s ON s.raw_id = w.dataset_id WHERE w.direction = 'out'),
    known AS (SELECT * FROM marks WHERE true {as_of}),
    alive AS (SELECT dataset_id, max(seen) FILTER (WHERE NOT gone) AS seen FROM known GROUP BY dataset_id)
    SELECT k.dataset_id, min(k.seen)
    FROM known k JOIN alive l USING (dataset_id)
    WHERE k.gone AND (l.seen IS NULL OR k.seen >= l.seen)
    GROUP BY k.dataset_id"""


# When a dataset was first seen under any of its spellings (the dataset and the aliases folded into it,
# or what it is an alias of): a walk as of a time folds them, so it existed if any spelling did.
_FIRST_SEEN = """
    SELECT min(first_seen) FROM datasets WHERE dataset_id = $id
        OR dataset_id IN (SELECT alias_id FROM dataset_aliases WHERE dataset_id = $id)
        OR dataset_id IN (SELECT dataset_id FROM dataset_aliases WHERE alias_id = $id)"""


def first_seen(con: Any, dataset_id: int) -> datetime | None:
    """When the dataset ``dataset_id`` (or a spelling folded with it) was first seen; None if unknown."""
    return con.execute(_FIRST_SEEN, {"id": dataset_id}).fetchall()[0][0]


# Every dataset dropped now, as (dataset_id, dropped_at) rows: for listings that filter in SQL.
DROPPED_NOW = _DROPPED.format(ids="", as_of="")


def dropped_at(con: Any, ids: Iterable[int] | None, *, as_of: datetime | None = None) -> dict[int, datetime]:
    """When each of the datasets ``ids`` (None: every dataset) that is dropped was dropped: the
    first DROP since it was last there. Dropped now, or with ``as_of`` at that time; a dataset
    written or created again after its DROP is not dropped from then on."""
    params: dict[str, Any] = {}
    if ids is not None:
        params["ids"] = _ids(ids)
        if not params["ids"]:
            return {}
    if as_of is not None:
        params["as_of"] = as_of
    sql = _DROPPED.format(ids="AND dataset_id IN (SELECT unnest($ids::BIGINT[]))" if ids is not None else "",
                          as_of="AND seen <= $as_of" if as_of is not None else "")
    return dict(con.execute(sql, params).fetchall())


def dataset_columns(con: Any, dataset_id: int) -> list[str]:
    """The column names known for a dataset, sorted."""
    rows = con.execute("SELECT column_name FROM columns WHERE dataset_id = ? ORDER BY column_name",
                       [dataset_id]).fetchall()
    return [r[0] for r in rows]


def require_datasets(con: Any, check: str) -> None:
    """``InputError`` when the store holds no dataset: a ``check`` over nothing is no answer, and
    saying "ok" would pass a CI gate that checked nothing (CONTRACT.md: exit 2)."""
    from lineagectl.errors import InputError

    if not con.execute("SELECT EXISTS (SELECT 1 FROM datasets)").fetchall()[0][0]:
        raise InputError(f"the store holds no datasets: {check} would check nothing",
                         hint="ingest events or a dbt manifest first (lineagectl ingest PATH), "
                              "or point --db / LINEAGECTL_DB at the store that has them")
