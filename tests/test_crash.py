"""A process killed with SIGKILL mid-ingest leaves a store that opens, holds no part
of that file, and accepts the same ingest again (converging to the clean result)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lineagectl.api import ingest, stats

from conftest import run_event, write_ndjson

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
