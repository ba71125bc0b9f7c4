"""Benchmark ``lineagectl diff``: each consecutive pair of the NetSuite releases, with catalogs.

    python bench/diff.py                      # corpus from $LINEAGECTL_CORPUS or ../shared/corpus
    python bench/diff.py --policy sample_events/lineagectl.yaml   # with the governance deltas
    python bench/diff.py --json

Whole ``lineagectl diff`` processes, timed end to end (the two manifests read,
their column lineage, the column changes and their readers): wall time, and CPU
time (the process and its workers), steadier on a busy machine. The goal: a
pair of ~2 MB manifests with catalogs under 5 s.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RELEASES = ["v4.dbt1.0.4", "v7.dbt1.3.0", "v8.dbt1.4.5", "v10.dbt1.6.1", "v11.dbt1.7.18", "v12.dbt1.9.0",
            "v12.dbt1.11.11"]


def corpus() -> Path:
    path = Path(os.environ.get("LINEAGECTL_CORPUS") or HERE.parent.parent / "shared" / "corpus") / "dbt"
    if not (path / f"fivetran_netsuite.{RELEASES[0]}.manifest.json").exists():
        raise SystemExit(f"NetSuite manifests not found under {path}: set LINEAGECTL_CORPUS")
    return path


def run(old: str, new: str, policy: str | None) -> dict:
    folder = corpus()
    args = [sys.executable, "-m", "lineagectl", "diff", "-f", "json"]
    if policy:
        args += ["--policy", policy]
    for release, flag in ((old, "--old-catalog"), (new, "--new-catalog")):
        args += [flag, str(folder / f"fivetran_netsuite.{release}.catalog.json")]
    args += [str(folder / f"fivetran_netsuite.{release}.manifest.json") for release in (old, new)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(HERE.parent / "src")})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{old} -> {new}: {done.stderr}")
    payload = json.loads(done.stdout)
    size = (folder / f"fivetran_netsuite.{new}.manifest.json").stat().st_size
    return {"pair": f"{old} -> {new}", "manifest_mb": round(size / 1e6, 1), "wall_s": round(wall, 2),
            "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2),
            "modified": len(payload["modified"]), "column_changes": len(payload["columns"]),
            "breaking": payload["summary"]["breaking"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", help="a policy file: the governance deltas are timed too")
    parser.add_argument("--json", action="store_true", help="one JSON object per pair")
    options = parser.parse_args()
    for old, new in itertools.pairwise(RELEASES):
        row = run(old, new, options.policy)
        print(json.dumps(row) if options.json else
              f"{row['pair']:<30} {row['manifest_mb']:>4} MB  {row['wall_s']:>6.2f} s wall  "
              f"{row['cpu_s']:>6.2f} s cpu  {row['modified']:>4} modified  "
              f"{row['column_changes']:>4} column changes  {row['breaking']:>3} breaking")


if __name__ == "__main__":
    main()
