"""What the store says about the nodes of a page, read in one query per kind of fact.

A page may hold thousands of nodes: owners, columns, recent runs and job SQL are
each read for all of them at once (``show`` reads them for one).
"""

from __future__ import annotations

from typing import Any

from lineagectl.common.timeutil import format_timestamp
from lineagectl.queries.run_order import newest_runs_first

RECENT_RUNS = 3
# The run states drawn in red (OpenLineage FAIL and ABORT; FAILED as some producers spell it).
FAILED_STATES = frozenset({"FAIL", "FAILED", "ABORT"})
_IDS = "IN (SELECT unnest($ids::BIGINT[]))"
_JOBS = f"""
    SELECT j.job_id, j.namespace, j.name, j.job_type, j.sql, j.sql_dialect,
           list(DISTINCT o.owner ORDER BY o.owner) FILTER (WHERE o.owner IS NOT NULL)
    FROM jobs j LEFT JOIN owners o ON o.entity_kind = 'job' AND o.entity_id = j.job_id
    WHERE j.job_id {_IDS} GROUP BY ALL"""
_COLUMNS = f"SELECT dataset_id, column_name FROM columns WHERE dataset_id {_IDS} ORDER BY dataset_id, column_name"
_JOB_RUNS = f"""
    SELECT job_id, run_id, state, started_at, ended_at, error_message FROM runs WHERE job_id {_IDS}
    QUALIFY row_number() OVER (PARTITION BY job_id ORDER BY {newest_runs_first()}) <= $n"""
# The runs that last wrote each dataset (a run writing it in several events counts once).
_WRITES = f"""
    SELECT w.dataset_id, r.run_id, r.state, r.started_at, r.ended_at, r.error_message, j.namespace, j.name
    FROM (SELECT DISTINCT dataset_id, run_id FROM run_io WHERE direction = 'out' AND dataset_id {_IDS}) w
    JOIN runs r USING (run_id) JOIN jobs j ON j.job_id = r.job_id
    QUALIFY row_number() OVER (PARTITION BY w.dataset_id ORDER BY {newest_runs_first("r")}) <= $n"""


def _run(row: tuple, job: str | None = None) -> dict:
    run_id, state, started, ended, error = row
    found = {"run_id": run_id, "state": state, "started_at": format_timestamp(started),
             "ended_at": format_timestamp(ended), "error": error}
    return {**found, "job": job} if job is not None else found


def describe_jobs_fully(con: Any, ids: list[int]) -> dict[int, dict]:
    """Namespace, name, type, owners, SQL and recent runs (newest first) of the jobs ``ids``."""
    if not ids:
        return {}
    jobs = {r[0]: {"namespace": r[1], "name": r[2], "type": r[3], "sql": r[4], "sql_dialect": r[5],
                   "owners": r[6] or [], "runs": []}
            for r in con.execute(_JOBS, {"ids": ids}).fetchall()}
    rows = con.execute(_JOB_RUNS, {"ids": ids, "n": RECENT_RUNS}).fetchall()
    for row in rows:
        jobs[row[0]]["runs"].append(_run(row[1:]))
    for job in jobs.values():
        job["runs"].sort(key=lambda r: r["started_at"] or "", reverse=True)
    return jobs


def dataset_columns(con: Any, ids: list[int]) -> dict[int, list[str]]:
    """The known columns of each of the datasets ``ids``, sorted."""
    found: dict[int, list[str]] = {}
    for dataset_id, column in con.execute(_COLUMNS, {"ids": ids}).fetchall() if ids else []:
        found.setdefault(dataset_id, []).append(column)
    return found


def dataset_writes(con: Any, ids: list[int]) -> dict[int, list[dict]]:
    """The runs that last wrote each of the datasets ``ids`` (newest first, at most ``RECENT_RUNS``)."""
    found: dict[int, list[dict]] = {}
    for row in con.execute(_WRITES, {"ids": ids, "n": RECENT_RUNS}).fetchall() if ids else []:
        found.setdefault(row[0], []).append(_run(row[1:6], job=f"{row[6]} {row[7]}"))
    for runs in found.values():
        runs.sort(key=lambda r: r["started_at"] or "", reverse=True)
    return found


def last_states(con: Any, dataset_ids: list[int], job_ids: list[int]) -> dict[str, str]:
    """The state of the last run of each job and of the last run that wrote each dataset, by node
    key (``d<id>``, ``j<id>``), as the explorer page shows them."""
    states = {f"d{i}": runs[0]["state"] for i, runs in dataset_writes(con, dataset_ids).items()}
    for row in con.execute(_JOB_RUNS, {"ids": job_ids, "n": 1}).fetchall() if job_ids else []:
        states[f"j{row[0]}"] = row[2]
    return states
