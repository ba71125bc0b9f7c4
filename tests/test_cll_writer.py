"""One columnLineage writer: lineage derived from a job's SQL is hashed and expanded into cll_fields
exactly as the same facet sent in an event is, and Edges become a facet in one place."""

from __future__ import annotations

import json

import duckdb

from conftest import edges_into, run_event, table_counts, write_ndjson
from lineagectl.api import ingest
from lineagectl.sources.ingest.sqlcll import PRODUCER
from lineagectl.sources.sql_lineage import Edge, Source, column_lineage_facet

# A join, a filter and a grouping (dataset-level entries), an output column named beyond ASCII, and
# an output schema with a column the SELECT does not write (loaded_at).
QUERY = ('INSERT INTO mart.summary SELECT o.customer_id, sum(o.amount) AS "umsatz_€" FROM shop.orders o '
         "JOIN shop.customers c ON c.id = o.customer_id WHERE o.status = 'paid' GROUP BY o.customer_id")
OUTPUT_COLUMNS = ("customer_id", "umsatz_€", "loaded_at")


def schema(*cols):
    return {"schema": {"_producer": "t", "_schemaURL": "t", "fields": [{"name": c, "type": "INT"} for c in cols]}}


def sql_job(run_id, time="2026-11-20T02:00:00Z", lineage=None):
    """The job with its SQL; ``lineage`` sends a columnLineage facet with the output, as a producer would."""
    output = schema(*OUTPUT_COLUMNS)
    if lineage is not None:
        output["columnLineage"] = lineage
    return run_event(run_id, job="etl.summary", time=time,
                     job_facets={"sql": {"_producer": "t", "_schemaURL": "t", "query": QUERY, "dialect": "postgres"}},
                     inputs=[("pg", "shop.orders", schema("customer_id", "amount", "status")),
                             ("pg", "shop.customers", schema("id", "email"))],
                     outputs=[("pg", "mart.summary", output)])


def lineage_sets(db):
    """(producer, facet_hash, payload) of every column-lineage set of mart.summary."""
    con = duckdb.connect(db, read_only=True)
    try:
        return con.execute("""
            SELECT b.payload->>'_producer', c.facet_hash, b.payload
            FROM cll_sets c JOIN facet_blobs b USING (facet_hash) JOIN dataset_names d USING (dataset_id)
            WHERE d.name = 'mart.summary' ORDER BY c.facet_hash""").fetchall()
    finally:
        con.close()


def stored_fields(db):
    """Every cll_fields row of mart.summary, with source names instead of ids."""
    con = duckdb.connect(db, read_only=True)
    try:
        return sorted(con.execute("""
            SELECT f.facet_hash, f.column_name, s.name, f.src_column, f.type, f.subtype, f.masking,
                   f.description, f.legacy_type
            FROM cll_fields f JOIN dataset_names d USING (dataset_id)
            JOIN dataset_names s ON s.dataset_id = f.src_dataset_id
            WHERE d.name = 'mart.summary'""").fetchall())
    finally:
        con.close()


def test_derived_lineage_is_stored_as_the_same_facet_in_an_event_would_be(tmp_path):
    derived_db = str(tmp_path / "derived.duckdb")
    report = ingest([write_ndjson(tmp_path / "sql.ndjson", [sql_job("r1")])], derived_db)
    assert report.warnings == []
    [(producer, derived_hash, payload)] = lineage_sets(derived_db)
    assert producer == PRODUCER
    facet = json.loads(payload)
    assert facet["dataset"] and "umsatz_€" in facet["fields"]

    # The same facet, sent by a producer with the same output (and its schema) in an event.
    event_db = str(tmp_path / "event.duckdb")
    ingest([write_ndjson(tmp_path / "event.ndjson", [sql_job("r1", lineage=facet)])], event_db)
    [(_, event_hash, event_payload)] = lineage_sets(event_db)
    assert derived_hash == event_hash
    assert payload == event_payload
    assert stored_fields(derived_db) == stored_fields(event_db)

    # Dataset-level entries (join, filter, grouping) reach every column of the output, the schema's
    # column the SELECT does not write included, as they do for an event's facet.
    dataset_level = {("shop.customers", "id", "INDIRECT/JOIN"), ("shop.orders", "customer_id", "INDIRECT/JOIN"),
                     ("shop.orders", "status", "INDIRECT/FILTER"), ("shop.orders", "customer_id", "INDIRECT/GROUP_BY")}
    for column in OUTPUT_COLUMNS:
        assert dataset_level <= edges_into(derived_db, "mart.summary", column), column
        assert edges_into(derived_db, "mart.summary", column) == edges_into(event_db, "mart.summary", column), column
    assert edges_into(derived_db, "mart.summary", "loaded_at") == dataset_level
    assert ("shop.orders", "amount", "DIRECT/AGGREGATION") in edges_into(derived_db, "mart.summary", "umsatz_€")


def test_derived_lineage_is_idempotent(tmp_path):
    db = str(tmp_path / "s.duckdb")
    path = write_ndjson(tmp_path / "e.ndjson", [sql_job("r1")])
    ingest([path], db)
    before, sets, fields = table_counts(db), lineage_sets(db), stored_fields(db)
    edges = {c: edges_into(db, "mart.summary", c) for c in OUTPUT_COLUMNS}
    # The same file again, then a later run of the same SQL: nothing new is derived or stored.
    ingest([path], db)
    assert table_counts(db) == before and lineage_sets(db) == sets and stored_fields(db) == fields
    ingest([write_ndjson(tmp_path / "f.ndjson", [sql_job("r2", time="2026-11-21T02:00:00Z")])], db)
    assert [h for _, h, _ in lineage_sets(db)] == [h for _, h, _ in sets] and stored_fields(db) == fields
    assert {c: edges_into(db, "mart.summary", c) for c in OUTPUT_COLUMNS} == edges


def test_writing_a_derived_facet_twice_adds_no_rows(tmp_path):
    from lineagectl.sources.ingest.writer import begin_touch_tracking, write_derived_cll

    db = str(tmp_path / "s.duckdb")
    ingest([write_ndjson(tmp_path / "e.ndjson", [sql_job("r1")])], db)
    [(_, facet_hash, payload)] = lineage_sets(db)
    con = duckdb.connect(db)
    try:
        begin_touch_tracking(con)  # the ingest's macros
        output, job, seen = con.execute("SELECT dataset_id, job_id, last_seen FROM cll_sets").fetchall()[0]
        counts = con.execute("SELECT (SELECT count(*) FROM cll_fields), (SELECT count(*) FROM facet_blobs), "
                             "(SELECT count(*) FROM cll_sets)").fetchall()
        write_derived_cll(con, [(output, job, seen, json.loads(payload))])
        assert con.execute("SELECT (SELECT count(*) FROM cll_fields), (SELECT count(*) FROM facet_blobs), "
                           "(SELECT count(*) FROM cll_sets)").fetchall() == counts
        assert con.execute("SELECT facet_hash FROM cll_sets").fetchall() == [(facet_hash,)]
    finally:
        con.close()


def test_edges_become_a_facet_in_one_place(monkeypatch):
    edges = [Edge("total", Source("db.s.orders", "amount"), "DIRECT", "AGGREGATION", False),
             Edge("total", Source("db.s.unknown", "x"), "DIRECT", "IDENTITY", False),
             Edge(None, Source("db.s.orders", "status"), "INDIRECT", "FILTER", False)]
    located = []

    def locate(table):
        located.append(table)
        return ("pg", "s.orders") if table == "db.s.orders" else None

    item = {"namespace": "pg", "name": "s.orders"}
    assert column_lineage_facet(edges, locate) == {
        "fields": {"total": {"inputFields": [
            {**item, "field": "amount", "transformations": [{"type": "DIRECT", "subtype": "AGGREGATION",
                                                             "masking": False}]}]}},
        "dataset": [{**item, "field": "status", "transformations": [{"type": "INDIRECT", "subtype": "FILTER",
                                                                    "masking": False}]}]}
    assert sorted(located) == ["db.s.orders", "db.s.unknown"]  # each table located once
    assert column_lineage_facet(edges[1:2], locate) is None

    # dbt models build their facets with it too.
    import lineagectl.sources.dbt.lineage as dbt_lineage
    import lineagectl.sources.sql_lineage as sql_lineage

    calls = []
    monkeypatch.setattr(sql_lineage, "column_lineage_facet", lambda e, loc: calls.append(e) or {"built": True})
    dbt_lineage._init_worker(None, {}, {}, {})
    assert dbt_lineage._model_lineage(("model.p.m", "SELECT a FROM t")) == ("model.p.m", {"built": True}, None)
    assert calls
