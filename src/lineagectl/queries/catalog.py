"""Read queries over the store: ``stats`` and the ``ls`` listings."""

from __future__ import annotations

import os
from typing import Any

from lineagectl.common.globs import Glob, GlobError
from lineagectl.common.timeutil import option_time
from lineagectl.errors import InputError
from lineagectl.graph.selectors import Catalog, requested
from lineagectl.queries.run_order import last_run_state
from lineagectl.results import Result, records_from_rows
from lineagectl.store import open_store, schema_version, store_path
from lineagectl.store.lookups import DROPPED_NOW

_STATS = {
    "datasets": "SELECT count(*) FROM datasets",
    "jobs": "SELECT count(*) FROM jobs",
    "runs": "SELECT count(*) FROM runs",
    "events": "SELECT count(*) FROM events",
    "columns": "SELECT count(*) FROM columns",
    "dataset_edges": "SELECT count(*) FROM edges",
    "column_edges": "SELECT count(*) FROM column_edges",
    "namespaces": "SELECT count(DISTINCT namespace) FROM datasets",
    "models": "SELECT count(*) FROM datasets WHERE dataset_type = 'MODEL'",
    "dataset_versions": "SELECT count(*) FROM dataset_versions",
    "failed_runs": "SELECT count(*) FROM runs WHERE state IN ('FAIL', 'ABORT')",
    "facet_payloads": "SELECT count(*) FROM facet_blobs",
    "first_event": "SELECT min(event_time) FROM events",
    "last_event": "SELECT max(event_time) FROM events",
}


def stats(db: str | None = None) -> Result:
    """Counts of what the store holds (CONTRACT.md ``stats`` shape, plus extras)."""
    with open_store(db) as con:
        values = {key: con.execute(sql).fetchall()[0][0] for key, sql in _STATS.items()}
        values["schema_version"] = schema_version(con)
    values["db_bytes"] = os.path.getsize(store_path(db))
    return Result("stats", records_from_rows(list(values), [tuple(values.values())])[0])


_LISTS = {
    "datasets": (
        ["namespace", "name", "type", "columns", "version", "owners", "dropped", "last_seen"],
        """SELECT d.namespace, d.name, d.dataset_type,
                  (SELECT count(*) FROM columns c WHERE c.dataset_id = d.dataset_id),
                  d.current_version,
                  coalesce((SELECT list(DISTINCT o.owner ORDER BY o.owner) FROM owners o
                            WHERE o.entity_kind = 'dataset' AND o.entity_id = d.dataset_id), []),
                  d.dataset_id IN (SELECT dataset_id FROM (""" + DROPPED_NOW + """)), d.last_seen
           FROM datasets d
           WHERE (?1 IS NULL OR d.namespace = ?1) AND (?2 IS NULL OR regexp_full_match(d.name, ?2))
             AND (?3 IS NULL OR d.last_seen >= ?3)
           ORDER BY d.namespace, d.name""",
    ),
    "jobs": (
        ["namespace", "name", "type", "runs", "last_state", "inputs", "outputs", "last_seen"],
        """SELECT j.namespace, j.name, j.job_type,
                  (SELECT count(*) FROM runs r WHERE r.job_id = j.job_id),
                  (SELECT """ + last_run_state("r") + """ FROM runs r WHERE r.job_id = j.job_id),
                  (SELECT count(*) FROM edges e WHERE e.job_id = j.job_id AND e.direction = 'in'),
                  (SELECT count(*) FROM edges e WHERE e.job_id = j.job_id AND e.direction = 'out'),
                  j.last_seen
           FROM jobs j
           WHERE (?1 IS NULL OR j.namespace = ?1) AND (?2 IS NULL OR regexp_full_match(j.name, ?2))
             AND (?3 IS NULL OR j.last_seen >= ?3)
           ORDER BY j.namespace, j.name""",
    ),
    "runs": (
        ["run_id", "job_namespace", "job", "state", "started_at", "ended_at", "seconds", "error"],
        """SELECT r.run_id, j.namespace, j.name, r.state, r.started_at, r.ended_at,
                  round(epoch(r.ended_at) - epoch(r.started_at), 3), r.error_message
           FROM runs r JOIN jobs j USING (job_id)
           WHERE (?1 IS NULL OR j.namespace = ?1) AND (?2 IS NULL OR regexp_full_match(j.name, ?2))
             AND (?3 IS NULL OR r.last_event_time >= ?3) AND (?4 IS NULL OR r.state = ?4)
           ORDER BY r.started_at DESC NULLS LAST, r.run_id""",
    ),
}

LIST_KINDS = tuple(_LISTS)


def _name_regex(pattern: str | None) -> str | None:
    """``--name GLOB`` as the one glob implementation writes it for DuckDB (case-sensitive, as names are)."""
    if pattern is None:
        return None
    try:
        return Glob(pattern, case_sensitive=True).sql_regex()
    except GlobError as exc:
        raise InputError(f"--name: {exc}") from None


def list_entities(
    kind: str,
    db: str | None = None,
    *,
    namespace: str | None = None,
    name: str | None = None,
    since: str | None = None,
    state: str | None = None,
    limit: int | None = None,
) -> Result:
    """List datasets, jobs or runs, filtered by namespace, name glob, recency and run state; the
    first ``limit`` only when given (``context["total"]`` then counts them all)."""
    if kind not in _LISTS:
        raise InputError(f"cannot list {kind!r}; choose one of: {', '.join(LIST_KINDS)}")
    if state is not None and kind != "runs":
        raise InputError("--state applies to `ls runs` only")
    columns, sql = _LISTS[kind]
    params = [namespace, _name_regex(name), option_time(since, "--since")]
    if kind == "runs":
        params.append(run_state(state))
    if limit is not None and limit < 0:
        raise InputError(f"--limit must be 0 (no limit) or more, not {limit}")
    context: dict[str, Any] = {"list": kind}
    with open_store(db) as con:
        if limit:
            # The first page without reading (and describing) every row: `ls runs` on 500,000 runs.
            context["total"] = con.execute(f"SELECT count(*) FROM ({sql})", params).fetchall()[0][0]
            rows = con.execute(f"{sql} LIMIT {int(limit)}", params).fetchall()
        else:
            rows = con.execute(sql, params).fetchall()
    return Result("ls", records_from_rows(columns, rows), context=context)


RUN_STATES = ("START", "RUNNING", "COMPLETE", "FAIL", "ABORT", "OTHER")
# What people type for OpenLineage's states (Airflow and dbt say "failed", "success").
_STATE_WORDS = {"FAILED": "FAIL", "FAILURE": "FAIL", "ERROR": "FAIL", "ABORTED": "ABORT", "COMPLETED": "COMPLETE",
                "SUCCESS": "COMPLETE", "SUCCEEDED": "COMPLETE", "STARTED": "START"}


def run_state(state: str | None) -> str | None:
    """``--state`` as a stored run state, any case, common words accepted (``failed`` is FAIL)."""
    if state is None:
        return None
    word = state.strip().upper()
    found = _STATE_WORDS.get(word, word)
    if found not in RUN_STATES:
        raise InputError(f"--state {state!r} is not a run state; choose one of: {', '.join(RUN_STATES)}")
    return found


def select_datasets(expression: str, db: Any = None, *, exclude: str | None = None) -> Result:
    """Datasets chosen by a dbt-style selector; output shaped like ``dbt ls --output json``."""
    requested(expression, exclude)
    with open_store(db) as con:
        catalog = Catalog(con)
        chosen = catalog.expression(expression)
        if exclude is not None:
            chosen -= catalog.expression(exclude)
        rows = sorted((catalog.datasets[i][0], catalog.datasets[i][1], catalog.datasets[i][2],
                       sorted(catalog.tags.get(i, ())), sorted(catalog.owners.get(i, ())))
                      for i in chosen if i in catalog.datasets)
    columns = ["namespace", "name", "type", "tags", "owners"]
    records = records_from_rows(columns, rows)
    payload = [{**r, "resource_type": "model" if r["type"] == "MODEL" else "dataset",
                "unique_id": f"{r['namespace']}/{r['name']}"} for r in records]
    return Result("select", payload, context={"expression": expression})


def ls(kind: str, db: Any = None, *, select: str | None = None, exclude: str | None = None,
       **filters: Any) -> Result:
    """``ls``: a listing filtered by namespace/name/since/state, or the datasets a selector chooses.
    ``kind`` is ``datasets``, ``jobs`` or ``runs``, in any case, singular or plural."""
    kind = kind.lower()
    if f"{kind}s" in _LISTS:
        kind = f"{kind}s"  # `ls dataset`, as people type it
    if not requested(select, exclude):
        return list_entities(kind, db, **filters)
    if kind != "datasets":
        raise InputError("--select and --exclude choose datasets: use `lineagectl ls datasets --select …`")
    if any(v is not None for v in filters.values()):
        raise InputError("--select cannot be combined with --namespace/--name/--since/--state",
                         hint="use selector methods instead, e.g. 'namespace:bigquery,tag:pii'")
    return select_datasets("*" if select is None else select, db, exclude=exclude)
