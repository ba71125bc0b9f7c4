"""Errors are classified by what happened, not by words in a path or a message."""

from __future__ import annotations

import threading
import time

import duckdb
import pytest
import typer

from conftest import SAMPLE
from lineagectl.cli.boundary import handled
from lineagectl.errors import ExitStatus


@pytest.mark.parametrize("command", [["stats"], ["-q", "ingest", str(SAMPLE / "ecommerce.ndjson")]])
def test_a_path_that_mentions_lock_is_not_a_lock_conflict(cli, tmp_path, command):
    folder = tmp_path / "blocks.duckdb"
    folder.mkdir()
    result = cli("--db", folder, *command)
    assert result.exit_code == ExitStatus.USAGE, result.stderr
    assert "locked" not in result.stderr and "--wait" not in result.stderr


def test_a_path_under_a_blocklist_folder_is_missing_not_locked(cli, tmp_path):
    result = cli("--db", tmp_path / "blocklists" / "x.duckdb", "stats")
    assert result.exit_code == ExitStatus.USAGE and "does not exist" in result.stderr


def test_ctrl_c_during_a_query_exits_130(capsys):
    con = duckdb.connect()

    def long_query():
        return con.execute("SELECT count(*) FROM range(10000000000) a, range(1000) b WHERE a.range % 7 = b.range")

    timer = threading.Timer(0.3, con.interrupt)
    timer.start()
    started = time.monotonic()
    with pytest.raises(typer.Exit) as stopped:
        handled(long_query, debug=lambda: False)()
    assert stopped.value.exit_code == ExitStatus.INTERRUPTED and time.monotonic() - started < 30
    assert "Interrupted." in capsys.readouterr().err


@pytest.mark.parametrize("args", [
    ["changes", "daily_revenue_by_country", "--since", "99999999999d"],
    ["ls", "runs", "--since", "999999999999999999999w"],
    ["prune", "--detailed-days", "3000000", "--summary-days", "3000000"],
    ["prune", "--detailed-days", "1", "--summary-days", "99999999999"],
])
def test_overflowing_durations_are_usage_errors(cli, tmp_path, args):
    db = tmp_path / "o.duckdb"
    assert cli("--db", db, "-q", "ingest", SAMPLE / "ecommerce.ndjson").exit_code == 0
    result = cli("--db", db, *args)
    assert result.exit_code == ExitStatus.USAGE, result.stderr
    assert "before the year 1" in result.stderr and "internal error" not in result.stderr


@pytest.mark.parametrize("encoding", ["ascii", "cp1252"])
@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_names_the_terminal_cannot_encode_are_escaped_not_a_crash(tmp_path, encoding, fmt):
    import json
    import os
    import subprocess
    import sys

    from conftest import run_event, write_ndjson

    db = tmp_path / "u.duckdb"
    log = write_ndjson(tmp_path / "u.ndjson", [run_event("u1", job="ジョブ", outputs=[("ns", "tåble_ジ")])])
    env = dict(os.environ, PYTHONIOENCODING=encoding)
    for args in (["-q", "ingest", log], ["ls", "datasets", "-f", fmt], ["show", "nope_ジ"]):
        done = subprocess.run([sys.executable, "-m", "lineagectl", "--db", str(db), *args], env=env,
                              capture_output=True, timeout=60)
        assert done.returncode in (0, 2), done.stderr
        assert b"internal error" not in done.stderr and b"Traceback" not in done.stderr
        if args[0] == "ls" and fmt == "table":
            assert b"\\u30b8" in done.stdout  # escaped for the terminal
        elif args[0] == "ls":
            assert "tåble_ジ" in done.stdout.decode("utf-8")  # machine formats are UTF-8 whatever the console
            if fmt == "json":
                assert json.loads(done.stdout)[0]["name"] == "tåble_ジ"


def test_a_sqlite_file_is_refused_without_loading_any_extension(cli, tmp_path):
    import sqlite3

    path = tmp_path / "lineage.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (a)")
    con.commit()
    con.close()
    before = path.read_bytes()
    for args in (["stats"], ["-q", "ingest", SAMPLE / "ecommerce.ndjson"]):
        result = cli("--db", path, *args)
        assert result.exit_code == ExitStatus.USAGE
        assert "is a SQLite database, not a lineagectl store" in result.stderr
        assert "extension" not in result.stderr.lower()
    assert path.read_bytes() == before
