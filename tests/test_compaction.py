"""Compaction keeps every acknowledged write and keeps the store where it is.

A writer that reaches the store while a compaction copies it must wait for the
swap and then commit into the new file; a symlinked, restricted or hard-linked
store stays one store with its mode; a failed or interrupted compaction leaves
nothing behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from conftest import run_event, write_ndjson
from lineagectl.api import ingest, prune
from lineagectl.store.compact import NotCompacted, compact_file

RACES = 100 if os.environ.get("LINEAGECTL_FUZZ") == "long" else 2


def store_with(tmp_path: Path, name: str, count: int) -> Path:
    db = tmp_path / name
    events = [run_event(f"r{i}", job=f"job{i % 7}", inputs=[("pg", f"src.t{i}")], outputs=[("pg", f"dst.t{i}")])
              for i in range(count)]
    ingest([write_ndjson(tmp_path / f"{name}.ndjson", events)], str(db))
    return db


def dataset_names(db: Path) -> set[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT name FROM datasets").fetchall()}
    finally:
        con.close()


def leftovers(db: Path) -> list[str]:
    return sorted(p.name for p in db.parent.iterdir() if ".compact" in p.name)


@pytest.mark.parametrize("attempt", range(RACES))
def test_a_writer_racing_a_compaction_loses_nothing(tmp_path, attempt):
    db = store_with(tmp_path, "race.duckdb", 50)
    late = [run_event(f"late{i}", job="late", outputs=[("pg", f"late.t{i}")]) for i in range(100)]
    log = write_ndjson(tmp_path / "late.ndjson", late)
    writer: list[subprocess.Popen] = []

    def slow_swap() -> None:
        # The writer starts while the copy is complete but not yet moved over the store: the
        # window in which it used to commit into the file about to be replaced.
        writer.append(subprocess.Popen(
            [sys.executable, "-m", "lineagectl", "--db", str(db), "--wait", "60", "-q", "ingest", log],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        time.sleep(1.5 + 0.01 * attempt)
        assert writer[0].poll() is None, "the writer must wait for the swap, not finish before it"

    compact_file(db, "200MB", before_swap=slow_swap)
    _out, err = writer[0].communicate(timeout=60)
    assert writer[0].returncode == 0, err
    names = dataset_names(db)
    assert {f"late.t{i}" for i in range(100)} <= names
    assert {f"dst.t{i}" for i in range(50)} <= names
    assert leftovers(db) == []


def test_a_symlinked_store_stays_one_store_with_its_mode(tmp_path):
    real = store_with(tmp_path, "real.duckdb", 20)
    os.chmod(real, 0o600)
    link = tmp_path / "link.duckdb"
    link.symlink_to(real)
    compact_file(link, "200MB")
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert (real.stat().st_mode & 0o777) == 0o600
    ingest([write_ndjson(tmp_path / "more.ndjson", [run_event("m", outputs=[("pg", "via.link")])])], str(link))
    assert "via.link" in dataset_names(real)


def test_a_hard_linked_store_is_left_whole_and_the_prune_says_why(tmp_path):
    db = store_with(tmp_path, "h.duckdb", 20)
    os.link(db, tmp_path / "other-name.duckdb")
    with pytest.raises(NotCompacted, match="2 hard links"):
        compact_file(db, "200MB")
    assert os.stat(db).st_ino == os.stat(tmp_path / "other-name.duckdb").st_ino
    old = [run_event("old", time="2020-01-01T00:00:00Z", outputs=[("pg", "ancient.t")])]
    ingest([write_ndjson(tmp_path / "old.ndjson", old)], str(db))
    report = prune(str(db), detailed_days=30, summary_days=60)
    assert report.payload["compact_error"] and "hard links" in report.payload["compact_error"]
    assert os.stat(db).st_ino == os.stat(tmp_path / "other-name.duckdb").st_ino


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError])
def test_an_interrupted_compaction_leaves_the_store_and_no_stray_files(tmp_path, failure):
    db = store_with(tmp_path, "i.duckdb", 20)
    before = dataset_names(db)

    def interrupt() -> None:
        raise failure("stopped")

    with pytest.raises(failure):
        compact_file(db, "200MB", before_swap=interrupt)
    assert leftovers(db) == [] and not (tmp_path / "i.duckdb.wal").exists()
    assert dataset_names(db) == before


def test_a_compaction_waits_for_a_writer_or_reports_the_lock(tmp_path):
    from lineagectl.errors import DatabaseLockedError
    from lineagectl.store import Store

    db = store_with(tmp_path, "w.duckdb", 10)
    with Store(db, write=True), pytest.raises(DatabaseLockedError, match="locked"):
        compact_file(db, "200MB", wait=0.2)
    compact_file(db, "200MB", wait=0.2)
    assert leftovers(db) == []
