"""Benchmark ``lineagectl serve`` on loopback: requests/s and latency, batch throughput, ingest lag.

    python bench/serve.py --seconds 5 --connections 16

Starts ``python -m lineagectl serve --port 0`` on 127.0.0.1 against a new store and, each phase
bounded by ``--seconds`` (and ``--events``), measures with http.client keep-alive connections:

  * one sequential client, one event per request: events/s, p50/p99 latency;
  * ``--connections`` concurrent clients (client processes, so the clients' GIL is not the limit);
  * the batch endpoint, ``--batch`` events per request;
  * ingest lag: from the answer to the last POST to the event being in the store (``--ingest-every``);
  * reads, once everything is stored: each read endpoint ``--reads`` times from one client
    (median and p99 per endpoint; each request opens the store read-only, as every command does).

Events come from ``bench/ingest.py``'s generator. Only the standard library and orjson are used.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).parent))
from ingest import generate


def _start(db: Path, ingest_every: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "lineagectl", "--db", str(db), "-q", "serve", "--port", "0",
                             "--ingest-every", ingest_every], stderr=subprocess.PIPE)
    text, deadline = "", time.monotonic() + 60
    while "listening on" not in text and time.monotonic() < deadline:
        if select.select([proc.stderr], [], [], 1.0)[0]:
            text += os.read(proc.stderr.fileno(), 4096).decode()  # type: ignore[union-attr]
    found = re.search(r"http://127\.0\.0\.1:(\d+)", text)
    if not found:
        proc.kill()
        raise SystemExit(f"the server did not start: {text}")
    return proc, int(found[1])


def _client(port: int, bodies: list[bytes], path: str, seconds: float) -> list[float]:
    """POST ``bodies`` in turn on one keep-alive connection for up to ``seconds``; the latencies."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    for body in bodies:
        if time.perf_counter() > deadline:
            break
        started = time.perf_counter()
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        answer = conn.getresponse()
        answer.read()
        if answer.status not in (200, 201):
            raise SystemExit(f"HTTP {answer.status} from the server")
        latencies.append(time.perf_counter() - started)
    conn.close()
    return latencies


def _run_client(args: tuple[int, list[bytes], str, float]) -> list[float]:
    return _client(*args)


def _phase(port: int, bodies: list[bytes], clients: int, seconds: float, per_request: int,
           path: str = "/api/v1/lineage") -> dict:
    shares = [bodies[i::clients] for i in range(clients)]
    started = time.perf_counter()
    if clients == 1:
        results = [_client(port, shares[0], path, seconds)]
    else:
        with multiprocessing.Pool(clients) as pool:
            results = pool.map(_run_client, [(port, share, path, seconds) for share in shares])
    elapsed = time.perf_counter() - started
    latencies = sorted(x for result in results for x in result)
    requests = len(latencies)
    return {"clients": clients, "requests": requests, "events": requests * per_request,
            "events_per_s": round(requests * per_request / elapsed),
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p99_ms": round(latencies[min(requests - 1, int(requests * 0.99))] * 1000, 1)}


def _health(port: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/api/v1/health")
    answer = json.loads(conn.getresponse().read())
    conn.close()
    return answer


def _get(conn: http.client.HTTPConnection, path: str) -> bytes:
    conn.request("GET", path)
    answer = conn.getresponse()
    body = answer.read()
    if answer.status != 200:
        raise SystemExit(f"HTTP {answer.status} from GET {path}: {body[:200]!r}")
    return body


def _reads(port: int, times: int) -> dict:
    """Median and p99 ms of each read endpoint, about subjects the store itself names."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    namespace = json.loads(_get(conn, "/api/v1/search?q=_&filter=DATASET&limit=1"))["results"][0]["namespace"]
    ns = quote(namespace, safe="")
    dataset = json.loads(_get(conn, f"/api/v1/namespaces/{ns}/datasets?limit=1"))["datasets"][0]
    job = json.loads(_get(conn, "/api/v1/search?q=_&filter=JOB&limit=1"))["results"][0]
    field = dataset["fields"][0]["name"] if dataset["fields"] else "id"
    paths = {
        "namespaces": "/api/v1/namespaces",
        "datasets page of 100": f"/api/v1/namespaces/{ns}/datasets",
        "dataset": f"/api/v1/namespaces/{ns}/datasets/{quote(dataset['name'], safe='')}",
        "job with 10 latest runs": f"/api/v1/namespaces/{quote(job['namespace'], safe='')}/jobs/"
                                   f"{quote(job['name'], safe='')}",
        "search": "/api/v1/search?q=order",
        "lineage, depth 20": "/api/v1/lineage?" + urlencode({"nodeId": f"dataset:{namespace}:{dataset['name']}"}),
        "column-lineage, both ways": "/api/v1/column-lineage?" + urlencode(
            {"nodeId": f"datasetField:{namespace}:{dataset['name']}:{field}", "withDownstream": "true"}),
        "lineagectl/v1/impact": "/lineagectl/v1/impact?" + urlencode({"name": dataset["name"],
                                                                      "namespace": namespace}),
    }
    figures = {}
    for label, path in paths.items():
        latencies = []
        for _ in range(times):
            started = time.perf_counter()
            _get(conn, path)
            latencies.append(time.perf_counter() - started)
        latencies.sort()
        figures[label] = {"p50_ms": round(statistics.median(latencies) * 1000, 1),
                          "p99_ms": round(latencies[min(times - 1, int(times * 0.99))] * 1000, 1)}
    conn.close()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=40_000, help="events generated (the cap of every phase)")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each phase")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--ingest-every", default="2s")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reads", type=int, default=20, help="requests per read endpoint (0: no read phase)")
    parser.add_argument("--batch-first", action="store_true",
                        help="run the batch phase first, before the ingester has anything to store")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        log = root / "events.ndjson"
        generate(log, args.events, args.seed)
        lines = [line for line in log.read_bytes().splitlines() if line.strip()]
        proc, port = _start(root / "serve.duckdb", args.ingest_every)
        try:
            third = len(lines) // 3
            rest = lines[2 * third:]
            batches = [b"[" + b",".join(rest[i:i + args.batch]) + b"]" for i in range(0, len(rest), args.batch)]
            if args.batch_first:
                batch = _phase(port, batches, 1, args.seconds, args.batch, "/api/v1/lineage/batch")
            sequential = _phase(port, lines[:third], 1, args.seconds, 1)
            concurrent = _phase(port, lines[third:2 * third], args.connections, args.seconds, 1)
            if not args.batch_first:
                batch = _phase(port, batches, 1, args.seconds, args.batch, "/api/v1/lineage/batch")
            batch["events_per_request"] = args.batch
            posted_at = time.perf_counter()
            spooled = _health(port)["events_spooled"]
            deadline = posted_at + 600
            while _health(port)["events_stored"] < spooled and time.perf_counter() < deadline:
                time.sleep(0.05)
            lag = time.perf_counter() - posted_at
            reads = _reads(port, args.reads) if args.reads else {}
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(600)
    print(json.dumps({"sequential": sequential, "concurrent": concurrent, "batch": batch,
                      "events_spooled": spooled, "ingest_every": args.ingest_every,
                      "lag_after_last_post_s": round(lag, 2), "reads": reads, "cpus": os.cpu_count()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
