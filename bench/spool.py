"""Benchmark ingest of a spool directory of one-event files against one log of the same events.

    python bench/spool.py --events 2000

OpenLineage's file transport with ``append: false`` writes one file per event;
many producers spooling to a directory look the same. Both ingests run as whole
processes into new stores; the report gives seconds, files/s and the ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from ingest import generate


def _timed_ingest(db: Path, target: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lineagectl", "--db", str(db), "-q", "ingest", str(target)], check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        log = root / "events.ndjson"
        generate(log, args.events, args.seed)
        spool = root / "spool"
        spool.mkdir()
        with open(log, "rb") as lines:
            for i, line in enumerate(lines):
                (spool / f"event-{i:07d}.json").write_bytes(line)
        one_log = _timed_ingest(root / "log.duckdb", log)
        spooled = _timed_ingest(root / "spool.duckdb", spool)
    print(json.dumps({"events": args.events, "log_seconds": round(one_log, 2), "spool_seconds": round(spooled, 2),
                      "spool_files_per_s": round(args.events / spooled), "spool_vs_log": round(spooled / one_log, 2)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
