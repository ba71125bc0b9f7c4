"""A malformed standard facet costs only that facet: the event (run, job, datasets) is stored, the facet
is left out with a warning naming ``file:line`` and the facet, and the stored event stays as sent.
``--strict`` still rejects the event (and so stores nothing)."""

from __future__ import annotations

import json

import orjson

from conftest import run_event, write_ndjson

GOOD_SCHEMA = {"schema": {"fields": [{"name": "id", "type": "INT"}, {"name": "email", "type": "TEXT"}]}}


def _events():
    cll_null = run_event("0190a3a0-0000-7000-8000-000000000001", job="load_a", time="2024-05-01T10:00:00Z",
                         inputs=[("pg", "raw.a")],
                         outputs=[("pg", "mart.a", {**GOOD_SCHEMA, "columnLineage": {"fields": None}})])
    schema_not_list = run_event("0190a3a0-0000-7000-8000-000000000002", job="load_b", time="2024-05-01T11:00:00Z",
                                inputs=[("pg", "raw.b")],
                                outputs=[("pg", "mart.b", {"schema": {"fields": {"id": "INT"}}})])
    parent_without_run_id = run_event(
        "0190a3a0-0000-7000-8000-000000000003", job="load_c", time="2024-05-01T12:00:00Z",
        outputs=[("pg", "mart.c")],
        run_facets={"parent": {"run": {}, "job": {"namespace": "a", "name": "b"}},
                    "errorMessage": {"message": "boom", "programmingLanguage": "python"}})
    facet_not_an_object = run_event("0190a3a0-0000-7000-8000-000000000004", job="load_d",
                                    time="2024-05-01T13:00:00Z", outputs=[("pg", "mart.d")],
                                    job_facets={"sql": "SELECT 1"})
    good = run_event("0190a3a0-0000-7000-8000-000000000005", job="load_e", time="2024-05-01T14:00:00Z",
                     inputs=[("pg", "mart.a")], outputs=[("pg", "mart.e")])
    return [cll_null, schema_not_list, parent_without_run_id, facet_not_an_object, good]


def test_the_event_is_stored_and_only_the_broken_facet_ignored(tmp_path, cli):
    events = _events()
    log = write_ndjson(tmp_path / "e.ndjson", events)
    db = str(tmp_path / "s.duckdb")
    result = cli("--db", db, "ingest", log)
    assert result.exit_code == 0, result.output  # nothing was rejected
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    assert warnings == [
        f"Warning: {log}:1: outputs[0].facets.columnLineage: 'fields' must be an object: facet ignored",
        f"Warning: {log}:2: outputs[0].facets.schema: 'fields' must be a list: facet ignored",
        f"Warning: {log}:3: run.facets.parent: needs run.runId: facet ignored",
        f"Warning: {log}:4: job.facets.sql must be an object: facet ignored",
    ], result.stderr

    runs = json.loads(cli("--db", db, "ls", "runs", "-f", "json").stdout)
    assert sorted(r["job"] for r in runs) == ["load_a", "load_b", "load_c", "load_d", "load_e"]
    assert all(r["state"] == "COMPLETE" for r in runs)
    # The datasets and their lineage are there; the good facets beside a broken one too.
    mart_a = json.loads(cli("--db", db, "show", "mart.a", "-f", "json").stdout)
    assert [c["column"] for c in mart_a["columns"]] == ["id", "email"]
    upstream = json.loads(cli("--db", db, "trace", "mart.e", "-f", "json").stdout)
    assert {"raw.a", "mart.a"} <= {n["name"] for n in upstream["datasets"]}
    mart_b = json.loads(cli("--db", db, "show", "mart.b", "-f", "json").stdout)
    assert mart_b["columns"] == []  # its only facet was the broken schema
    # The run's other facet (errorMessage) is kept though its parent facet was dropped.
    failed = json.loads(cli("--db", db, "ls", "runs", "-f", "json").stdout)
    assert next(r for r in failed if r["job"] == "load_c")["error"] == "boom"

    # The stored events are the events as sent, broken facets and all.
    exported = cli("export", "--db", db)
    assert exported.exit_code == 0
    assert sorted(map(json.loads, exported.stdout.splitlines()), key=lambda e: e["eventTime"]) == events
    # byte for byte, keys in the order sent: the broken facet (parent, before errorMessage) put back in place
    assert sorted(exported.stdout.splitlines()) == sorted(orjson.dumps(e).decode() for e in events)

    # Ingesting again changes nothing (the file's broken facets are named again, as rejects would be).
    again = json.loads(cli("--db", db, "ingest", log, "-f", "json").stdout)
    assert (again["events_new"], again["events_duplicate"]) == (0, 5)


def test_strict_still_rejects_the_event(tmp_path, cli):
    log = write_ndjson(tmp_path / "e.ndjson", _events())
    db = str(tmp_path / "s.duckdb")
    result = cli("--db", db, "ingest", "--strict", log)
    assert result.exit_code == 1
    assert f"{log}:1: outputs[0].facets.columnLineage: 'fields' must be an object" in result.stderr
    assert "nothing was stored" in result.stderr


def test_a_flood_of_one_broken_facet_is_summed_up(tmp_path, cli):
    # Every run of a job repeats its facets: 500 events with the same broken facet are not 500 warnings.
    events = [run_event(f"0190a3a0-0000-7000-8000-{i:012d}", job="every_hour", time=f"2024-05-01T10:{i // 60:02d}:{i % 60:02d}Z",
                        outputs=[("pg", "mart.h", {"columnLineage": {"fields": None}})]) for i in range(500)]
    db = str(tmp_path / "s.duckdb")
    result = cli("--db", db, "ingest", "-f", "json", write_ndjson(tmp_path / "e.ndjson", events))
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["events_new"] == 500 and report["events_rejected"] == 0
    ignored = [w for w in report["warnings"] if "ignored" in w]
    assert len(ignored) == 21
    assert ignored[-1] == "… and 480 more broken facets ignored (500 in all): --strict rejects their events"


def test_a_facets_object_that_is_not_one_is_ignored_whole(tmp_path, cli):
    dataset_event = {"eventTime": "2024-05-01T10:00:00Z", "dataset": {"namespace": "pg", "name": "x", "facets": [1]},
                     "producer": "p", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent"}
    run = run_event("0190a3a0-0000-7000-8000-000000000009", inputs=[("pg", "y")], outputs=[("pg", "z")])
    run["inputs"][0]["inputFacets"] = "bad"
    log = write_ndjson(tmp_path / "e.ndjson", [dataset_event, run])
    db = str(tmp_path / "s.duckdb")
    report = json.loads(cli("--db", db, "ingest", log, "-f", "json").stdout)
    assert (report["events_new"], report["events_rejected"]) == (2, 0)
    assert report["warnings"] == [f"{log}:1: dataset.facets must be an object: facets ignored",
                                  f"{log}:2: inputs[0].inputFacets must be an object: facets ignored"]
    names = {d["name"] for d in json.loads(cli("--db", db, "ls", "datasets", "-f", "json").stdout)}
    assert names == {"x", "y", "z"}
