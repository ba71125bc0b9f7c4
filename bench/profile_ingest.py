#!/usr/bin/env python3
"""Where an ingest spends its time: each SQL statement of a batch, the refresh, the commit.

Usage::

    python bench/profile_ingest.py EVENTS.ndjson [--top 25]

Ingests into a fresh temporary store with the library API, timing every
statement ``write_batch`` runs (summed over batches), the end-of-file refresh
and what happens outside the file's work (open, commit and checkpoint). A log
from ``bench/ingest.py --keep`` is the usual input. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

import lineagectl.sources.ingest as ingest_module
import lineagectl.sources.ingest.pipeline as pipeline
import lineagectl.sources.ingest.writer as writer

times: collections.Counter[str] = collections.Counter()


def _timed_statements():
    run = writer.with_tables

    def timed(con, sql, tables, params=None):
        started = time.perf_counter()
        relation = run(con, sql, tables, params)
        label = " ".join(sql.split())[:90]

        class Timed:
            def to_arrow_table(self):
                table = relation.to_arrow_table()
                times[label] += time.perf_counter() - started
                return table

            def fetchall(self):
                rows = relation.fetchall() if relation is not None else None
                times[label] += time.perf_counter() - started
                return rows

        return Timed()

    writer.with_tables = timed


def _timed(owner, name: str, label: str) -> None:
    function = getattr(owner, name)

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            times[label] += time.perf_counter() - started

    setattr(owner, name, timed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("events", type=Path)
    parser.add_argument("--top", type=int, default=25, help="statements to list (default 25)")
    args = parser.parse_args(argv)
    _timed_statements()
    _timed(pipeline, "refresh_current_state", "refresh of current state")
    _timed(pipeline.Pipeline, "unit", "whole file (read, write batches, refresh)")
    _timed(pipeline.Pipeline, "_consume", "reading + batches (Python and DuckDB overlapping)")
    with tempfile.TemporaryDirectory(prefix="lineagectl-profile-") as tmp:
        started = time.perf_counter()
        report = ingest_module.ingest([str(args.events)], str(Path(tmp) / "profile.duckdb"))
        total = time.perf_counter() - started
    outside = total - times["whole file (read, write batches, refresh)"]
    print(f"{report.events_read:,} events, {total:.2f} s in all; "
          f"{outside:.2f} s outside the file's work (open, commit, checkpoint)")
    for label, seconds in times.most_common(args.top):
        print(f"{seconds:8.2f}  {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
