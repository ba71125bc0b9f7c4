"""Table lineage is never narrower than column lineage (issue 13, item 5).

A dataset named in a job's ``columnLineage`` inputFields (or dataset-level ``dataset``
entries) is an input of that run and job at table level too: a Databricks MERGE event
lists its source only there.
"""

from __future__ import annotations

import duckdb

from conftest import run_event, write_ndjson
from lineagectl.api import impact, ingest, residency_check, trace
from lineagectl.common.policy import parse_policy

EU, US = "s3://eu-lake", "s3://us-lake"


def cll(*sources, dataset=()):
    """A columnLineage facet whose column ``id`` reads ``id`` of each (namespace, name) source."""
    def field(ns, name):
        return {"namespace": ns, "name": name, "field": "id",
                "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}
    return {"columnLineage": {"_producer": "t", "_schemaURL": "t",
                              "fields": {"id": {"inputFields": [field(*s) for s in sources]}},
                              "dataset": [field(*s) for s in dataset]}}


def merge(run_id="r1", sources=((EU, "s"),), inputs=(), dataset=(), time="2026-11-20T02:00:00Z"):
    """A MERGE INTO t event that names its source only in the column lineage."""
    return run_event(run_id, job="merge_t", time=time, inputs=inputs,
                     outputs=[(US, "t", cll(*sources, dataset=dataset))])


def names(result) -> set:
    return {d["name"] for d in result.payload["datasets"]}


def store_rows(db: str, sql: str) -> list:
    con = duckdb.connect(db, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_a_column_lineage_source_is_a_table_input(tmp_path):
    db = str(tmp_path / "m.duckdb")
    report = ingest([write_ndjson(tmp_path / "e.ndjson", [merge()])], db)
    assert report.warnings == [] and report.events_rejected == 0
    assert names(impact("s", db)) == {"t"}
    assert names(trace("t", db)) == {"s"}
    # The run read it too (run-level provenance), once.
    assert store_rows(db, "SELECT n.name, r.direction FROM run_io r JOIN dataset_names n USING (dataset_id) "
                          "ORDER BY 2, 1") == [("s", "in"), ("t", "out")]
    assert store_rows(db, "SELECT direction, run_count FROM edges ORDER BY 1") == [("in", 1), ("out", 1)]
    policy = parse_policy(f"regions:\n  eu: ['{EU}*']\n  us: ['{US}*']\n"
                          "residency:\n  - name: eu-stays\n    from: eu\n    allowed: [eu]\n")
    (violation,) = residency_check(db, policy).payload["violations"]
    assert (violation["source"]["name"], violation["target"]["name"]) == ("s", "t")


def test_dataset_level_entries_and_a_second_run_count(tmp_path):
    db = str(tmp_path / "d.duckdb")
    # The join key's table appears only among the dataset-level (1-2-0) entries.
    events = [merge("r1", dataset=[(EU, "keys")]),
              merge("r2", dataset=[(EU, "keys")], time="2026-11-21T02:00:00Z")]
    ingest([write_ndjson(tmp_path / "e.ndjson", events)], db)
    assert names(trace("t", db)) == {"s", "keys"}
    assert set(store_rows(db, "SELECT n.name, e.run_count FROM edges e JOIN dataset_names n USING (dataset_id) "
                              "WHERE direction = 'in'")) == {("s", 2), ("keys", 2)}
    # A later batch whose facet the store already holds still widens the table lineage.
    ingest([write_ndjson(tmp_path / "f.ndjson", [merge("r3", time="2026-11-22T02:00:00Z")])], db)
    assert store_rows(db, "SELECT count(*) FROM run_io WHERE run_id = 'r3' AND direction = 'in'") == [(1,)]


def test_a_listed_input_is_not_doubled(tmp_path):
    db = str(tmp_path / "l.duckdb")
    ingest([write_ndjson(tmp_path / "e.ndjson", [merge(inputs=[(EU, "s")])])], db)
    assert store_rows(db, "SELECT count(*) FROM run_io WHERE direction = 'in'") == [(1,)]
    assert names(trace("t", db)) == {"s"}


def test_a_merge_target_reading_itself_is_no_self_loop(tmp_path):
    db = str(tmp_path / "self.duckdb")
    # MERGE INTO t USING s: t's columns read t's own (the matched rows) and s's.
    ingest([write_ndjson(tmp_path / "e.ndjson", [merge(sources=[(EU, "s"), (US, "t")])])], db)
    assert store_rows(db, "SELECT count(*) FROM edges WHERE direction = 'in'") == [(1,)]
    assert names(trace("t", db)) == {"s"}
    assert names(impact("t", db)) == set()
    # Listed as an input by the event, the self-read is the producer's word and stays.
    ingest([write_ndjson(tmp_path / "f.ndjson", [merge("r2", sources=[(US, "t")], inputs=[(US, "t")])])], db)
    assert store_rows(db, "SELECT count(*) FROM edges WHERE direction = 'in'") == [(2,)]


def test_a_job_event_and_a_dataset_event(tmp_path):
    db = str(tmp_path / "j.duckdb")
    job_event = {"eventTime": "2026-11-20T02:00:00Z", "producer": "https://example.test/producer",
                 "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
                 "job": {"namespace": "airflow://acme", "name": "design_t", "facets": {}},
                 "inputs": [], "outputs": [{"namespace": US, "name": "t2", "facets": cll((EU, "s2"))}]}
    dataset_event = {"eventTime": "2026-11-20T02:00:00Z", "producer": "https://example.test/producer",
                     "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
                     "dataset": {"namespace": US, "name": "t3", "facets": cll((EU, "s3"))}}
    report = ingest([write_ndjson(tmp_path / "e.ndjson", [job_event, dataset_event])], db)
    assert report.events_rejected == 0
    # A JobEvent's design-time lineage widens as a run's does; a DatasetEvent has no job to widen.
    assert names(trace("t2", db)) == {"s2"}
    assert store_rows(db, "SELECT run_count FROM edges WHERE direction = 'in'") == [(0,)]
