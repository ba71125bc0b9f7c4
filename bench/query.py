"""Benchmark impact and trace end to end, as a user runs them, on a large store.

    python bench/query.py                          # 100k datasets, 1M events (builds the store once)
    python bench/query.py --datasets 10000 --events 100000 --store /tmp/q.duckdb

Builds the store with `bench/ingest.py`'s generator and `lineagectl ingest`
(kept at --store for later runs), picks the source dataset with the largest
downstream and the sink with the largest upstream, then times whole processes
(`lineagectl … impact/trace`, table and column level) beside a bare
`python -c "import duckdb"` in the same run, and the compliance commands
(`residency-check` with a generated policy, `erase --column customer_id`).
Median of --repeat runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ingest import generate  # noqa: E402  (bench/ingest.py)


def timed(cmd: list[str], repeat: int) -> tuple[float, str]:
    times, out = [], ""
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
        out = done.stdout
    return statistics.median(times), out


# Regions over the generator's namespaces, and a flow rule, so every rule kind does real work.
# CLEAN maps every source and the warehouse to one region: the residency walk covers the whole
# store and finds nothing (the usual CI run). SPLIT splits sources and warehouse schemas across
# regions, so the generated topology crosses ~13k times (a stress case: ~25 MB of JSON).
_RULES = """
residency:
  - name: eu-stays-in-eu
    from: eu
    allowed: [eu]
pii:
  columns: ["*.customer_id", "*.email"]
flows:
  - name: pii-masked-before-reports
    from: {tag: pii}
    to: {name: "*rpt*"}
    require: masking
"""
CLEAN = """
regions:
  eu: ["postgres://*", "mysql://*", "s3://acme-landing-zone", "snowflake://acme-prod.eu-west-1"]
""" + _RULES
SPLIT = """
regions:
  eu: ["postgres://crm-db*", "s3://acme-landing-zone", "snowflake://*/*.core_*"]
  us: ["postgres://orders-db*", "mysql://*", "snowflake://*/*.mart_*"]
""" + _RULES


def build(store: Path, datasets: int, events: int, seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "events.ndjson"
        print(f"generating {events:,} events over {datasets:,} datasets ...", file=sys.stderr)
        generate(log, events, seed, datasets=datasets)
        print("ingesting ...", file=sys.stderr)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "lineagectl", "--db", str(store), "-q", "ingest", str(log)],
                       check=True)
        print(f"ingested in {time.perf_counter() - start:.0f} s", file=sys.stderr)


def pick(store: Path) -> tuple[tuple[str, str, str], tuple[str, str]]:
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    # The most-read source (nothing writes it) has the largest downstream; the sink fed by the
    # longest chain has the largest upstream.
    source = con.execute("""
        SELECT d.namespace, d.name, (SELECT min(column_name) FROM columns c WHERE c.dataset_id = d.dataset_id)
        FROM edges e JOIN datasets d USING (dataset_id)
        WHERE e.direction = 'in' AND d.dataset_id NOT IN (SELECT dataset_id FROM edges WHERE direction = 'out')
        GROUP BY ALL ORDER BY count(*) DESC, 1, 2 LIMIT 1""").fetchall()[0]
    sink = con.execute("""
        SELECT d.namespace, d.name FROM edges e JOIN datasets d USING (dataset_id)
        WHERE e.direction = 'out' AND d.dataset_id NOT IN (SELECT dataset_id FROM edges WHERE direction = 'in')
        ORDER BY e.last_seen DESC, 1, 2 LIMIT 1""").fetchall()[0]
    con.close()
    return source, sink


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--store", type=Path, default=None, help="store to build or reuse")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    store = args.store or Path(tempfile.gettempdir()) / f"lineagectl-query-{args.datasets}-{args.events}.duckdb"
    if not store.exists():
        build(store, args.datasets, args.events, args.seed)
    (ns, name, column), (sink_ns, sink) = pick(store)
    base = [sys.executable, "-m", "lineagectl", "--db", str(store)]
    clean, split = store.with_suffix(".clean.yaml"), store.with_suffix(".split.yaml")
    clean.write_text(CLEAN)
    split.write_text(SPLIT)
    runs = {
        "import duckdb": [sys.executable, "-c", "import duckdb"],
        "impact (table)": base + ["impact", name, "--namespace", ns, "-f", "json"],
        "trace (table)": base + ["trace", sink, "--namespace", sink_ns, "-f", "json"],
        "impact (column)": base + ["impact", name, "--namespace", ns, "--column", column, "-f", "json"],
        "check (clean)": base + ["--policy", str(clean), "residency-check", "--no-fail", "-f", "json"],
        "check (13k hits)": base + ["--policy", str(split), "residency-check", "--no-fail", "-f", "json"],
        "erase (column)": base + ["erase", "--column", "customer_id", "-f", "json"],
    }
    figures = {"store": str(store), "store_bytes": store.stat().st_size, "source": [ns, name, column],
               "sink": [sink_ns, sink], "results": {}}
    for label, cmd in runs.items():
        seconds, out = timed(cmd, args.repeat)
        size = None
        if out:
            data = json.loads(out)
            answer = next(data[k] for k in ("violations", "steps", "columns", "datasets") if k in data)
            size = len(answer)
        figures["results"][label] = {"seconds": round(seconds, 3), "answer_size": size}
    base_time = figures["results"]["import duckdb"]["seconds"]
    for label, row in figures["results"].items():
        ratio = row["seconds"] / base_time
        print(f"{label:<18} {row['seconds']:7.3f} s  {ratio:5.2f}x import duckdb"
              + (f"  ({row['answer_size']} in the answer)" if row["answer_size"] is not None else ""),
              file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
