"""Column lineage of every dbt project of the corpus: timed, and written or compared as JSON.

    python bench/dbt_edges.py                         # seconds per project, slowest models
    python bench/dbt_edges.py --write edges.json      # every model's columnLineage facet
    python bench/dbt_edges.py --compare edges.json    # exit 1 when any facet differs

Proves that a change to the SQL lineage, or the compiled sqlglot extension, leaves
every answer as it was: write the facets with one build, compare with the other. In a
venv with ``sqlglot[c]``, ``--pure-python`` runs sqlglot's own ``.py`` files instead of the
compiled modules (bench/sqlglot_build.py), so both builds compare in one venv:

    python bench/dbt_edges.py --write compiled.json
    python bench/dbt_edges.py --pure-python --compare compiled.json Each manifest is read with the catalog beside it, in
process (``manifest_events``, as ``lineagectl ingest`` reads it), one project at a
time; ``--slowest N`` also times each model on its own (sequentially).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from sqlglot_build import describe, use_pure_python  # noqa: E402  (bench/ is not a package)


def corpus() -> Path:
    path = Path(os.environ.get("LINEAGECTL_CORPUS") or HERE.parent.parent / "shared" / "corpus") / "dbt"
    if not path.is_dir():
        raise SystemExit(f"no dbt corpus at {path}: set LINEAGECTL_CORPUS")
    return path


def facets(manifest: Path, budget: float | None) -> dict[str, dict]:
    """``{"facets": {dataset -> columnLineage facet}, "warnings": [...]}`` of one manifest (with the
    catalog beside it)."""
    from lineagectl.sources.dbt.manifest import manifest_events

    catalog = manifest.with_name(manifest.name.replace(".manifest.json", ".catalog.json"))
    found: dict[str, dict] = {}
    warnings: list[str] = []
    for event in manifest_events(str(manifest), catalog=str(catalog) if catalog.exists() else None,
                                 on_warning=warnings.append, **({"sql_timeout": budget} if budget else {})):
        dataset = event.get("dataset") or {}
        facet = (dataset.get("facets") or {}).get("columnLineage")
        if facet:
            found[f"{dataset['namespace']}/{dataset['name']}"] = facet
    return {"facets": found, "warnings": warnings}


def slowest(manifest: Path, count: int) -> list[tuple[float, int, str]]:
    """(seconds, characters of SQL, unique_id) of the ``count`` slowest models, each timed alone."""
    from lineagectl.sources.dbt import lineage
    from lineagectl.sources.dbt.manifest import _Manifest, _read
    from lineagectl.sources.dbt.shapes import compiled_sql

    catalog = manifest.with_name(manifest.name.replace(".manifest.json", ".catalog.json"))
    project = _Manifest(_read(str(manifest)), None, _read(str(catalog)) if catalog.exists() else None)
    schema, relations, ephemerals = project.sql_schema
    lineage._init_worker(project.sql_dialect, schema, relations, ephemerals)
    times = []
    for uid, node in sorted(project.nodes.items()):
        sql = compiled_sql(uid, node) if node.get("resource_type") in ("model", "snapshot") else None
        if sql:
            start = time.perf_counter()
            lineage._model_lineage((uid, sql))
            times.append((time.perf_counter() - start, len(sql), uid))
    return sorted(times, reverse=True)[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", metavar="FILE", help="write every project's facets to FILE (JSON)")
    parser.add_argument("--compare", metavar="FILE", help="compare every project's facets with FILE")
    parser.add_argument("--only", metavar="TEXT", action="append",
                        help="projects whose file name contains TEXT (repeat for several)")
    parser.add_argument("--slowest", type=int, default=0, metavar="N", help="time each model; show the N slowest")
    parser.add_argument("--sql-timeout", type=float, default=0, help="budget per model (default 0: none)")
    parser.add_argument("--pure-python", action="store_true",
                        help="import sqlglot from its .py files even where sqlglotc (sqlglot[c]) is installed")
    args = parser.parse_args()
    if args.pure_python:
        use_pure_python()
    print(describe(), flush=True)
    everything: dict[str, dict] = {}
    total = 0.0
    for manifest in sorted(corpus().glob("*.manifest.json")):
        if args.only and not any(text in manifest.name for text in args.only):
            continue
        start = time.perf_counter()
        found = facets(manifest, args.sql_timeout or None)
        seconds = time.perf_counter() - start
        total += seconds
        name = manifest.name.removesuffix(".manifest.json")
        everything[name] = found
        edges = sum(len(f["inputFields"]) for facet in found["facets"].values() for f in facet["fields"].values())
        print(f"{name:<52} {seconds:6.2f} s  {len(found['facets']):4} models with lineage  {edges:6} edges  "
              f"{len(found['warnings'])} warnings", flush=True)
        for took, chars, uid in slowest(manifest, args.slowest) if args.slowest else []:
            print(f"    {took:6.2f} s  {chars:6} chars  {uid}")
    print(f"{'total':<52} {total:6.2f} s")
    if args.write:
        Path(args.write).write_text(json.dumps(everything, sort_keys=True, indent=1))
    if args.compare:
        before = json.loads(Path(args.compare).read_text())
        names = everything.keys() if args.only else before.keys() | everything.keys()
        differ = sorted(name for name in names
                        if json.loads(json.dumps(everything.get(name), sort_keys=True)) != before.get(name))
        print(f"compared with {args.compare}: " + (f"{len(differ)} projects differ: {', '.join(differ)}"
                                                   if differ else f"identical ({len(everything)} projects)"))
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
