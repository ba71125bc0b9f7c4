"""Benchmark walks on a long chain: answers must cost in proportion to depth, not depth x query.

    python bench/chain.py                    # 100,000 hops (impact) and 5,000 hops (impact --column)
    python bench/chain.py --hops 20000 --column-hops 2000

Builds two stores from generated events (job i reads t{i} and writes t{i+1}, the
output's columnLineage copying ``id``), then times whole processes of
``lineagectl impact t0`` (table and JSON) and ``lineagectl impact t0 --column id``,
and reads each process's peak RSS. Targets (issue 14): a 100,000-hop impact
under 10 s, a 5,000-hop column impact in bounded memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FACET = {"_producer": "bench", "_schemaURL": "bench"}


def write_chain(path: Path, hops: int) -> None:
    """``hops`` run events, each one hop of the chain, with column lineage for ``id``."""
    with open(path, "w", encoding="utf-8") as out:
        for i in range(hops):
            lineage = {**FACET, "fields": {"id": {"inputFields": [
                {"namespace": "pg", "name": f"t{i}", "field": "id",
                 "transformations": [{"type": "DIRECT", "subtype": "IDENTITY", "masking": False}]}]}}}
            out.write(json.dumps({
                "eventType": "COMPLETE", "eventTime": "2026-11-20T00:00:00Z",
                "run": {"runId": f"00000000-0000-0000-0000-{i:012d}"}, "job": {"namespace": "j", "name": f"job{i}"},
                "inputs": [{"namespace": "pg", "name": f"t{i}"}],
                "outputs": [{"namespace": "pg", "name": f"t{i + 1}", "facets": {"columnLineage": lineage}}],
                "producer": "bench", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            }) + "\n")


def timed(args: list[str]) -> tuple[float, int]:
    """Seconds and peak RSS (MB) of ``python -m lineagectl ARGS``, output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lineagectl", *args], stdout=subprocess.DEVNULL, check=True)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hops", type=int, default=100_000)
    parser.add_argument("--column-hops", type=int, default=5_000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for hops, runs in ((options.hops, [["impact", "t0"], ["impact", "t0", "-f", "json"]]),
                           (options.column_hops, [["impact", "t0", "--column", "id", "-f", "json"],
                                                  ["impact", "t0", "--column", "id"]])):
            log, db = Path(folder) / f"chain{hops}.ndjson", Path(folder) / f"chain{hops}.duckdb"
            write_chain(log, hops)
            ingest_s, _ = timed(["--db", str(db), "-q", "ingest", str(log)])
            print(f"{hops:,}-hop chain ingested in {ingest_s:.1f} s")
            for args in runs:
                # ru_maxrss of children is the largest so far: run each in a fresh interpreter.
                done = subprocess.run([sys.executable, __file__, "--measure", str(db), *args],
                                      capture_output=True, text=True, check=True)
                print(f"  lineagectl {' '.join(args)}: {done.stdout.strip()}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        seconds, peak = timed(["--db", sys.argv[2], *sys.argv[3:]])
        print(f"{seconds:.2f} s, peak RSS {peak} MB")
    else:
        main()
