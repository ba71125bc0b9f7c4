"""OpenLineage ingest: read files, validate and normalise events, write them atomically.

Each file is stored whole or not at all: a crash, Ctrl-C or unreadable file
leaves the store as it was before that file. A large file is one transaction;
small files are read whole and committed together (see ``_units``). With
``strict=True`` the whole invocation is one transaction that is rolled back if
any event was rejected.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import duckdb

from lineagectl.errors import DatabaseError, ExitStatus, InputError
from lineagectl.sources.ingest import ledger
from lineagectl.sources.ingest.derive import refresh_current_state
from lineagectl.sources.ingest.documents import page_records
from lineagectl.sources.ingest.inputs import dbt_companions, read_manifests, read_scripts
from lineagectl.sources.ingest.known import KnownLines, event_day, line_hash
from lineagectl.sources.ingest.namespace_clash import manifest_namespace_warnings
from lineagectl.sources.ingest.prepare import Prepared, Rules, prepare
from lineagectl.sources.ingest.reader import (
    MAX_RECORD_BYTES,
    STDIN,
    BadDocument,
    Parsed,
    Record,
    Source,
    expand_sources,
    in_chunks,
    read_chunks,
)
from lineagectl.sources.ingest.sql_scripts import is_sql_script
from lineagectl.sources.ingest.sqlcll import derive_sql_lineage
from lineagectl.sources.ingest.validate import IgnoredFacets
from lineagectl.sources.ingest.writer import Batch, begin_touch_tracking, write_batch
from lineagectl.sources.sql_budget import budget_seconds
from lineagectl.store import open_store
from lineagectl.store.db import write_failure
from lineagectl.store.skeleton import FacetHasher

# A batch is written when it holds BATCH_SIZE events or BATCH_BYTES (skeletons and distinct facet
# blobs), whichever comes first: DuckDB's intermediates and the Arrow stages grow with the bytes,
# not the count (a 10,000-event batch of 17 KB whole events peaked at 1.8 GB before the skeletons;
# 25,000 skeleton events broke 1 GiB at 1M events; docs/performance.md, issue 20).
BATCH_SIZE = 10_000
BATCH_BYTES = 32 << 20
# An ingest report lists this many rejected events with their place and reason (a log of
# a million bad lines would otherwise make a report of hundreds of megabytes).
REPORTED_REJECTS = 10_000
# Producers' clocks drift by seconds to minutes; a day covers any time zone mistake too.
DEFAULT_MAX_FUTURE = timedelta(days=1)
# Files up to SMALL_FILE bytes are read whole and committed together, GROUP_BYTES at a time.
SMALL_FILE = 1 << 20
GROUP_BYTES = 32 << 20


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class IngestReport:
    """What an ingest did."""

    files: int = 0
    files_skipped: int = 0
    events_read: int = 0
    events_new: int = 0
    events_duplicate: int = 0
    events_rejected: int = 0
    datasets_added: int = 0
    jobs_added: int = 0
    runs_added: int = 0
    seconds: float = 0.0
    rolled_back: bool = False
    file_errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # The first REPORTED_REJECTS rejected events: {"file", "line", "reason"} (events_rejected counts all).
    rejects: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The report as plain JSON-able data."""
        return dict(self.__dict__)

    @property
    def exit_status(self) -> ExitStatus:
        """USAGE when a file could not be read, FINDINGS when lines were rejected, else OK."""
        if self.file_errors:
            return ExitStatus.USAGE
        return ExitStatus.FINDINGS if self.events_rejected else ExitStatus.OK


Rejected = Callable[[str], None]
# A record the store does not hold yet, with the hash of its raw line (None when there is no line).
_Fresh = tuple[int, bytes | None, Parsed | BadDocument | None, str | None]


def _rollback(con) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass  # no transaction was open


def _counts(con) -> tuple[int, int, int]:
    return con.execute(
        "SELECT (SELECT count(*) FROM datasets), (SELECT count(*) FROM jobs), (SELECT count(*) FROM runs)"
    ).fetchall()[0]


class _Ingest:
    """Reads and prepares events on this thread (``prepare.py``) while DuckDB writes the previous batch.

    DuckDB releases the GIL while it runs SQL, so preparing the next batch and
    unnesting the last one overlap; at most one batch waits, bounding memory.
    """

    def __init__(self, con, report: IngestReport, on_reject: Rejected, batch_size: int,
                 manifests: dict | None = None, strict: bool = False,
                 max_record_bytes: int = MAX_RECORD_BYTES, horizon: datetime | None = None,
                 batch_bytes: int = BATCH_BYTES) -> None:
        self.con = con
        self.max_record_bytes = max_record_bytes
        self.rules = Rules(strict, horizon)
        self.strict = strict
        self.manifests = manifests or {}
        self.report = report
        self.on_reject = on_reject
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lineagectl-writer")
        self.pending: Future | None = None
        self.known = KnownLines(con)
        self.ignored_facets = IgnoredFacets(report.warnings.append)
        self.hasher = FacetHasher()

    def _wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            self.report.events_new += pending.result()

    def flush(self, batch: Batch) -> None:
        self._wait()
        if len(batch):
            self.pending = self.pool.submit(write_batch, self.con, batch.to_arrow(), batch.facets_arrow(),
                                            batch.blobs_arrow())

    def reject(self, label: str, line: int, element: int | None, reason: str) -> None:
        """Count a rejected event at ``label:line`` (``element``: its number in a JSON array)."""
        self.report.events_rejected += 1
        reason = reason if element is None else f"event #{element}: {reason}"
        if len(self.report.rejects) < REPORTED_REJECTS:
            self.report.rejects.append({"file": label, "line": line, "reason": reason})
        self.on_reject(f"{label}:{line}: {reason}")

    def unit(self, sources: list, progress: Callable[[int], None] | None) -> list[tuple[Source, int]]:
        """Write ``sources`` in the current transaction, then refresh what they touched.

        A unit of one file streams it; in a group of small files each file is read
        whole before any of it is written, so an unreadable one is left out (listed
        in ``file_errors``) without touching the transaction. Returns the event
        files read without a rejected line, with their count of events.
        """
        begin_touch_tracking(self.con)
        stored_before = self.report.events_new
        batch = Batch()
        done = 0
        clean: list[tuple[Source, int]] = []
        try:
            for source in sources:
                if source.path in self.manifests:
                    # A dbt manifest becomes OpenLineage events and takes the same road.
                    events = self.manifests[source.path]
                    if isinstance(events, InputError):
                        raise events
                    chunks: Iterable[list[Record]] = in_chunks(
                        (1, Parsed(event, index)) for index, event in enumerate(events))
                elif len(sources) == 1:
                    chunks = read_chunks(source, progress, self.max_record_bytes)
                else:
                    try:
                        chunks = list(read_chunks(source, limit=self.max_record_bytes))
                    except InputError as exc:
                        if self.strict:
                            raise
                        self.report.file_errors.append(exc.message)
                        continue
                    finally:
                        done += source.size or 0
                        if progress is not None:
                            progress(done)
                read, rejected = self.report.events_read, self.report.events_rejected
                batch = self._consume(chunks, source.label, batch)
                if self.report.events_rejected == rejected and source.path not in self.manifests:
                    clean.append((source, self.report.events_read - read))
            self.flush(batch)
        finally:
            self._wait()
        if self.report.events_new == stored_before:
            # Nothing new (a re-ingest): nothing was touched, so there is no state to refresh.
            return clean
        refresh_current_state(self.con)
        derived = derive_sql_lineage(self.con, self.report.warnings.append)
        if derived:
            refresh_current_state(self.con, datasets=derived)
        return clean

    def _consume(self, chunks: Iterable[list[Record]], label: str, batch: Batch) -> Batch:
        """Prepare the records of ``chunks`` into ``batch``, writing it whenever it is full; returns the
        open batch."""
        for chunk in self._fresh(chunks):
            for line, raw, record, digest in chunk:
                page = None if raw is None else page_records(raw, line)
                if page is None:
                    batch = self._add(label, line, record, self._prepare(raw, record, digest), batch)
                    continue
                self.report.events_read += len(page) - 1  # a Marquez page on one line: its events
                for at, event in page:
                    batch = self._add(label, at, event, self._prepare(None, event, None), batch)
        return batch

    def _fresh(self, chunks: Iterable[list[Record]]) -> Iterator[list[_Fresh]]:
        """``chunks`` without the lines the store holds already, each record with its line's hash.

        Raw lines are hashed and looked up in the store a chunk at a time
        (``known.py``): a line the store holds byte for byte is a duplicate and
        is not parsed at all.
        """
        for chunk in chunks:
            hashes = [line_hash(raw) if raw is not None else None for _, raw, _ in chunk]
            days = [event_day(raw) for _, raw, _ in chunk if raw is not None]
            bounds = (min(days), max(days)) if days and all(days) else (b"", b"")
            known = self.known.known([h for h in hashes if h is not None], *bounds)
            self.report.events_read += len(chunk)
            fresh = [(line, raw, record, digest) for (line, raw, record), digest in zip(chunk, hashes, strict=True)
                     if digest is None or digest not in known]
            if fresh:
                yield fresh

    def _prepare(self, raw: bytes | None, record: Parsed | BadDocument | None, digest: str | None) -> Prepared | str:
        """``prepare`` of a raw line or a parsed record; the reason of a bad document."""
        if isinstance(record, BadDocument):
            return str(record.value)
        if isinstance(record, Parsed):
            return prepare(None, record.value, digest, self.rules, self.hasher)
        return prepare(raw, None, digest, self.rules, self.hasher)

    def _add(self, label: str, line: int, record, answer: Prepared | str, batch: Batch) -> Batch:
        """Add a prepared event to ``batch`` (or reject it), writing the batch when it is full."""
        element = record.index + 1 if isinstance(record, Parsed) and record.index is not None else None
        if isinstance(answer, str):
            self.reject(label, line, element, answer)
            return batch
        where = f"{label}:{line}" if element is None else f"{label}:{line}: event #{element}"
        if answer.ignored:
            self.ignored_facets.note(where, answer.ignored)
        batch.add(answer.digest, where, answer.kind, answer.event_type, answer.when, answer.skeleton, answer.refs,
                  answer.blobs, answer.rows)
        if len(batch) >= self.batch_size or batch.size >= self.batch_bytes:
            self.flush(batch)
            batch = Batch()
        return batch

    def close(self) -> None:
        self.ignored_facets.close()
        self.pool.shutdown(wait=True)
        self.known.close()


def _units(sources: list[Source], manifests: dict) -> Iterator[list[Source]]:
    """Split ``sources`` into the lists committed together: runs of small files, else one file.

    Each transaction costs a fixed ~0.2 s (unnesting statements, the refresh of
    current state, the commit), which made a spool directory of one-event files
    ingest at ~5 files/s. Small files are therefore committed in groups of up to
    ``GROUP_BYTES``; each is still stored whole or not at all.
    """
    group: list[Source] = []
    group_bytes = 0
    for source in sources:
        size = source.size
        if size is None or size > SMALL_FILE or source.path in manifests or source.compressed:
            if group:
                yield group
                group, group_bytes = [], 0
            yield [source]
            continue
        if group and group_bytes + size > GROUP_BYTES:
            yield group
            group, group_bytes = [], 0
        group.append(source)
        group_bytes += size
    if group:
        yield group


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
        run = _Ingest(con, report, on_reject or (lambda _: None), batch_size, manifests, strict, max_record_bytes,
                      horizon, batch_bytes)
        done = 0
        if strict:
            con.execute("BEGIN")
        try:
            for unit in _units(sources, manifests):
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
