"""A process killed with SIGKILL mid-ingest leaves a store that opens, holds no part
of that file, and accepts the same ingest again (converging to the clean result)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_event, table_counts, write_ndjson, write_spool
from lineagectl.api import ingest, stats

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL needs POSIX")


def big_log(path, runs: int) -> str:
    with open(path, "w", encoding="utf-8") as out:
        for i in range(runs):
            schema = {"schema": {"fields": [{"name": f"c{j}", "type": "INT"} for j in range(i % 7 + 1)]}}
            for kind, minute in (("START", 0), ("COMPLETE", 5)):
                event = run_event(f"run-{i}", job=f"job{i % 50}", event_type=kind,
                                  time=f"2026-11-{1 + i % 28:02d}T02:{minute:02d}:00Z",
                                  inputs=[("pg", f"src{i % 30}")], outputs=[("bq", f"dst{i % 50}", schema)])
                out.write(json.dumps(event) + "\n")
    return str(path)


def counts(db) -> dict:
    return {k: v for k, v in stats(db).payload.items() if k not in ("db_bytes",)}


def test_sigkill_mid_file_leaves_the_store_as_before_that_file(tmp_path):
    db = str(tmp_path / "crash.duckdb")
    ingest([write_ndjson(tmp_path / "first.ndjson", [run_event("keep-me", outputs=[("bq", "kept")])])], db)
    before = counts(db)
    log = big_log(tmp_path / "big.ndjson", 40_000)

    proc = subprocess.Popen([sys.executable, "-m", "lineagectl", "--db", db, "-q", "ingest", log],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(2.0)
    if proc.poll() is not None:
        pytest.fail(f"ingest finished before it could be killed (exit {proc.returncode}); grow the log")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    assert counts(db) == before  # opens, and holds nothing of the killed file
    report = ingest([log], db)
    assert report.events_new == 80_000 and report.events_rejected == 0

    clean = str(tmp_path / "clean.duckdb")
    ingest([str(tmp_path / "first.ndjson"), log], clean)
    assert counts(db) == counts(clean)


KILLS = 34 if os.environ.get("LINEAGECTL_FUZZ") == "long" else 3  # long: 136 kill points in all


def _processes_naming(marker: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found


def _killed_at(cmd: list[str], delay: float, marker: str) -> bool:
    """Run ``cmd`` and SIGKILL it after ``delay`` seconds; False if it finished first.

    Also checks that nothing it started outlives it (dbt's forked lineage workers)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if os.path.isdir("/proc"):
            deadline = time.monotonic() + 5
            while _processes_naming(marker) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _processes_naming(marker) == [], "processes outlived the killed command"
        return True


@pytest.mark.parametrize("operation", ["ingest", "spool", "dbt", "prune"])
def test_kill_at_random_points_never_leaves_a_partial_store(tmp_path, corpus, operation):
    """SIGKILL at random moments: the store always opens, equals the state before or after the
    operation (never a mix), and re-running converges to the clean result."""
    import random

    rng = random.Random(7)
    base = str(tmp_path / "base.duckdb")
    log = big_log(tmp_path / "log.ndjson", 6_000)
    manifest = corpus / "dbt" / "fivetran_hubspot.v12.dbt1.11.manifest.json"
    catalog = corpus / "dbt" / "fivetran_hubspot.v12.dbt1.11.catalog.json"
    ingest([write_ndjson(tmp_path / "first.ndjson", [run_event("keep-me", outputs=[("bq", "kept")])])], base)
    if operation == "prune":
        ingest([log], base)
    command = {
        "ingest": ["ingest", log],
        # The log's first 1,500 events, one per file (committed in groups, not one by one).
        "spool": ["ingest", write_spool(tmp_path / "spool", Path(log).read_text().splitlines()[:1_500])],
        "dbt": ["ingest", str(manifest), "--catalog", str(catalog)],
        "prune": ["prune", "--detailed-days", "1", "--summary-days", "2"],
    }[operation]
    # The clean result: the operation run to its end on a copy.
    clean = str(tmp_path / "clean.duckdb")
    with open(base, "rb") as src, open(clean, "wb") as dst:
        dst.write(src.read())
    started = time.monotonic()
    assert subprocess.run([sys.executable, "-m", "lineagectl", "--db", clean, "-q", *command]).returncode == 0
    duration = time.monotonic() - started
    before, after = table_counts(base), table_counts(clean)
    assert before != after
    killed = 0
    for attempt in range(KILLS):
        db = str(tmp_path / f"k{attempt}.duckdb")
        with open(base, "rb") as src, open(db, "wb") as dst:
            dst.write(src.read())
        # Anywhere in the run: start-up, reading, writing, committing, compacting.
        if _killed_at([sys.executable, "-m", "lineagectl", "--db", db, "-q", *command],
                      rng.uniform(0.1, 0.98) * duration, marker=db):
            killed += 1
        state = table_counts(db)  # opens, whatever moment it died at
        # prune_log rows appear only with a finished prune; compare the rest.
        assert state in (before, after), f"kill #{attempt} left a mix"
        assert subprocess.run([sys.executable, "-m", "lineagectl", "--db", db, "-q", *command]).returncode == 0
        converged = table_counts(db)
        if operation != "prune":
            assert converged == after
        else:  # a second prune after a finished one logs zero rows; the data tables agree
            assert {k: v for k, v in converged.items() if k != "prune_log"} == {
                k: v for k, v in after.items() if k != "prune_log"}
    assert killed >= 1, "every run finished before its kill: lengthen the operations"
