"""``changes NAME``: what changed upstream of NAME recently — the root-cause report.

For NAME and everything upstream of it, within ``--since``:

- ``schema``: a dataset's schema differs from its previous one (columns added,
  removed or retyped), from the history of its ``schema`` facet;
- ``sql``: a job's SQL differs from its previous SQL (a unified diff, and the
  WHERE conditions and JOINs it adds or drops), by the events' times: a query
  that comes back (a rolled-back deploy) is a change again;
- ``failed_run``: a run that ended FAIL or ABORT, with its error message;
- ``quality``: a quality rule of the policy broken by a dataset's latest metrics
  or assertions (see ``lineagectl.quality``);
- ``gap``: no successful run of a job for longer than twice its median interval
  between successful runs (needs three successful runs to know the cadence);
  measured up to the newest event in the store, so a store that stopped
  receiving events does not flag every job;
- ``retired``: every dataset a job wrote has been dropped since (a
  ``lifecycleStateChange`` DROP, see ``store.lookups.dropped_at``): it is not
  expected to run again, so its silence since is no gap;

Newest first; each names the dataset or job it touched and its distance from
NAME (dataset hops; a job counts as the dataset it writes).
"""

from __future__ import annotations

import difflib
import statistics
from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from lineagectl.common.dialects import UnknownDialect, dialect_named
from lineagectl.common.timeutil import format_timestamp, option_time
from lineagectl.errors import InputError
from lineagectl.graph.names import resolve
from lineagectl.graph.walk import walk_datasets
from lineagectl.results import Result
from lineagectl.store import open_store
from lineagectl.store.lookups import describe_datasets, describe_jobs, dropped_at

KINDS = ("schema", "sql", "failed_run", "gap", "quality", "retired")

# Each schema of a dataset as it came, oldest first, with its fields: every distinct payload when first
# seen (inputs have no other history), and the schema of every version written, which keeps a schema
# that comes back (a, b -> a, b, c -> a, b) in its place: a payload is stored once, at its first sight.
# Repeats of the same schema in a row are no change (``_schema_changes`` skips them).
_SCHEMAS = """
    WITH history AS (
        SELECT dataset_id, facet_hash AS schema_hash, first_seen AS seen FROM dataset_facets
        WHERE facet_key = 'schema' AND dataset_id IN (SELECT unnest($ids::BIGINT[]))
        UNION
        SELECT dataset_id, schema_hash, schema_time FROM dataset_versions
        WHERE schema_hash IS NOT NULL AND dataset_id IN (SELECT unnest($ids::BIGINT[])))
    SELECT h.dataset_id, h.schema_hash, h.seen,
           list({'name': s.name, 'type': s.type} ORDER BY s.ordinal) FILTER (WHERE s.name IS NOT NULL)
    FROM history h LEFT JOIN schema_fields s ON s.schema_hash = h.schema_hash
    GROUP BY ALL ORDER BY h.dataset_id, h.seen, h.schema_hash"""
# Each SQL of a job as it came, oldest first: every sighting of a sql facet in the job's stored events
# (their facet references), so a query that comes back (A, B, A: a reverted deploy) is a change again,
# and each payload's first sighting (job_facets), which stands for events pruned since. Repeats in a
# row are collapsed here; only the rows where the SQL differs from the one before come back.
_SQL = """
    WITH hashes AS (
        SELECT job_id, facet_hash, first_seen FROM job_facets
        WHERE facet_key = 'sql' AND job_id IN (SELECT unnest($ids::BIGINT[]))),
    refs AS (
        SELECT job_id, event_time, unnest(string_split(facet_refs, ',')) AS facet_hash FROM events
        WHERE job_id IN (SELECT DISTINCT job_id FROM hashes)),
    sightings AS (
        SELECT job_id, facet_hash, first_seen AS seen FROM hashes
        UNION SELECT job_id, facet_hash, event_time FROM refs SEMI JOIN hashes USING (job_id, facet_hash)),
    ordered AS (
        SELECT *, lag(facet_hash) OVER (PARTITION BY job_id ORDER BY seen, facet_hash) AS before FROM sightings)
    SELECT o.job_id, o.seen, b.payload->>'query', b.payload->>'dialect'
    FROM ordered o JOIN facet_blobs b USING (facet_hash)
    WHERE o.before IS DISTINCT FROM o.facet_hash
    ORDER BY o.job_id, o.seen, o.facet_hash"""
_FAILED = """
    SELECT job_id, run_id, state, coalesce(ended_at, last_event_time), error_message FROM runs
    WHERE state IN ('FAIL', 'ABORT') AND job_id IN (SELECT unnest($ids::BIGINT[]))
      AND coalesce(ended_at, last_event_time) >= $since"""
# What each job writes (aliases folded) and when it first did.
_WRITES = """
    SELECT e.job_id, coalesce(a.dataset_id, e.dataset_id), min(e.first_seen)
    FROM edges e LEFT JOIN dataset_aliases a ON a.alias_id = e.dataset_id
    WHERE e.direction = 'out' AND e.job_id IN (SELECT unnest($ids::BIGINT[]))
    GROUP BY ALL"""
_SUCCESSES = """
    SELECT job_id, list(coalesce(started_at, first_event_time) ORDER BY coalesce(started_at, first_event_time))
    FROM runs WHERE state = 'COMPLETE' AND job_id IN (SELECT unnest($ids::BIGINT[])) GROUP BY job_id"""


def changes(name: str, db: str | None = None, *, since: str | None = "7d", namespace: str | None = None,
            kind: str | None = None, depth: int | None = None, policy=None) -> Result:
    """Schema and SQL changes, failed runs, gaps and broken quality rules upstream of ``name``."""
    since_time = option_time(since or "7d", "--since")
    assert since_time is not None  # a value was given
    if depth is not None and depth < 0:
        raise InputError("--depth must be 0 or more")
    with open_store(db) as con:
        root = resolve(con, name, namespace=namespace, kind=kind if kind == "model" else "dataset")
        # One hop further than --depth for the jobs: a job at hop d writes a dataset at distance d - 1.
        walk = walk_datasets(con, [root.id], "upstream", None if depth is None else depth + 1)
        datasets = {root.id: 0, **{i: d for i, d in walk.datasets.items() if depth is None or d <= depth}}
        jobs = {j: d - 1 for j, d in walk.jobs.items()}
        described = describe_datasets(con, datasets)
        names = {"dataset": {i: {"namespace": d["namespace"], "name": d["name"]} for i, d in described.items()},
                 "job": describe_jobs(con, jobs)}
        retired = retired_jobs(con, jobs)
        found = (_schema_changes(con, datasets, since_time) + _sql_changes(con, jobs, since_time)
                 + _failed_runs(con, jobs, since_time) + _gaps(con, jobs, since_time, set(retired))
                 + _retirements(retired, jobs, since_time) + _quality(con, datasets, since_time, policy))
    items = []
    for item in found:
        entity_names = names["dataset" if item["entity"] == "dataset" else "job"][item.pop("id")]
        items.append({"time": item["time"], "kind": item["kind"], "entity": item["entity"], **entity_names,
                      "distance": item["distance"], "summary": item["summary"], "details": item["details"]})
    items.sort(key=lambda c: (c["time"], -KINDS.index(c["kind"]), c["namespace"], c["name"]), reverse=True)
    for item in items:
        item["time"] = format_timestamp(item["time"])
    return Result("changes", {"root": {"namespace": root.namespace, "name": root.name},
                              "since": format_timestamp(since_time), "datasets": len(datasets), "jobs": len(jobs),
                              "changes": items})


def _change(kind: str, entity: str, id_: int, time: datetime, distance: int, summary: str, **details) -> dict:
    return {"kind": kind, "entity": entity, "id": id_, "time": time, "distance": distance, "summary": summary,
            "details": details}


def schema_diff(old: list[dict], new: list[dict]) -> dict:
    """Columns added, removed and retyped between two schemas (lists of {name, type})."""
    before = {f["name"]: f["type"] for f in old}
    after = {f["name"]: f["type"] for f in new}
    return {"added": [{"name": n, "type": t} for n, t in after.items() if n not in before],
            "removed": [{"name": n, "type": t} for n, t in before.items() if n not in after],
            "retyped": [{"name": n, "from": before[n], "to": t} for n, t in after.items()
                        if n in before and (before[n] or "").upper() != (t or "").upper()]}


def _schema_changes(con, datasets: dict, since: datetime) -> list[dict]:
    rows = con.execute(_SCHEMAS, {"ids": sorted(datasets)}).fetchall()
    found = []
    for previous, current in pairwise(rows):
        if previous[0] != current[0] or previous[1] == current[1] or current[2] < since:
            continue
        diff = schema_diff(previous[3] or [], current[3] or [])
        parts = []
        if diff["added"]:
            parts.append("added " + ", ".join(f"{c['name']} {c['type'] or ''}".strip() for c in diff["added"]))
        if diff["removed"]:
            parts.append("removed " + ", ".join(c["name"] for c in diff["removed"]))
        if diff["retyped"]:
            parts.append("retyped " + ", ".join(f"{c['name']} {c['from']}->{c['to']}" for c in diff["retyped"]))
        if parts:  # a new payload with the same columns (descriptions, say) is no schema change
            found.append(_change("schema", "dataset", current[0], current[2], datasets[current[0]],
                                 "schema: " + "; ".join(parts), **diff))
    return found


def _sqlglot_dialect(name: str | None) -> str | None:
    """The sqlglot dialect of a sql facet's dialect name (any alias of the one table); generic when unknown."""
    try:
        return dialect_named(name) if name else None
    except UnknownDialect:
        return None


def sql_clauses(query: str, dialect: str | None) -> tuple[set[str], set[str]] | None:
    """The filter conditions (the AND-ed parts of WHERE, HAVING and QUALIFY) and the JOINed tables
    of a query; None if it does not parse."""
    import sqlglot
    from sqlglot import exp

    dialect = _sqlglot_dialect(dialect)
    try:
        tree = sqlglot.parse_one(query, dialect=dialect)
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError, ValueError):
        return None
    conditions = set()
    for clause in tree.find_all(exp.Where, exp.Having, exp.Qualify):
        parts = clause.this.flatten() if isinstance(clause.this, exp.And) else [clause.this]
        conditions |= {part.sql(dialect=dialect) for part in parts}
    joins = {join.this.sql(dialect=dialect) for join in tree.find_all(exp.Join)}
    return conditions, joins


def _pretty(query: str, dialect: str | None) -> list[str]:
    import sqlglot

    dialect = _sqlglot_dialect(dialect)
    try:
        return sqlglot.transpile(query, read=dialect, write=dialect, pretty=True)[0].splitlines()
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError, ValueError):
        return query.splitlines()


def _sql_changes(con, jobs: dict, since: datetime) -> list[dict]:
    rows = con.execute(_SQL, {"ids": sorted(jobs)}).fetchall() if jobs else []
    found = []
    for previous, current in pairwise(rows):
        if previous[0] != current[0] or current[1] < since or previous[2] == current[2]:
            continue
        dialect = current[3]
        diff = list(difflib.unified_diff(_pretty(previous[2] or "", dialect), _pretty(current[2] or "", dialect),
                                         "before", "after", lineterm=""))
        old, new = sql_clauses(previous[2] or "", dialect), sql_clauses(current[2] or "", dialect)
        details: dict[str, Any] = {"diff": "\n".join(diff)}
        notes = []
        if old and new:
            details |= {"added_conditions": sorted(new[0] - old[0]), "removed_conditions": sorted(old[0] - new[0]),
                        "added_joins": sorted(new[1] - old[1]), "removed_joins": sorted(old[1] - new[1])}
            notes = ([f"new filter {c}" for c in details["added_conditions"]]
                     + [f"dropped filter {c}" for c in details["removed_conditions"]]
                     + [f"new join {t}" for t in details["added_joins"]]
                     + [f"dropped join {t}" for t in details["removed_joins"]])
        found.append(_change("sql", "job", current[0], current[1], jobs[current[0]],
                             "SQL changed" + (": " + "; ".join(notes) if notes else ""), **details))
    return found


def _failed_runs(con, jobs: dict, since: datetime) -> list[dict]:
    rows = con.execute(_FAILED, {"ids": sorted(jobs), "since": since}).fetchall() if jobs else []
    return [_change("failed_run", "job", job, ended, jobs[job],
                    f"run {state}" + (f": {message.splitlines()[0][:200]}" if message else ""),
                    run_id=run_id, state=state, error_message=message)
            for job, run_id, state, ended, message in rows]


def duration_text(delta: timedelta) -> str:
    """``3 h 10 min``, ``2 d 4 h``, ``45 min``."""
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{minutes} min"] * bool(minutes and not days)
    return " ".join(parts) or "0 min"


def retired_jobs(con, jobs: Iterable[int]) -> dict[int, list[dict]]:
    """The jobs whose outputs are all dropped now, each with its outputs ({namespace, name,
    dropped_at}, oldest drop first). A job that only ever wrote a dataset as it dropped it (a
    DROP TABLE task) is no producer of it, so it does not retire."""
    wanted = sorted(jobs)
    writes: dict[int, list[tuple[int, datetime]]] = {}
    for job, dataset, first in con.execute(_WRITES, {"ids": wanted}).fetchall() if wanted else []:
        writes.setdefault(job, []).append((dataset, first))
    gone = dropped_at(con, {d for outputs in writes.values() for d, _ in outputs})
    names = describe_datasets(con, gone, owners=False)
    retired = {}
    for job, outputs in writes.items():
        if all(d in gone for d, _ in outputs) and any(first < gone[d] for d, first in outputs):
            retired[job] = sorted(({"namespace": names[d]["namespace"], "name": names[d]["name"],
                                    "dropped_at": gone[d]} for d, _ in outputs if d in names),
                                  key=lambda o: (o["dropped_at"], o["namespace"], o["name"]))
    return retired


def _retirements(retired: dict[int, list[dict]], jobs: dict, since: datetime) -> list[dict]:
    found = []
    for job, outputs in retired.items():
        when = max((o["dropped_at"] for o in outputs), default=None)
        if when is None or when < since:
            continue
        what = "; ".join(f"{o['namespace']} {o['name']} on {format_timestamp(o['dropped_at'])}" for o in outputs)
        found.append(_change("retired", "job", job, when, jobs[job], f"retired: every output dropped ({what})",
                             outputs=[{**o, "dropped_at": format_timestamp(o["dropped_at"])} for o in outputs]))
    return found


def _gaps(con, jobs: dict, since: datetime, retired: set[int]) -> list[dict]:
    if not jobs:
        return []
    newest = con.execute("SELECT max(event_time) FROM events").fetchall()[0][0]
    found = []
    for job, starts in con.execute(_SUCCESSES, {"ids": sorted(jobs)}).fetchall():
        if len(starts) < 3:
            continue
        intervals = [b - a for a, b in pairwise(starts)]
        usual = statistics.median(intervals)
        if usual <= timedelta(0):
            continue
        ends = list(pairwise(starts)) + ([(starts[-1], newest)] if newest and newest > starts[-1] else [])
        for begin, end in ends:
            ongoing = end == newest and end != starts[-1]
            if ongoing and job in retired:
                continue  # its outputs are gone: it is not expected to run
            if end - begin > 2 * usual and end >= since:
                found.append(_change(
                    "gap", "job", job, end, jobs[job],
                    f"no successful run for {duration_text(end - begin)}"
                    + (" so far" if ongoing else "") + f" (usual interval {duration_text(usual)})",
                    last_success=format_timestamp(begin), next_success=None if ongoing else format_timestamp(end),
                    usual_interval_seconds=int(usual.total_seconds())))
    return found


def _quality(con, datasets: dict, since: datetime, policy) -> list[dict]:
    from lineagectl.common.policy import Policy, load_policy
    from lineagectl.operations.quality import broken_rules

    rules = policy if isinstance(policy, Policy) else load_policy(policy)
    return [_change("quality", "dataset", b["dataset_id"], b["time"], datasets[b["dataset_id"]], b["summary"],
                    **b["details"])
            for b in broken_rules(con, sorted(datasets), rules) if b["time"] is not None and b["time"] >= since]
