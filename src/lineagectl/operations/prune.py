"""Retention: ``prune`` detailed run lineage after ``detailed_days`` and summary lineage after ``summary_days``.

Detailed window (default 90 days): whole runs whose last event is older go —
their raw events, state history, per-run inputs/outputs and facets — except the
latest run of each job; dataset versions created before it go, except each
dataset's current version. DatasetEvents/JobEvents older than it go too (what
they said lives on in the current-state tables).

Summary window (default 365 days): summary edges not seen since go, and so do
datasets and jobs not seen since, with everything about them, and the record of
files ingested before it (their lineage is gone; a file still in its spool is
read again as a late arrival).

Every count is the number of rows a ``DELETE`` removed, so ``--dry-run`` (the
same statements, rolled back) reports exactly what a real run removes. A real run
is one transaction; it appends its counts to ``prune_log`` and then compacts the
file so the space comes back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import duckdb

from lineagectl.common.policy import Policy, load_policy
from lineagectl.errors import InputError
from lineagectl.results import Result, records_from_rows
from lineagectl.store import StoreLike, open_store, store_path
from lineagectl.store.db import write_failure

DEFAULT_DETAILED_DAYS = 90
DEFAULT_SUMMARY_DAYS = 365

# Temp tables naming what goes; each statement below reads them.
_MARK = [
    """CREATE OR REPLACE TEMP TABLE stale_datasets AS
       SELECT dataset_id FROM dataset_names GROUP BY dataset_id HAVING max(last_seen) < $summary""",
    """CREATE OR REPLACE TEMP TABLE stale_jobs AS
       SELECT job_id FROM job_names GROUP BY job_id HAVING max(last_seen) < $summary""",
    # The latest run of each job stays, however old: it is the job's current state.
    """CREATE OR REPLACE TEMP TABLE old_runs AS
       SELECT run_id FROM runs
       WHERE job_id IN (SELECT job_id FROM stale_jobs)
          OR coalesce(last_event_time, ended_at, started_at) < $detailed AND run_id NOT IN (
              SELECT arg_max(run_id, row(coalesce(last_event_time, ended_at, started_at), run_id))
              FROM runs GROUP BY job_id)""",
]

# (table, DELETE statement); counted in this order.
_DELETE = [
    ("events", """DELETE FROM events WHERE run_id IN (SELECT run_id FROM old_runs)
        OR run_id IS NULL AND (event_time < $detailed OR job_id IN (SELECT job_id FROM stale_jobs)
                               OR dataset_id IN (SELECT dataset_id FROM stale_datasets))"""),
    ("run_states", "DELETE FROM run_states WHERE run_id IN (SELECT run_id FROM old_runs)"),
    ("run_io", """DELETE FROM run_io WHERE run_id IN (SELECT run_id FROM old_runs)
        OR dataset_id IN (SELECT dataset_id FROM stale_datasets)"""),
    ("run_facets", "DELETE FROM run_facets WHERE run_id IN (SELECT run_id FROM old_runs)"),
    ("io_facets", """DELETE FROM io_facets WHERE run_id IN (SELECT run_id FROM old_runs)
        OR dataset_id IN (SELECT dataset_id FROM stale_datasets)"""),
    ("runs", "DELETE FROM runs WHERE run_id IN (SELECT run_id FROM old_runs)"),
    ("dataset_versions", """DELETE FROM dataset_versions v
        WHERE v.dataset_id IN (SELECT dataset_id FROM stale_datasets)
           OR v.created_at < $detailed AND NOT EXISTS (
               SELECT 1 FROM datasets d WHERE d.dataset_id = v.dataset_id AND d.current_version = v.version)"""),
    ("edges", """DELETE FROM edges WHERE last_seen < $summary
        OR dataset_id IN (SELECT dataset_id FROM stale_datasets) OR job_id IN (SELECT job_id FROM stale_jobs)"""),
    ("datasets", "DELETE FROM datasets WHERE dataset_id IN (SELECT dataset_id FROM stale_datasets)"),
    ("dataset_names", "DELETE FROM dataset_names WHERE dataset_id IN (SELECT dataset_id FROM stale_datasets)"),
    ("dataset_facets", "DELETE FROM dataset_facets WHERE dataset_id IN (SELECT dataset_id FROM stale_datasets)"),
    ("dataset_aliases", """DELETE FROM dataset_aliases WHERE dataset_id IN (SELECT dataset_id FROM stale_datasets)
        OR alias_id IN (SELECT dataset_id FROM stale_datasets)"""),
    ("columns", "DELETE FROM columns WHERE dataset_id IN (SELECT dataset_id FROM stale_datasets)"),
    ("cll_sets", """DELETE FROM cll_sets WHERE dataset_id IN (SELECT dataset_id FROM stale_datasets)
        OR job_id IN (SELECT job_id FROM stale_jobs)"""),
    ("cll_fields", """DELETE FROM cll_fields f WHERE NOT EXISTS (
        SELECT 1 FROM cll_sets s WHERE s.dataset_id = f.dataset_id AND s.facet_hash = f.facet_hash)"""),
    ("column_edges", """DELETE FROM column_edges
        WHERE dataset_id IN (SELECT dataset_id FROM stale_datasets)
           OR src_dataset_id IN (SELECT dataset_id FROM stale_datasets)
           OR job_id IN (SELECT job_id FROM stale_jobs)"""),
    ("jobs", "DELETE FROM jobs WHERE job_id IN (SELECT job_id FROM stale_jobs)"),
    ("job_names", "DELETE FROM job_names WHERE job_id IN (SELECT job_id FROM stale_jobs)"),
    ("job_facets", "DELETE FROM job_facets WHERE job_id IN (SELECT job_id FROM stale_jobs)"),
    ("tags", """DELETE FROM tags
        WHERE entity_kind = 'dataset' AND entity_id IN (SELECT dataset_id FROM stale_datasets)
           OR entity_kind = 'job' AND entity_id IN (SELECT job_id FROM stale_jobs)"""),
    ("owners", """DELETE FROM owners
        WHERE entity_kind = 'dataset' AND entity_id IN (SELECT dataset_id FROM stale_datasets)
           OR entity_kind = 'job' AND entity_id IN (SELECT job_id FROM stale_jobs)"""),
    ("schema_fields", """DELETE FROM schema_fields WHERE schema_hash NOT IN (
        SELECT schema_hash FROM dataset_versions WHERE schema_hash IS NOT NULL
        UNION SELECT schema_hash FROM datasets WHERE schema_hash IS NOT NULL
        UNION SELECT facet_hash FROM dataset_facets WHERE facet_key = 'schema'
        UNION SELECT facet_hash FROM io_facets WHERE facet_key = 'schema')"""),
    # A payload stays while any table still refers to it, the stored events' skeletons included
    # (their facet_refs, store/skeleton.py: hashes, or '-' for a facet kept inline).
    ("facet_blobs", """DELETE FROM facet_blobs WHERE facet_hash NOT IN (
        SELECT facet_hash FROM dataset_facets UNION SELECT facet_hash FROM job_facets
        UNION SELECT facet_hash FROM run_facets UNION SELECT facet_hash FROM io_facets
        UNION SELECT facet_hash FROM cll_sets
        UNION SELECT schema_hash FROM dataset_versions WHERE schema_hash IS NOT NULL
        UNION SELECT ref FROM (SELECT DISTINCT unnest(string_split(facet_refs, ',')) AS ref FROM events
                               WHERE facet_refs NOT IN ('', '='))
              WHERE ref <> '-')"""),
    # Else the ledger would grow with every spooled file for ever.
    ("ingested_files", "DELETE FROM ingested_files WHERE ingested_at < $summary"),
]
TABLES_PRUNED = [table for table, _ in _DELETE]


@dataclass
class PruneReport:
    """What a prune removed (or, dry, would remove), per table."""

    detailed_cutoff: datetime
    summary_cutoff: datetime
    dry_run: bool
    removed: dict[str, int] = field(default_factory=dict)
    bytes_before: int = 0
    bytes_after: int = 0
    compact_error: str | None = None  # the prune stands; only giving space back failed


def cutoffs(detailed_days: int | None, summary_days: int | None, policy: Policy,
            now: datetime | None = None) -> tuple[datetime, datetime]:
    """The detailed and summary cutoffs: options, else the policy's ``retention:``, else 90 / 365 days."""
    detailed = next(d for d in (detailed_days, policy.detailed_days, DEFAULT_DETAILED_DAYS) if d is not None)
    summary = next(d for d in (summary_days, policy.summary_days, DEFAULT_SUMMARY_DAYS) if d is not None)
    for option, days in (("--detailed-days", detailed), ("--summary-days", summary)):
        if days < 1:
            raise InputError(f"{option} must be 1 or more, not {days}")
    if detailed > summary:
        raise InputError(f"--detailed-days ({detailed}) cannot exceed --summary-days ({summary})",
                         hint="summary lineage outlives the detail it summarises")
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    try:
        return now - timedelta(days=detailed), now - timedelta(days=summary)
    except OverflowError:
        raise InputError(f"a retention of {summary} days reaches back before the year 1",
                         hint="to keep everything, do not prune; retention windows are counted in days") from None


def prune(db: StoreLike = None, *, detailed_days: int | None = None, summary_days: int | None = None,
          dry_run: bool = False, policy: str | Policy | None = None, now: datetime | None = None,
          compact: bool = True) -> PruneReport:
    """Delete lineage older than the retention windows, in one transaction (rolled back when ``dry_run``)."""
    rules = policy if isinstance(policy, Policy) else load_policy(policy)
    detailed, summary = cutoffs(detailed_days, summary_days, rules, now)
    path = store_path(db)
    report = PruneReport(detailed, summary, dry_run)
    report.bytes_before = path.stat().st_size if path.exists() else 0
    with open_store(db, write=True, create=False) as con:
        params = {"detailed": detailed, "summary": summary}
        con.execute("BEGIN")
        try:
            for statement in _MARK:
                con.execute(statement, _used(params, statement))
            for table, statement in _DELETE:
                report.removed[table] = con.execute(statement, _used(params, statement)).fetchall()[0][0]
            if not dry_run:
                _log(con, report)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        try:
            con.execute("ROLLBACK" if dry_run else "COMMIT")
        except (duckdb.IOException, duckdb.TransactionException) as exc:
            raise write_failure(exc, "prune") from None
        if not dry_run:
            con.execute("CHECKPOINT")
    if not dry_run and compact and any(report.removed.values()):
        from lineagectl.store.compact import give_back_space

        report.compact_error = give_back_space(db, "the prune is committed, and the next prune gives the space back")
    report.bytes_after = path.stat().st_size
    return report


def _used(params: dict, statement: str) -> dict:
    # DuckDB refuses named parameters a statement does not use.
    return {k: v for k, v in params.items() if f"${k}" in statement}


def _log(con, report: PruneReport) -> None:
    con.executemany(
        "INSERT INTO prune_log VALUES (now()::TIMESTAMP, ?, ?, ?, ?)",
        [[report.detailed_cutoff, report.summary_cutoff, table, rows] for table, rows in report.removed.items()])


def history(db: str | None = None) -> Result:
    """Every prune run: when, with which cutoffs, and the rows removed per table."""
    with open_store(db) as con:
        rows = con.execute("""SELECT pruned_at, detailed_cutoff, summary_cutoff, table_name, rows
                              FROM prune_log ORDER BY pruned_at, table_name""").fetchall()
    columns = ["pruned_at", "detailed_cutoff", "summary_cutoff", "table", "rows"]
    return Result("prune-history", records_from_rows(columns, rows))


def as_result(report: PruneReport) -> Result:
    """A prune report as a ``Result`` (its payload is CONTRACT.md's ``prune`` JSON)."""
    from lineagectl.common.timeutil import format_timestamp

    return Result("prune", {
        "dry_run": report.dry_run, "detailed_cutoff": format_timestamp(report.detailed_cutoff),
        "summary_cutoff": format_timestamp(report.summary_cutoff), "removed": report.removed,
        "bytes_before": report.bytes_before, "bytes_after": report.bytes_after,
        "compact_error": report.compact_error})
