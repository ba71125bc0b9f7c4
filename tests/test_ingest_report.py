"""``ingest -f json`` is the report: counts, ``rejects: [{file, line, reason}]``, ``warnings``;
ndjson and csv carry the same one object (docs/formats.md)."""

from __future__ import annotations

import csv
import io
import json

from conftest import run_event, write_ndjson
from lineagectl import api
from lineagectl.sources.ingest import report as report_module


def _bad_log(tmp_path):
    events = [run_event("r1"), "nope", {"eventTime": "not a time"}, run_event("r2", time="x" * 50)]
    return write_ndjson(tmp_path / "bad.ndjson", events)


def test_json_report_lists_each_rejected_line_with_file_line_and_reason(cli, db, tmp_path):
    path = _bad_log(tmp_path)
    result = cli("--db", db, "ingest", path, "-f", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["events_rejected"] == 3 and report["warnings"] == []
    assert [(r["file"], r["line"]) for r in report["rejects"]] == [(path, 2), (path, 3), (path, 4)]
    assert report["rejects"][0]["reason"].startswith("invalid JSON")
    # The same reasons stderr gives after "file:line: ".
    for reject in report["rejects"]:
        assert f"{reject['file']}:{reject['line']}: {reject['reason']}" in result.stderr


def test_an_array_elements_reject_names_the_element(cli, db, tmp_path):
    events = [run_event("a0"), {"eventTime": "not a time"}]
    path = tmp_path / "a.json"
    path.write_text(json.dumps(events, indent=2))
    report = json.loads(cli("--db", db, "ingest", path, "-f", "json").stdout)
    (reject,) = report["rejects"]
    assert reject["file"] == str(path) and reject["reason"].startswith("event #2: ")
    assert json.dumps(events, indent=2).splitlines()[reject["line"] - 1] == "  {"


def test_warnings_are_in_the_report(cli, db, tmp_path):
    # A job whose SQL cannot be parsed: its column lineage is left out with a warning.
    facet = {"sql": {"_producer": "x", "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/SQLJobFacet.json",
                     "query": "INSERT INTO mart.x SELECT a +* FROM, b +* FROM FROM shop.orders"}}
    path = write_ndjson(tmp_path / "sql.ndjson", [run_event("s1", job_facets=facet, inputs=[("pg", "shop.orders")],
                                                            outputs=[("pg", "mart.x")])])
    result = cli("--db", db, "ingest", path, "-f", "json")
    report = json.loads(result.stdout)
    assert report["warnings"] and report["rejects"] == []
    assert all(f"Warning: {w}" in result.stderr for w in report["warnings"])


def test_ndjson_and_csv_carry_the_one_report(cli, tmp_path):
    path = _bad_log(tmp_path)
    as_json = json.loads(cli("--db", tmp_path / "a.duckdb", "ingest", path, "-f", "json").stdout)
    lines = cli("--db", tmp_path / "b.duckdb", "ingest", path, "-f", "ndjson").stdout.splitlines()
    assert len(lines) == 1
    item = json.loads(lines[0])
    assert {k: v for k, v in item.items() if k != "seconds"} == {k: v for k, v in as_json.items() if k != "seconds"}
    rows = list(csv.DictReader(io.StringIO(cli("--db", tmp_path / "c.duckdb", "ingest", path, "-f", "csv").stdout)))
    assert len(rows) == 1 and json.loads(rows[0]["rejects"]) == as_json["rejects"]


def test_the_table_lists_the_rejects_under_the_counts(cli, db, tmp_path):
    path = _bad_log(tmp_path)
    out = cli("--db", db, "ingest", path, "-f", "table", "-q").stdout
    counts, rejected = out.split("\n\n")
    assert "events_rejected" in counts and "rejects" not in counts
    assert rejected.splitlines()[0] == "rejected" and len(rejected.strip().splitlines()) == 3 + 3


def test_the_report_lists_a_bounded_number_of_rejects_and_counts_all(monkeypatch, tmp_path, db):
    monkeypatch.setattr(report_module, "REPORTED_REJECTS", 2)
    path = write_ndjson(tmp_path / "many.ndjson", [run_event("ok"), *["nope"] * 5])
    report = api.ingest([path], db)
    assert report.events_rejected == 5
    assert [r["line"] for r in report.rejects] == [2, 3]


def test_the_thread_switch_interval_is_short_while_ingesting_and_restored_after(tmp_path, db):
    # The writer thread needs the GIL between statements: a pipeline shortens the interval
    # (pipeline.SWITCH_INTERVAL) while it runs, and gives the host process its own back.
    import sys

    from lineagectl.sources.ingest import pipeline

    seen = []
    before = sys.getswitchinterval()
    log = write_ndjson(tmp_path / "e.ndjson", [run_event(f"r{i}") for i in range(3)] + ["{not json"])
    report = api.ingest([log], db, on_reject=lambda _: seen.append(sys.getswitchinterval()))
    assert report.events_rejected == 1 and seen == [pipeline.SWITCH_INTERVAL] and before > pipeline.SWITCH_INTERVAL
    assert sys.getswitchinterval() == before


def test_the_host_gets_its_switch_interval_back_when_the_last_of_two_ingests_ends(tmp_path):
    # Two ingests in threads, over two stores; the first to start ends first.
    import sys
    import threading

    from lineagectl.sources.ingest import pipeline

    before = sys.getswitchinterval()
    bad = write_ndjson(tmp_path / "bad.ndjson", ["{not json"])
    inside = [threading.Event(), threading.Event()]
    leave = [threading.Event(), threading.Event()]

    def ingest(n):
        def hold(_):  # waits inside its pipeline (at its rejected line) until told to go on
            inside[n].set()
            leave[n].wait(30)

        api.ingest([bad], str(tmp_path / f"{n}.duckdb"), on_reject=hold)

    threads = [threading.Thread(target=ingest, args=(n,)) for n in (0, 1)]
    for n in (0, 1):
        threads[n].start()
        assert inside[n].wait(30)
    assert sys.getswitchinterval() == pipeline.SWITCH_INTERVAL
    leave[0].set()
    threads[0].join(30)
    assert sys.getswitchinterval() == pipeline.SWITCH_INTERVAL  # the second still runs
    leave[1].set()
    threads[1].join(30)
    assert sys.getswitchinterval() == before
