"""Benchmark `prune` on a large store: time, rows removed and file size before and after.

    python bench/prune.py --store /path/to/q100k.duckdb      # e.g. the store bench/query.py builds

The store is copied first (the original is left alone). Generated logs span a
couple of weeks in the past, so "now" is placed for the detailed window to cut
through the middle of them: `--keep-fraction` (default 0.5) of the log's time
span stays detailed. Prints a dry run and a real run (one transaction, then the
file is compacted), with peak RSS of this process.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--keep-fraction", type=float, default=0.5)
    parser.add_argument("--detailed-days", type=int, default=90)
    parser.add_argument("--summary-days", type=int, default=365)
    args = parser.parse_args()

    import duckdb

    from lineagectl.operations.prune import prune

    with tempfile.TemporaryDirectory(dir=args.store.parent) as tmp:
        db = Path(tmp) / "prune.duckdb"
        shutil.copyfile(args.store, db)
        con = duckdb.connect(str(db), read_only=True)
        first, last, events = con.execute("SELECT min(event_time), max(event_time), count(*) FROM events").fetchall()[0]
        con.close()
        cutoff = last - (last - first) * args.keep_fraction
        now = cutoff + timedelta(days=args.detailed_days)
        figures = {"store": str(args.store), "events": events, "first_event": str(first), "last_event": str(last),
                   "detailed_cutoff": str(cutoff)}
        for label, dry in (("dry run", True), ("prune", False)):
            size = db.stat().st_size
            start = time.perf_counter()
            report = prune(str(db), detailed_days=args.detailed_days, summary_days=args.summary_days,
                           dry_run=dry, now=now)
            seconds = time.perf_counter() - start
            figures[label] = {"seconds": round(seconds, 1), "rows": sum(report.removed.values()),
                              "removed": report.removed, "bytes_before": size, "bytes_after": db.stat().st_size}
            print(f"{label:8} {seconds:7.1f} s  {sum(report.removed.values()):>10,} rows  "
                  f"{size / 1e6:,.0f} MB -> {db.stat().st_size / 1e6:,.0f} MB", file=sys.stderr)
        figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(f"peak RSS {figures['peak_rss_mb']} MB", file=sys.stderr)
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
