"""Benchmark ``export --to``: events/s replayed into a ``lineagectl serve`` on loopback, one event per
request against batches of the spec's batch endpoint.

    python bench/replay.py --events 5000

Generates ``--events`` events (``bench/ingest.py``'s generator), ingests them into a source store,
starts ``lineagectl serve --port 0`` (``bench/serve.py``'s start) and replays the store into it with
``api.export_to`` once per ``--batch-sizes`` value, each into a fresh server and store.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from ingest import generate
from serve import _start

from lineagectl import api


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--batch-sizes", default="1,100", help="comma-separated --batch-size values")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        log, source = root / "events.ndjson", root / "source.duckdb"
        generate(log, args.events, args.seed)
        stored = api.ingest([str(log)], str(source)).events_new
        for size in (int(value) for value in args.batch_sizes.split(",")):
            proc, port = _start(root / f"target-{size}.duckdb", "1h")
            try:
                started = time.perf_counter()
                summary = api.export_to(f"http://127.0.0.1:{port}", str(source), batch_size=size)
                seconds = time.perf_counter() - started
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(600)
            results.append({"batch_size": size, "events": summary["sent"], "requests": summary["requests"],
                            "seconds": round(seconds, 2), "events_per_s": round(summary["sent"] / seconds)})
    print(json.dumps({"stored": stored, "replays": results, "cpus": os.cpu_count(),
                      "load_average": os.getloadavg()[0]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
