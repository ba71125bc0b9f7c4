"""Benchmark dbt ingest with column lineage: the corpus's Fivetran projects, and a ~1,000-model project.

    python bench/dbt.py                       # corpus from $LINEAGECTL_CORPUS or ../shared/corpus
    python bench/dbt.py --copies 7 --json
    python bench/dbt.py --sql-timeout 0       # each model's column lineage unbounded

The large project is the HubSpot manifest (154 models) replicated: copy k lives
in database ``postgres_ck`` (node databases, unique_ids and the relations in the
compiled SQL renamed alike), so each copy is an independent project of the same
shape and the column lineage of every model must still resolve. Whole
`lineagectl ingest` processes, timed end to end, each into a new store: wall
time, and CPU time (the ingest and its workers), steadier on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAME = "fivetran_hubspot.v12.dbt1.11"
# The other large projects, each ingested whole with its catalog (Zendesk has the largest model).
PROJECTS = {"zendesk": "fivetran_zendesk.v12.dbt1.11", "netsuite": "fivetran_netsuite.v12.dbt1.11.11",
            "shopify": "fivetran_shopify.v12.dbt1.10"}


def corpus() -> Path:
    path = Path(os.environ.get("LINEAGECTL_CORPUS") or HERE.parent.parent / "shared" / "corpus")
    if not (path / "dbt" / f"{NAME}.manifest.json").exists():
        raise SystemExit(f"HubSpot manifest not found under {path}/dbt: set LINEAGECTL_CORPUS")
    return path / "dbt"


def _rename(uid: str, k: int) -> str:
    return f"{uid}_c{k}"


def replicate(manifest: dict, catalog: dict, copies: int) -> tuple[dict, dict]:
    """``copies`` renamed copies of a project in one manifest (and its catalog)."""
    out = {**manifest, "nodes": {}, "sources": {}, "parent_map": {}, "child_map": {}, "exposures": {}}
    cat = {**catalog, "nodes": {}, "sources": {}}
    for k in range(copies):
        db = f"postgres_c{k}"
        for section in ("nodes", "sources"):
            for uid, node in manifest.get(section, {}).items():
                node = json.loads(json.dumps(node))
                node["unique_id"] = _rename(uid, k)
                if node.get("database"):
                    node["database"] = db
                deps = (node.get("depends_on") or {}).get("nodes")
                if deps:
                    node["depends_on"]["nodes"] = [_rename(d, k) for d in deps]
                for key in ("compiled_code", "compiled_sql"):
                    if node.get(key):
                        node[key] = node[key].replace('"postgres".', f'"{db}".')
                out[section][_rename(uid, k)] = node
            for uid, entry in catalog.get(section, {}).items():
                entry = json.loads(json.dumps(entry))
                entry.setdefault("metadata", {})["database"] = db
                cat[section][_rename(uid, k)] = entry
    return out, cat


def _cpu() -> float:
    """CPU seconds of the finished children (an ingest and the workers it forked)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed_ingest(manifest: Path, catalog: Path, store: Path, options: tuple[str, ...] = ()) -> dict:
    cpu = _cpu()
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lineagectl", "--db", str(store), "ingest", str(manifest),
                           "--catalog", str(catalog), "-f", "json", *options], capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"ingest failed ({done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    return {"seconds": round(seconds, 2), "cpu": round(cpu, 2), "events": report["events_new"],
            "warnings": sum(1 for line in done.stderr.splitlines() if line.startswith("Warning:"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=7, help="copies of HubSpot's 154 models (7: 1,078)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sql-timeout", metavar="SECONDS", help="passed to every ingest (default: its own)")
    args = parser.parse_args()
    options = ("--sql-timeout", args.sql_timeout) if args.sql_timeout is not None else ()
    folder = corpus()
    manifest_path, catalog_path = folder / f"{NAME}.manifest.json", folder / f"{NAME}.catalog.json"
    manifest = json.loads(manifest_path.read_text())
    models = sum(1 for n in manifest["nodes"].values() if n.get("resource_type") == "model")
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        figures["hubspot"] = {"models": models,
                              **timed_ingest(manifest_path, catalog_path, Path(tmp) / "h.duckdb", options)}
        for label, name in PROJECTS.items():
            path = folder / f"{name}.manifest.json"
            count = sum(1 for n in json.loads(path.read_text())["nodes"].values() if n.get("resource_type") == "model")
            figures[label] = {"models": count, **timed_ingest(path, folder / f"{name}.catalog.json",
                                                              Path(tmp) / f"{label}.duckdb", options)}
        big, big_catalog = replicate(manifest, json.loads(catalog_path.read_text()), args.copies)
        big_path, big_catalog_path = Path(tmp) / "manifest.json", Path(tmp) / "catalog.json"
        big_path.write_text(json.dumps(big))
        big_catalog_path.write_text(json.dumps(big_catalog))
        figures[f"hubspot x{args.copies}"] = {"models": models * args.copies,
                                              **timed_ingest(big_path, big_catalog_path, Path(tmp) / "b.duckdb",
                                                                            options)}
    for label, row in figures.items():
        print(f"{label:<12} {row['models']:>5} models  {row['seconds']:6.2f} s  {row['cpu']:6.2f} s CPU  "
              f"{row['events']} events  "
              f"{row['warnings']} warnings", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
