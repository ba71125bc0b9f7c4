"""The ledger of event files ingest has read, so that a spool's unchanged files are not read again.

A scheduled ``lineagectl ingest SPOOL_DIR`` would otherwise re-read every file
each time (deduplication makes that correct, not cheap). A file is recorded by
absolute path, size, modification time, inode and status-change time (so a
file rewritten with its size and mtime preserved, by ``cp -p`` or ``rsync -t``,
is read again), in the transaction that stored its
events, and only when it was read whole with no line rejected: a file with
rejects is read again next time, so its rejects keep being reported until it is
fixed. Standard input and dbt manifests are never recorded. Only files found in
a directory are skipped: a file named on the command line is always read.
"""

from __future__ import annotations

import pyarrow as pa

from lineagectl.sources.ingest.reader import STDIN, Source
from lineagectl.store import with_tables

_FILES = pa.schema([("path", pa.string()), ("size", pa.int64()), ("mtime_ns", pa.int64()),
                    ("events", pa.int64()), ("inode", pa.int64()), ("ctime_ns", pa.int64())])


def _table(files: list[tuple[Source, int]]) -> pa.Table:
    return pa.Table.from_arrays(
        [pa.array([s.absolute for s, _ in files], pa.string()), pa.array([s.size for s, _ in files], pa.int64()),
         pa.array([s.mtime_ns for s, _ in files], pa.int64()), pa.array([n for _, n in files], pa.int64()),
         pa.array([s.inode for s, _ in files], pa.int64()), pa.array([s.ctime_ns for s, _ in files], pa.int64())],
        schema=_FILES)


def unchanged(con, sources: list[Source]) -> set[Source]:
    """The ``sources`` found in a directory and recorded earlier with the same path, size,
    modification time, inode and status-change time."""
    files = [(source, 0) for source in sources if source.in_directory]
    if not files:
        return set()
    rows = with_tables(con, "SELECT path FROM candidates "
                            "SEMI JOIN ingested_files USING (path, size, mtime_ns, inode, ctime_ns)",
                       {"candidates": _table(files)}).fetchall()
    found = {row[0] for row in rows}
    return {source for source, _ in files if source.absolute in found}


def record(con, files: list[tuple[Source, int]]) -> None:
    """Record ``(source, events read)`` of files read whole, in the current transaction."""
    files = [(source, events) for source, events in files if source.path != STDIN]
    if not files:
        return
    read = {"read_files": _table(files)}
    with_tables(con, "DELETE FROM ingested_files WHERE path IN (SELECT path FROM read_files)", read)
    with_tables(con, "INSERT INTO ingested_files SELECT path, size, mtime_ns, events, now()::TIMESTAMP, "
                     "inode, ctime_ns FROM read_files", read)
