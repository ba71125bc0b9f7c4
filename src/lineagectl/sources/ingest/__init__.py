"""OpenLineage ingest: read files, validate and normalise events, write them atomically.

Each file is stored whole or not at all: a crash, Ctrl-C or unreadable file
leaves the store as it was before that file. A large file is one transaction;
small files are read whole and committed together (see ``_units``). With
``strict=True`` the whole invocation is one transaction that is rolled back if
any event was rejected.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import duckdb

from lineagectl.errors import DatabaseError, InputError
from lineagectl.sources.ingest import ledger
from lineagectl.sources.ingest.inputs import dbt_companions, read_manifests, read_scripts
from lineagectl.sources.ingest.namespace_clash import manifest_namespace_warnings
from lineagectl.sources.ingest.pipeline import BATCH_BYTES, BATCH_SIZE, Pipeline, Rejected, units
from lineagectl.sources.ingest.reader import MAX_RECORD_BYTES, STDIN, expand_sources
from lineagectl.sources.ingest.report import IngestReport
from lineagectl.sources.ingest.sql_scripts import is_sql_script
from lineagectl.sources.sql_budget import budget_seconds
from lineagectl.store import open_store
from lineagectl.store.db import write_failure

__all__ = ["DEFAULT_MAX_FUTURE", "IngestReport", "ingest"]

# Producers' clocks drift by seconds to minutes; a day covers any time zone mistake too.
DEFAULT_MAX_FUTURE = timedelta(days=1)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _rollback(con) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass  # no transaction was open


def _counts(con) -> tuple[int, int, int]:
    return con.execute(
        "SELECT (SELECT count(*) FROM datasets), (SELECT count(*) FROM jobs), (SELECT count(*) FROM runs)"
    ).fetchall()[0]


def _late_arrivals(con, since) -> str | None:
    """Say so when events older than the last prune's detailed window were stored again."""
    pruned = con.execute("SELECT max(detailed_cutoff), max(pruned_at) FROM prune_log").fetchall()[0]
    if pruned[0] is None:
        return None
    count = con.execute("SELECT count(*) FROM events WHERE ingested_at >= ? AND event_time < ?",
                        [since, pruned[0]]).fetchall()[0][0]
    if not count:
        return None
    return (f"{count} events are older than the detailed window of the last prune ({pruned[1]:%Y-%m-%d}: detail "
            f"before {pruned[0]:%Y-%m-%d} was removed); they were stored again — run `lineagectl prune` to "
            "apply retention to them")


def ingest(
    paths: list[str],
    db: str | None = None,
    *,
    strict: bool = False,
    on_reject: Rejected | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    batch_size: int = BATCH_SIZE,
    batch_bytes: int = BATCH_BYTES,
    namespace: str | None = None,
    catalog: str | None = None,
    run_results: str | None = None,
    force: bool = False,
    max_record_bytes: int = MAX_RECORD_BYTES,
    max_future: timedelta | None = DEFAULT_MAX_FUTURE,
    dialect: str | None = None,
    job_namespace: str | None = None,
    sql_timeout: float | None = None,
    remember_files: bool = True,
) -> IngestReport:
    """Ingest OpenLineage events from ``paths`` (files, directories, ``-``) into the store ``db``.

    ``on_reject`` receives ``"file:line: reason"`` for every rejected event (the report lists
    the first ``REPORTED_REJECTS`` as ``{"file", "line", "reason"}`` in ``rejects``);
    ``progress`` receives (bytes read so far, total bytes or None).
    Files that cannot be read are listed in ``report.file_errors`` (and left out
    whole); the caller decides the exit status from the report. A dbt
    ``manifest.json`` among the inputs is read as its project's lineage
    (``namespace`` overrides the adapter's, ``catalog`` adds column types,
    ``run_results`` adds the runs of the last invocation and its test results).
    An event file found in a directory, read before and unchanged since (same
    path, size and modification time) is skipped and counted in
    ``files_skipped``, unless ``force``; files named in ``paths`` are always read.
    A line, or an element of a JSON array, longer than ``max_record_bytes`` is
    rejected with its place without being held in memory; so is an event dated
    more than ``max_future`` after now (None accepts any date). A ``.sql`` file is a
    SQL script read in ``dialect``: a job (in ``job_namespace``) with the table and
    column lineage of its statements over tables in ``namespace``
    (``sources/ingest/sql_scripts.py``). The column lineage of a dbt model or a script's statement taking longer than
    ``sql_timeout`` seconds is skipped with a warning, its table lineage kept (None: the
    default of ``sources/sql_budget.py``, 0: no limit). ``remember_files=False`` leaves the files out of the
    ledger of files read (a server's spool files, deleted once stored, would only accumulate there).
    """
    if not paths:
        raise InputError("no input given", hint="pass files, directories or - for stdin")
    budget = budget_seconds(sql_timeout)
    report = IngestReport()
    sources, manifest_paths, beside = dbt_companions(expand_sources(paths), report.warnings.append)
    started = time.perf_counter()
    manifests = read_manifests(manifest_paths, report.warnings.append, namespace, catalog, run_results, beside,
                               budget)
    manifests.update(read_scripts([s.path for s in sources if s.path != STDIN and is_sql_script(s.path)],
                                  report.warnings.append, dialect, namespace, job_namespace, sql_timeout))
    with open_store(db, write=True) as con:
        if not force:
            skipped = ledger.unchanged(con, sources)  # manifests are never recorded
            report.files_skipped = len(skipped)
            sources = [s for s in sources if s not in skipped]
        sizes = [s.size for s in sources if s.size is not None]
        total = sum(sizes) if len(sizes) == len(sources) else None  # None: a size is unknown (stdin)
        before = _counts(con)
        since = con.execute("SELECT now()::TIMESTAMP").fetchall()[0][0]
        horizon = None if max_future is None else _now() + max_future
        run = Pipeline(con, report, on_reject or (lambda _: None), batch_size, manifests, strict, max_record_bytes,
                      horizon, batch_bytes)
        done = 0
        try:
            if strict:
                con.execute("BEGIN")
            for unit in units(sources, manifests):
                size = sum(source.size or 0 for source in unit)
                report.files += len(unit)
                unit_progress = None
                if progress is not None:
                    unit_progress = lambda n, base=done: progress(base + n, total)  # noqa: E731
                if not strict:
                    con.execute("BEGIN")
                counted = (report.events_read, report.events_new, report.events_rejected)
                listed = len(report.rejects)
                try:
                    clean = run.unit(unit, unit_progress)
                    if remember_files:
                        ledger.record(con, clean)
                except InputError as exc:
                    report.file_errors.append(exc.message)
                    if strict:
                        raise
                    con.execute("ROLLBACK")
                    # The file is left out whole: it counts as neither read nor stored.
                    report.events_read, report.events_new, report.events_rejected = counted
                    del report.rejects[listed:]
                    continue
                if not strict:
                    con.execute("COMMIT")
                done += size
            if strict:
                if report.events_rejected or report.file_errors:
                    con.execute("ROLLBACK")
                    report.rolled_back = True
                    report.events_new = 0
                else:
                    con.execute("COMMIT")
        except duckdb.OutOfMemoryException as exc:
            _rollback(con)
            raise DatabaseError(
                f"ingest ran out of memory and stored nothing of the current file (or group of small "
                f"files): {exc}".split("\n")[0],
                hint="raise DuckDB's limit, e.g. LINEAGECTL_MEMORY_LIMIT=2GB, or split the log into smaller files",
            ) from None
        except (duckdb.IOException, duckdb.TransactionException) as exc:
            _rollback(con)
            raise write_failure(exc, "ingest") from None
        except BaseException:
            _rollback(con)
            raise
        finally:
            run.close()
        if namespace is None:  # after the events: those of this same call count too
            report.warnings += manifest_namespace_warnings(con, {p: manifests[p] for p in manifest_paths})
        after = _counts(con)
        late = _late_arrivals(con, since)
        if late:
            report.warnings.append(late)
    report.events_duplicate = report.events_read - report.events_new - report.events_rejected
    if report.rolled_back:
        report.events_duplicate = 0
    added = (a - b for a, b in zip(after, before, strict=True))
    report.datasets_added, report.jobs_added, report.runs_added = added
    report.seconds = time.perf_counter() - started
    return report
