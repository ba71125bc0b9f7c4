"""Retention: prune on a store spanning two years, dry-run counts, audit log, late arrivals."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from conftest import events_as_in_version_5, run_event, write_ndjson
from lineagectl.api import impact, ingest
from lineagectl.errors import InputError, NotFoundError
from lineagectl.operations.prune import TABLES_PRUNED, history, prune
from lineagectl.store.schema import SCHEMA_VERSION

NOW = datetime.now(UTC).replace(microsecond=0)


def when(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def schema(*columns: str) -> dict:
    return {"schema": {"_producer": "t", "_schemaURL": "t", "fields": [{"name": c, "type": "INT"} for c in columns]}}


def two_years(tmp_path: Path) -> str:
    """A daily job over two years, one that last ran 200 days ago, one 500 days ago."""
    events = []
    for day in range(0, 730, 2):  # every 2 days for two years, schema grows once a year
        cols = ("id", "amount") + (("discount",) if day < 365 else ())
        # Each run logs something of its own, so the file's size is mostly run detail.
        # (hex digests: the store compresses payloads, and a repeated character would vanish.)
        log = "".join(hashlib.sha256(f"{day}-{i}".encode()).hexdigest() for i in range(250))
        notes = {"notes": {"_producer": "t", "_schemaURL": "t", "log": f"run {day}: {log}"}}
        for kind, offset in (("START", 0), ("COMPLETE", 0.01)):
            events.append(run_event(f"daily-{day}", job="daily", event_type=kind, time=when(day - offset),
                                    run_facets=notes,
                                    inputs=[("pg", "src.orders", schema(*cols))],
                                    outputs=[("pg", "mart.orders", schema(*cols))]))
    events.append(run_event("once-200", job="monthly", time=when(200),
                            inputs=[("pg", "mart.orders")], outputs=[("pg", "rpt.old_report")]))
    events.append(run_event("once-500", job="ancient", time=when(500),
                            inputs=[("pg", "src.legacy")], outputs=[("pg", "rpt.forgotten")]))
    db = str(tmp_path / "two.duckdb")
    ingest([write_ndjson(tmp_path / "e.ndjson", events)], db)
    return db


def counts(db: str) -> dict[str, int]:
    con = duckdb.connect(db, read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in TABLES_PRUNED}
    finally:
        con.close()


def query(db: str, sql: str) -> list[tuple]:
    con = duckdb.connect(db, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_prune_keeps_what_is_current_and_the_summary_window(tmp_path):
    db = two_years(tmp_path)
    before = counts(db)
    size_before = Path(db).stat().st_size
    dry = prune(db, detailed_days=90, summary_days=365, dry_run=True)
    assert counts(db) == before  # a dry run changes nothing
    real = prune(db, detailed_days=90, summary_days=365)
    assert real.removed == dry.removed  # exactly what the dry run said
    after = counts(db)
    assert all(before[t] - after[t] == n for t, n in real.removed.items())
    assert real.removed["events"] > 0 and real.removed["run_io"] > 0

    cutoff = (NOW - timedelta(days=90)).replace(tzinfo=None)
    # Detail older than 90 days: only the latest run of each job stays.
    old = query(db, f"SELECT DISTINCT r.job_id FROM run_states s JOIN runs r USING (run_id) "
                    f"WHERE s.event_time < TIMESTAMP '{cutoff}'")
    latest = query(db, "SELECT count(DISTINCT job_id) FROM runs")[0][0]
    assert len(old) <= latest
    assert query(db, f"SELECT count(*) FROM run_io WHERE event_time < TIMESTAMP '{cutoff}' "
                     "AND run_id NOT IN (SELECT arg_max(run_id, last_event_time) FROM runs GROUP BY job_id)") == [(0,)]
    # Old dataset versions go, each dataset's current version stays.
    assert query(db, f"""SELECT count(*) FROM dataset_versions v WHERE created_at < TIMESTAMP '{cutoff}'
                         AND version NOT IN (SELECT current_version FROM datasets d
                                             WHERE d.dataset_id = v.dataset_id)""") == [(0,)]
    # Seen 200 days ago: inside the summary window, table-level impact still answers.
    reached = {d["name"] for d in impact("mart.orders", db).payload["datasets"]}
    assert reached == {"rpt.old_report"}
    # Seen 500 days ago: gone with its job and edges.
    with pytest.raises(NotFoundError):
        impact("src.legacy", db)
    assert query(db, "SELECT count(*) FROM jobs WHERE name = 'ancient'") == [(0,)]
    assert Path(db).stat().st_size < size_before
    # The audit log says what went; a second prune removes nothing.
    logged = {r["table"]: r["rows"] for r in history(db).payload}
    assert logged == real.removed
    again = prune(db, detailed_days=90, summary_days=365)
    assert sum(again.removed.values()) == 0 and counts(db) == after


def test_late_arrivals_are_reported(tmp_path, cli):
    db = two_years(tmp_path)
    prune(db, detailed_days=90, summary_days=365)
    late = write_ndjson(tmp_path / "late.ndjson", [
        run_event("late-1", job="daily", time=when(120), outputs=[("pg", "mart.orders")])])
    result = cli("--db", db, "ingest", late)
    assert result.exit_code == 0
    assert "1 events are older than the detailed window of the last prune" in result.stderr


def test_retention_from_the_policy_and_option_errors(tmp_path, cli):
    db = two_years(tmp_path)
    policy = tmp_path / "lineagectl.yaml"
    policy.write_text("retention:\n  detailed_days: 30\n  summary_days: 100\n")
    report = json.loads(cli("--db", db, "--policy", policy, "prune", "--dry-run", "-f", "json").stdout)
    assert report["dry_run"] is True
    assert report["detailed_cutoff"].startswith((NOW - timedelta(days=30)).strftime("%Y-%m-%d"))
    with pytest.raises(InputError, match="cannot exceed"):
        prune(db, detailed_days=400, summary_days=365)
    bad = cli("--db", db, "prune", "--detailed-days", "0")
    assert bad.exit_code == 2 and "must be 1 or more" in bad.stderr
    assert cli("--db", tmp_path / "absent.duckdb", "prune").exit_code == 2


def test_a_version_1_store_gains_the_audit_table(tmp_path):
    from lineagectl.api import migrate

    db = two_years(tmp_path)
    events_as_in_version_5(db)
    con = duckdb.connect(db)
    con.execute("DROP TABLE prune_log")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.close()
    assert migrate(db).version == SCHEMA_VERSION
    assert history(db).payload == []


def test_the_file_ledger_is_kept_for_the_summary_window(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    write_ndjson(spool / "e.ndjson", [run_event("r1", time=when(1), outputs=[("pg", "t")])])
    db = str(tmp_path / "ledger.duckdb")
    ingest([str(spool)], db)
    assert prune(db, now=NOW + timedelta(days=300)).removed["ingested_files"] == 0
    assert ingest([str(spool)], db).files_skipped == 1  # within the window: not read again
    assert prune(db, now=NOW + timedelta(days=400)).removed["ingested_files"] == 1
    assert ingest([str(spool)], db).files == 1  # forgotten with its lineage: read again
