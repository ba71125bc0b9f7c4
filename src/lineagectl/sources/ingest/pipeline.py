"""A unit of files on its way into the store: read, known lines skipped, prepared, batched, written.

The reading and preparing happen on the caller's thread (``reader.py``,
``known.py``, ``prepare.py``; a large file's events are prepared by child
processes, ``prepare_child.py``) while a writer thread hands the previous batch
to DuckDB (``writer.py``); then the current state the unit touched is refreshed
(``derive.py``). Which files make a unit (one transaction) is ``units``.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from lineagectl.errors import InputError
from lineagectl.sources.ingest import report as report_module
from lineagectl.sources.ingest.derive import refresh_current_state
from lineagectl.sources.ingest.documents import BadDocument, Parsed, may_be_page, page_records
from lineagectl.sources.ingest.identity import line_hash
from lineagectl.sources.ingest.known import KnownLines, event_day
from lineagectl.sources.ingest.line_hashes import CHILD_MIN_BYTES, LineHashes
from lineagectl.sources.ingest.ndjson import Record, in_chunks
from lineagectl.sources.ingest.prepare import Prepared, Rules, prepare
from lineagectl.sources.ingest.prepare_child import Preparing, helpers
from lineagectl.sources.ingest.reader import MAX_RECORD_BYTES, Source, read_chunks
from lineagectl.sources.ingest.report import IngestReport
from lineagectl.sources.ingest.sqlcll import derive_sql_lineage
from lineagectl.sources.ingest.validate import IgnoredFacets
from lineagectl.sources.ingest.writer import Batch, begin_touch_tracking, write_batch
from lineagectl.store.skeleton import FacetHasher

# A batch is written when it holds BATCH_SIZE events or BATCH_BYTES (skeletons and distinct facet
# blobs), whichever comes first: DuckDB's intermediates and the Arrow stages grow with the bytes,
# not the count (a 10,000-event batch of 17 KB whole events peaked at 1.8 GB before the skeletons;
# 25,000 skeleton events broke 1 GiB at 1M events; docs/performance.md, issue 20).
BATCH_SIZE = 10_000
BATCH_BYTES = 32 << 20
# The interpreter's thread switch interval while a pipeline runs (CPython's default is 5 ms). The
# writer thread needs the GIL between DuckDB's statements (~45 a batch) and for their Arrow results,
# and the preparing thread holds it for a whole interval each time: at 5 ms the reader waited
# 3.7-4.2 s per 100k events for batches to be written, at 0.5 ms 0.6-0.8 s (docs/performance.md).
SWITCH_INTERVAL = 0.0005
# The preparing children's unit of work (``prepare_child.py``): a child holds two pieces' events and
# answers at a time, ~24 KB of its memory per event of the bench log (pieces of 4,096 events: 188 MiB
# in the child; docs/performance.md).
PIECE_LINES = 1024
PIECE_BYTES = 4 << 20
# Files up to SMALL_FILE bytes are read whole and committed together, GROUP_BYTES at a time.
SMALL_FILE = 1 << 20
GROUP_BYTES = 32 << 20

Rejected = Callable[[str], None]


class _ShortSwitches:
    """``SWITCH_INTERVAL`` while any pipeline of the process runs; the host's own interval is given
    back when the last one ends (pipelines may run at once in threads, over different stores)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.saved = 0.0

    def enter(self) -> None:
        with self.lock:
            if not self.running:
                self.saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self.saved, SWITCH_INTERVAL))
            self.running += 1

    def leave(self) -> None:
        with self.lock:
            self.running -= 1
            if not self.running:
                sys.setswitchinterval(self.saved)


_short_switches = _ShortSwitches()

# A record the store does not hold yet, with the hash of its raw line (None when there is no line).
_Fresh = tuple[int, bytes | None, Parsed | BadDocument | None, str | None]


class Pipeline:
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
        self.closed = False
        _short_switches.enter()

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
        if len(self.report.rejects) < report_module.REPORTED_REJECTS:
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
        line_hashes: LineHashes | None = None
        preparing: Preparing | None = None
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
                    if source.size is None or source.size >= CHILD_MIN_BYTES:
                        line_hashes = LineHashes()
                        if count := helpers():
                            preparing = Preparing(self.rules, self._prepare_line, count)
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
                batch = self._consume(chunks, source.label, batch, line_hashes, preparing)
                if self.report.events_rejected == rejected and source.path not in self.manifests:
                    clean.append((source, self.report.events_read - read))
            self.flush(batch)
        finally:
            for child in (line_hashes, preparing):
                if child is not None:
                    child.close()
            self._wait()
        if self.report.events_new == stored_before:
            # Nothing new (a re-ingest): nothing was touched, so there is no state to refresh.
            return clean
        refresh_current_state(self.con)
        derived = derive_sql_lineage(self.con, self.report.warnings.append)
        if derived:
            refresh_current_state(self.con, datasets=derived)
        return clean

    def _consume(self, chunks: Iterable[list[Record]], label: str, batch: Batch,
                 line_hashes: LineHashes | None = None, preparing: Preparing | None = None) -> Batch:
        """Prepare the records of ``chunks`` into ``batch``, writing it whenever it is full; returns the
        open batch. ``line_hashes``: a child to hash the lines with (see ``_fresh``); ``preparing``: a
        pool of children to prepare raw lines with, pieces (``_pieces``) ahead of the one being stored."""
        fresh = self._fresh(chunks, line_hashes)
        if preparing is None:
            for chunk in fresh:
                batch = self._store(label, chunk, [None] * len(chunk), batch)
            return batch
        pending: deque[tuple[list[_Fresh], list[bool]]] = deque()
        for piece in _pieces(fresh):
            sent: list[bool] = []
            lines: list[bytes] = []
            digests: list[str] = []
            for _, raw, _, digest in piece:
                # Marquez pages stay here: one line of a page is many events, each prepared apart.
                if raw is not None and digest is not None and not may_be_page(raw):
                    lines.append(raw)
                    digests.append(digest)
                    sent.append(True)
                else:
                    sent.append(False)
            preparing.send(lines, digests)
            pending.append((piece, sent))
            if len(pending) > preparing.ahead:
                done, flags = pending.popleft()
                batch = self._store(label, done, _aligned(flags, preparing.receive()), batch)
        while pending:
            done, flags = pending.popleft()
            batch = self._store(label, done, _aligned(flags, preparing.receive()), batch)
        return batch

    def _store(self, label: str, chunk: list[_Fresh], answers: list[Prepared | str | None], batch: Batch) -> Batch:
        """Add the records of ``chunk`` to ``batch``, given their ``answers`` where the child gave
        them (None: the record is prepared here)."""
        for (line, raw, record, digest), answer in zip(chunk, answers, strict=True):
            if answer is not None:
                batch = self._add(label, line, record, answer, batch)
                continue
            page = None if raw is None else page_records(raw, line)
            if page is None:
                batch = self._add(label, line, record, self._prepare(raw, record, digest), batch)
                continue
            self.report.events_read += len(page) - 1  # a Marquez page on one line: its events
            for at, event in page:
                batch = self._add(label, at, event, self._prepare(None, event, None), batch)
        return batch

    def _fresh(self, chunks: Iterable[list[Record]], line_hashes: LineHashes | None) -> Iterator[list[_Fresh]]:
        """``chunks`` without the lines the store holds already, each record with its line's hash.

        Raw lines are hashed and looked up in the store a chunk at a time
        (``known.py``): a line the store holds byte for byte is a duplicate and
        is not parsed at all. Once a chunk is mostly known (a re-ingest, whose pace
        is the hashing), ``line_hashes``' child hashes the following chunks while
        the next is read. A first ingest is paced by preparing events, which the
        child cannot help with (measured: no gain), so it is not started for one
        and costs no memory there.
        """
        chunks = iter(chunks)
        for chunk in chunks:
            lines = [raw for _, raw, _ in chunk if raw is not None]
            fresh = self._unknown(chunk, lines, [line_hash(raw) for raw in lines])
            if fresh:
                yield fresh
            if line_hashes is not None and len(fresh) * 2 <= len(chunk):
                break
        else:
            return
        assert line_hashes is not None
        previous: tuple[list[Record], list[bytes]] | None = None
        for chunk in chunks:
            lines = [raw for _, raw, _ in chunk if raw is not None]
            digests = line_hashes.receive() if previous is not None else []
            line_hashes.send(lines)
            if previous is not None and (fresh := self._unknown(*previous, digests)):
                yield fresh
            previous = (chunk, lines)
        if previous is not None and (fresh := self._unknown(*previous, line_hashes.receive())):
            yield fresh

    def _unknown(self, chunk: list[Record], lines: list[bytes], digests: list[str]) -> list[_Fresh]:
        """The records of ``chunk`` the store does not hold, given the hashes of its raw ``lines``."""
        days = [event_day(raw) for raw in lines]
        bounds = (min(days), max(days)) if days and all(days) else (b"", b"")
        known = self.known.known(digests, *bounds)
        self.report.events_read += len(chunk)
        by_line = iter(digests)
        return [(line, raw, record, digest) for line, raw, record in chunk
                if (digest := None if raw is None else next(by_line)) is None or digest not in known]

    def _prepare(self, raw: bytes | None, record: Parsed | BadDocument | None, digest: str | None) -> Prepared | str:
        """``prepare`` of a raw line or a parsed record; the reason of a bad document."""
        if isinstance(record, BadDocument):
            return str(record.value)
        if isinstance(record, Parsed):
            return prepare(None, record.value, digest, self.rules, self.hasher)
        return prepare(raw, None, digest, self.rules, self.hasher)

    def _prepare_line(self, raw: bytes, digest: str) -> Prepared | str:
        """``prepare`` of a raw line given its line hash (where a preparing child could not)."""
        return self._prepare(raw, None, digest)

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
        if self.closed:
            return
        self.closed = True
        _short_switches.leave()
        self.ignored_facets.close()
        self.pool.shutdown(wait=True)
        self.known.close()


def _aligned(sent: list[bool], answers: list[Prepared | str]) -> list[Prepared | str | None]:
    """The child's ``answers`` in the places of the records ``sent`` to it, None elsewhere."""
    given = iter(answers)
    return [next(given) if to_child else None for to_child in sent]


def _pieces(chunks: Iterable[list[_Fresh]]) -> Iterator[list[_Fresh]]:
    """``chunks`` cut in pieces of at most ``PIECE_LINES`` records or about ``PIECE_BYTES`` of lines,
    the preparing children's unit of work."""
    for chunk in chunks:
        start, size = 0, 0
        for at, (_, raw, _, _) in enumerate(chunk):
            size += 0 if raw is None else len(raw)
            if at + 1 - start >= PIECE_LINES or size >= PIECE_BYTES:
                yield chunk[start:at + 1]
                start, size = at + 1, 0
        if start < len(chunk):
            yield chunk[start:]


def units(sources: list[Source], manifests: dict) -> Iterator[list[Source]]:
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
