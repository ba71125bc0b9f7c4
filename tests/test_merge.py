"""Merge rules of ingest, each checked against a real store file.

Every rule has a test that fails without it: union of a run's inputs/outputs,
terminal state wins, latest facet by eventTime, ``_deleted``, column lineage
(field-level, dataset-level, legacy), lifecycle DROP/RENAME, deduplication,
content-addressed facets and order independence.
"""

from __future__ import annotations

import random

import duckdb

from conftest import SAMPLE, run_event, write_ndjson
from lineagectl.api import ingest, show, stats

SAMPLE_LOG = str(SAMPLE / "ecommerce.ndjson")
SCHEMA = {"schema": {"fields": [{"name": "id", "type": "BIGINT"}, {"name": "email", "type": "VARCHAR"}]}}


def query(db, sql, params=()):
    con = duckdb.connect(db, read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def load(tmp_path, db, events, name="e.ndjson"):
    return ingest([write_ndjson(tmp_path / name, events)], db)


def test_run_io_is_the_union_and_an_empty_complete_erases_nothing(tmp_path, db):
    load(tmp_path, db, [
        run_event("r1", event_type="START", inputs=[("pg", "a")], outputs=[("bq", "x")]),
        run_event("r1", event_type="RUNNING", time="2026-11-20T02:01:00Z", inputs=[("pg", "b")]),
        run_event("r1", event_type="COMPLETE", time="2026-11-20T02:02:00Z"),
    ])
    rows = query(db, "SELECT n.name, direction FROM run_io JOIN dataset_names n USING (dataset_id) ORDER BY 1")
    assert rows == [("a", "in"), ("b", "in"), ("x", "out")]
    assert query(db, "SELECT state, started_at IS NOT NULL, ended_at IS NOT NULL FROM runs") == [
        ("COMPLETE", True, True)]


def test_terminal_state_wins_whatever_the_arrival_order(tmp_path, db):
    events = [
        run_event("r1", event_type="START", time="2026-11-20T02:00:00Z"),
        run_event("r1", event_type="FAIL", time="2026-11-20T02:05:00Z",
                  run_facets={"errorMessage": {"message": "boom", "programmingLanguage": "python"}}),
        run_event("r1", event_type="RUNNING", time="2026-11-20T02:09:00Z"),  # late, out of order
    ]
    load(tmp_path, db, list(reversed(events)))
    assert query(db, "SELECT state, error_message FROM runs") == [("FAIL", "boom")]


def test_latest_facet_by_event_time_replaces_and_deleted_removes(tmp_path, db):
    doc = lambda text: {"documentation": {"description": text}}  # noqa: E731
    load(tmp_path, db, [
        run_event("r2", time="2026-11-21T00:00:00Z", outputs=[("bq", "t", doc("new"))]),
        run_event("r1", time="2026-11-20T00:00:00Z", outputs=[("bq", "t", doc("old"))]),
    ])
    assert query(db, "SELECT description FROM datasets") == [("new",)]
    load(tmp_path, db, [run_event("r3", time="2026-11-22T00:00:00Z",
                                  outputs=[("bq", "t", {"documentation": {"_deleted": True}})])], "d.ndjson")
    assert query(db, "SELECT description FROM datasets") == [(None,)]


def test_column_lineage_fields_dataset_level_and_masking(tmp_path, db):
    cll = {"columnLineage": {
        "fields": {
            "email_hash": {"inputFields": [{"namespace": "pg", "name": "users", "field": "email",
                                            "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION",
                                                                 "masking": True}]}]},
            "id": {"inputFields": [{"namespace": "pg", "name": "users", "field": "id",
                                    "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}]},
        },
        "dataset": [{"namespace": "pg", "name": "users", "field": "country",
                     "transformations": [{"type": "INDIRECT", "subtype": "FILTER"}]}],
    }}
    load(tmp_path, db, [run_event("r1", inputs=[("pg", "users")], outputs=[("bq", "t", cll)])])
    rows = query(db, """SELECT src_column, column_name, type, subtype, masking FROM column_edges
                        ORDER BY column_name, src_column""")
    assert rows == [
        ("country", "email_hash", "INDIRECT", "FILTER", False),
        ("email", "email_hash", "DIRECT", "TRANSFORMATION", True),
        ("country", "id", "INDIRECT", "FILTER", False),
        ("id", "id", "DIRECT", "IDENTITY", False),
    ]
    # Sources named only in column lineage become datasets with columns.
    assert ("country",) in query(db, "SELECT column_name FROM columns JOIN datasets USING (dataset_id) "
                                     "WHERE name = 'users'")


def test_legacy_transformation_type_is_mapped_and_kept(tmp_path, db):
    cll = {"columnLineage": {"fields": {"a": {
        "inputFields": [{"namespace": "pg", "name": "src", "field": "a", "transformations": []}],
        "transformationType": "IDENTITY", "transformationDescription": "copied"}}}}
    load(tmp_path, db, [run_event("r1", outputs=[("bq", "t", cll)])])
    assert query(db, "SELECT type, subtype, legacy_type, description FROM column_edges") == [
        ("DIRECT", "IDENTITY", "IDENTITY", "copied")]


def test_lifecycle_drop_and_rename(tmp_path, db):
    rename = {"lifecycleStateChange": {"lifecycleStateChange": "RENAME",
                                       "previousIdentifier": {"namespace": "bq", "name": "old_t"}}}
    load(tmp_path, db, [
        run_event("r1", outputs=[("bq", "new_t", rename)]),
        run_event("r2", time="2026-11-21T00:00:00Z",
                  outputs=[("bq", "gone", {"lifecycleStateChange": {"lifecycleStateChange": "DROP"}})]),
    ])
    assert query(db, "SELECT dropped FROM datasets WHERE name = 'gone'") == [(True,)]
    assert show("old_t", db).payload["name"] == "new_t"  # the old name resolves to the new dataset
    assert show("new_t", db).payload["aliases"] == [{"namespace": "bq", "name": "old_t", "kind": "rename"}]


def test_symlinks_are_aliases(tmp_path, db):
    links = {"symlinks": {"identifiers": [{"namespace": "hive://meta", "name": "db.orders", "type": "TABLE"}]}}
    load(tmp_path, db, [run_event("r1", outputs=[("s3://bucket", "warehouse/orders", links)])])
    assert show("db.orders", db).payload["name"] == "warehouse/orders"


def test_reingest_and_cross_file_duplicates_change_nothing(tmp_path, db):
    events = [run_event("r1", event_type="START", inputs=[("pg", "a")]),
              run_event("r1", time="2026-11-20T03:00:00Z", outputs=[("bq", "x", SCHEMA)])]
    first = load(tmp_path, db, events)
    before = stats(db).payload
    second = load(tmp_path, db, events, "copy.ndjson")
    assert (first.events_new, second.events_new, second.events_duplicate) == (2, 0, 2)
    after = stats(db).payload
    assert {k: v for k, v in after.items() if k != "db_bytes"} == {
        k: v for k, v in before.items() if k != "db_bytes"}
    assert query(db, "SELECT run_count FROM edges ORDER BY direction") == [(1,), (1,)]


def test_repeated_facets_are_stored_once(tmp_path, db):
    sql = {"sql": {"query": "SELECT * FROM a"}}
    events = [run_event(f"r{i}", time=f"2026-11-{10 + i}T00:00:00Z", job_facets=sql,
                        inputs=[("pg", "a")], outputs=[("bq", "x", SCHEMA)]) for i in range(10)]
    load(tmp_path, db, events)
    assert query(db, "SELECT count(*) FROM facet_blobs") == [(2,)]
    assert query(db, "SELECT seen_count FROM job_facets") == [(10,)]
    assert query(db, "SELECT run_count FROM edges WHERE direction = 'out'") == [(10,)]
    assert query(db, "SELECT count(*) FROM dataset_versions") == [(10,)]  # one per writing run


def test_version_facet_names_the_dataset_version(tmp_path, db):
    model = {"datasetType": {"datasetType": "MODEL"}, "version": {"datasetVersion": "2"}}
    load(tmp_path, db, [run_event("r1", outputs=[("mlflow", "models/churn", model)])])
    assert query(db, "SELECT dataset_type, current_version FROM datasets") == [("MODEL", "2")]
    assert query(db, "SELECT version, run_id FROM dataset_versions") == [("2", "r1")]


def test_dataset_and_job_events(tmp_path, db):
    load(tmp_path, db, [
        {"eventTime": "2026-11-20T00:00:00Z", "dataset": {"namespace": "bq", "name": "t", "facets": SCHEMA},
         "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent"},
        {"eventTime": "2026-11-20T00:00:00Z", "job": {"namespace": "dbt", "name": "model.x"},
         "inputs": [{"namespace": "bq", "name": "t"}], "outputs": [{"namespace": "bq", "name": "u"}],
         "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent"},
    ])
    assert query(db, "SELECT count(*) FROM columns") == [(2,)]
    assert query(db, "SELECT direction, run_count FROM edges ORDER BY 1") == [("in", 0), ("out", 0)]
    assert query(db, "SELECT count(*) FROM runs") == [(0,)]


def _snapshot(db):
    tables = ["datasets", "jobs", "runs", "columns", "column_edges", "tags", "owners", "edges",
              "dataset_versions", "run_io"]
    return {t: sorted(map(repr, query(db, f"SELECT * FROM {t}"))) for t in tables}


def test_order_independence_on_the_sample_log(tmp_path):
    with open(SAMPLE_LOG, encoding="utf-8") as log:
        lines = log.read().splitlines()
    ordered = str(tmp_path / "ordered.duckdb")
    ingest([SAMPLE_LOG], ordered)
    shuffled_lines = lines + lines[:20]  # duplicates too
    random.Random(7).shuffle(shuffled_lines)
    shuffled = str(tmp_path / "shuffled.duckdb")
    # Several files and small batches, so merges happen across transactions.
    for part in range(3):
        path = tmp_path / f"part{part}.ndjson"
        path.write_text("\n".join(shuffled_lines[part::3]) + "\n", encoding="utf-8")
        ingest([str(path)], shuffled, batch_size=7)
    assert _snapshot(ordered) == _snapshot(shuffled)


def test_a_run_id_two_jobs_send_belongs_to_one_job_whatever_the_order(tmp_path):
    # A producer's bug: two jobs reuse one run id, both reading `src`. The run and its inputs belong
    # to the job of the earliest event (ties: the smaller job id), in every order and batching.
    events = [run_event("shared", job=job, time=time, inputs=[("pg", "src")], outputs=[("pg", out)])
              for job, time, out in (("late_job", "2026-11-20T03:00:00Z", "x"),
                                      ("early_job", "2026-11-20T02:00:00Z", "y"),
                                      ("tied_b", "2026-11-20T02:00:00Z", "z"))]
    answers = set()
    for order, (name, batch) in enumerate([("ab", None), ("ba", None), ("split", 1)]):
        db = str(tmp_path / f"{name}.duckdb")
        sequence = events if order == 0 else list(reversed(events))
        for index, event in enumerate(sequence if batch else [None]):
            load(tmp_path, db, [event] if batch else sequence, name=f"{name}{index}.ndjson")
        io = query(db, """SELECT n.name, j.name FROM run_io r JOIN dataset_names n USING (dataset_id)
                          JOIN job_names j ON j.job_id = r.job_id WHERE direction = 'in'""")
        run = query(db, "SELECT j.name FROM runs r JOIN job_names j USING (job_id)")
        assert len(io) == 1 and run == [(io[0][1],)]
        answers.add((tuple(io), tuple(run)))
    assert len(answers) == 1
    (((_, job),), _), = answers
    smaller = query(db, "SELECT name FROM job_names WHERE name IN ('early_job', 'tied_b') ORDER BY job_id LIMIT 1")
    assert job == smaller[0][0]


def test_runs_refreshed_in_slices_equal_one_pass(tmp_path, monkeypatch):
    from lineagectl.sources.ingest import derive

    whole = str(tmp_path / "whole.duckdb")
    ingest([str(SAMPLE_LOG)], whole)
    monkeypatch.setattr(derive, "RUN_SLICE", 5)  # 86 runs -> 18 slices
    sliced = str(tmp_path / "sliced.duckdb")
    ingest([str(SAMPLE_LOG)], sliced)
    assert _snapshot(whole) == _snapshot(sliced)
    assert query(sliced, "SELECT count(*) FROM runs") == [(86,)]


def test_batches_cut_by_bytes_give_the_same_store(tmp_path):
    whole = str(tmp_path / "whole.duckdb")
    report = ingest([SAMPLE_LOG], whole)
    # Every event over the byte bound: one event per batch, as a log of very large events gets.
    cut = str(tmp_path / "cut.duckdb")
    small = ingest([SAMPLE_LOG], cut, batch_bytes=1)
    assert (small.events_new, small.events_duplicate) == (report.events_new, report.events_duplicate)
    assert _snapshot(whole) == _snapshot(cut)


def test_a_deleted_facet_written_as_text_is_deleted_and_never_a_broken_facet(tmp_path, db):
    # Some producers write the flag as the text "true": the tables always took it as deleted; the
    # checks must agree, or a strict ingest would reject (and a lenient one warn about) an event
    # the tables understand. A deleted documentation facet has no description to check.
    doc = {"documentation": {"description": "orders, one row each"}}
    load(tmp_path, db, [run_event("r1", time="2026-11-20T00:00:00Z", outputs=[("bq", "t", doc)])])
    assert query(db, "SELECT description FROM datasets") == [("orders, one row each",)]
    gone = [run_event("r2", time="2026-11-21T00:00:00Z",
                      outputs=[("bq", "t", {"documentation": {"_deleted": "true"}})])]
    report = ingest([write_ndjson(tmp_path / "gone.ndjson", gone)], db, strict=True)
    assert (report.events_new, report.events_rejected, report.rolled_back) == (1, 0, False), report.rejects
    assert query(db, "SELECT description FROM datasets") == [(None,)]
