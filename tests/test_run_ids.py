"""A run id typed by a user is read as the ingest stores it: a UUID in lower case, any other id as given.

The ingest applies the rule in SQL (``lineagectl_run_id``); ``trace --run`` (and the server's
``/lineagectl/v1/trace?run=``) applies its Python twin. Both must agree on every id.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from conftest import run_event, write_ndjson
from lineagectl.common.ids import RUN_ID_MACRO, canonical_run_id

RUN = "0190a3a0-0000-7000-8000-0000000000ab"

IDS = [
    RUN, RUN.upper(), "0190A3A0-0000-7000-8000-0000000000aB",  # UUIDs: lower-cased
    "r1", "Run-ABC", "", "ABCDEF", "spark_application_1700000000000_0001",  # not UUIDs: as given
    "0190A3A00000700080000000000000AB",  # hex without hyphens: not the RFC 4122 form
    "{0190A3A0-0000-7000-8000-0000000000AB}", "urn:uuid:0190A3A0-0000-7000-8000-0000000000AB",
    " 0190A3A0-0000-7000-8000-0000000000AB", "0190A3A0-0000-7000-8000-0000000000AB\n",
    "0190A3A0-0000-7000-8000-0000000000AG",  # G is not hex
    "０190A3A0-0000-7000-8000-0000000000AB",  # a full-width digit is not [0-9]
    "0190A3A0-0000-7000-8000-0000000000ÄB", "İ190A3A0-0000-7000-8000-0000000000AB",
]


def test_the_sql_macro_and_the_python_function_agree():
    con = duckdb.connect()
    try:
        con.execute(RUN_ID_MACRO)
        sql = [con.execute("SELECT lineagectl_run_id(?)", [i]).fetchone()[0] for i in IDS]
    finally:
        con.close()
    assert [canonical_run_id(i) for i in IDS] == sql
    assert sql[:3] == [RUN] * 3
    assert sql[3:] == IDS[3:]  # every other id stays exactly as sent


@pytest.fixture
def store(tmp_path):
    db = str(tmp_path / "s.duckdb")
    events = [run_event(RUN, event_type="START", time="2024-05-01T10:00:00Z", inputs=[("n", "a")], outputs=[("n", "b")]),
              run_event(RUN.upper(), time="2024-05-01T10:05:00Z", inputs=[("n", "a")], outputs=[("n", "b")]),
              run_event("Run-ABC", job="other", time="2024-05-01T11:00:00Z", outputs=[("n", "c")])]
    path = write_ndjson(tmp_path / "e.ndjson", events)
    return db, path


def test_trace_run_finds_a_run_typed_in_upper_case(store, cli):
    db, events = store
    assert cli("--db", db, "ingest", events).exit_code == 0
    for typed in (RUN.upper(), RUN, "0190A3A0-0000-7000-8000-0000000000aB"):
        result = cli("--db", db, "trace", "--run", typed, "-f", "json")
        assert result.exit_code == 0, result.output
        answer = json.loads(result.stdout)
        assert answer["run"] == RUN and [s["run_id"] for s in answer["steps"]] == [RUN]
    # A run id that is not a UUID is matched exactly as sent: no case folding.
    assert json.loads(cli("--db", db, "trace", "--run", "Run-ABC", "-f", "json").stdout)["run"] == "Run-ABC"
    wrong_case = cli("--db", db, "trace", "--run", "run-abc")
    assert wrong_case.exit_code == 2 and "no run with id 'run-abc'" in wrong_case.stderr
