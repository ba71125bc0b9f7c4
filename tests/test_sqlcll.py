"""Column lineage derived from a job's SQL when its events carry no columnLineage facet."""

from __future__ import annotations

import duckdb

from lineagectl.api import ingest, trace
from lineagectl.sources.ingest.sqlcll import PRODUCER

from conftest import SAMPLE, run_event, write_ndjson

QUERY = ("INSERT INTO mart.summary SELECT o.customer_id, sum(o.amount) AS total FROM shop.orders o "
         "JOIN shop.customers c ON c.id = o.customer_id WHERE o.status = 'paid' GROUP BY o.customer_id")


def schema(*cols):
    return {"schema": {"_producer": "t", "_schemaURL": "t", "fields": [{"name": c, "type": "INT"} for c in cols]}}


def sql_job(run_id, query=QUERY, time="2026-11-20T02:00:00Z", output_facets=None):
    return run_event(run_id, job="etl.summary", time=time,
                     job_facets={"sql": {"_producer": "t", "_schemaURL": "t", "query": query, "dialect": "postgres"}},
                     inputs=[("pg", "shop.orders", schema("customer_id", "amount", "status")),
                             ("pg", "shop.customers", schema("id", "email"))],
                     outputs=[("pg", "mart.summary", {**schema("customer_id", "total"), **(output_facets or {})})])


def paths(db, column):
    """(source dataset, column, TYPE/SUBTYPE) of every edge into ``column`` of mart.summary."""
    con = duckdb.connect(db, read_only=True)
    try:
        return set(con.execute("""
            SELECT s.name, e.src_column, e.type || coalesce('/' || e.subtype, '')
            FROM column_edges e JOIN datasets s ON s.dataset_id = e.src_dataset_id
            JOIN datasets d ON d.dataset_id = e.dataset_id
            WHERE d.name = 'mart.summary' AND e.column_name = ?""", [column]).fetchall())
    finally:
        con.close()


def test_lineage_is_derived_from_sql(tmp_path):
    db = str(tmp_path / "s.duckdb")
    report = ingest([write_ndjson(tmp_path / "e.ndjson", [sql_job("r1")])], db)
    assert report.warnings == []
    assert paths(db, "total") == {("shop.orders", "amount", "DIRECT/AGGREGATION"),
                                  ("shop.orders", "customer_id", "INDIRECT/GROUP_BY"),
                                  ("shop.orders", "status", "INDIRECT/FILTER"),
                                  ("shop.customers", "id", "INDIRECT/JOIN"),
                                  ("shop.orders", "customer_id", "INDIRECT/JOIN")}
    assert ("shop.orders", "customer_id", "DIRECT/IDENTITY") in paths(db, "customer_id")
    assert {c["name"] for c in trace("mart.summary", db, column="total").payload["columns"]} == {
        "shop.orders", "shop.customers"}
    # A new SQL (the filter dropped) replaces the derived lineage; the same SQL again changes nothing.
    ingest([write_ndjson(tmp_path / "f.ndjson", [sql_job("r2", QUERY.replace(" WHERE o.status = 'paid'", ""),
                                                         time="2026-11-21T02:00:00Z")])], db)
    assert ("shop.orders", "status", "INDIRECT/FILTER") not in paths(db, "total")


def test_a_producers_own_column_lineage_wins(tmp_path):
    db = str(tmp_path / "p.duckdb")
    own = {"columnLineage": {"_producer": "t", "_schemaURL": "t", "fields": {
        "total": {"inputFields": [{"namespace": "pg", "name": "shop.orders", "field": "amount",
                                   "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION"}]}]}}}}
    ingest([write_ndjson(tmp_path / "e.ndjson", [sql_job("r1", output_facets=own)])], db)
    assert paths(db, "total") == {("shop.orders", "amount", "DIRECT/TRANSFORMATION")}
    # The sample's jobs all send their own column lineage: nothing is derived there.
    sample = str(tmp_path / "sample.duckdb")
    ingest([str(SAMPLE / "ecommerce.ndjson")], sample)
    con = duckdb.connect(sample, read_only=True)
    derived = con.execute("SELECT count(*) FROM cll_sets JOIN facet_blobs USING (facet_hash) "
                          "WHERE payload->>'_producer' = ?", [PRODUCER]).fetchall()[0][0]
    con.close()
    assert derived == 0


def test_unreadable_sql_is_a_warning_not_an_error(tmp_path):
    db = str(tmp_path / "u.duckdb")
    report = ingest([write_ndjson(tmp_path / "e.ndjson", [sql_job("r1", "SELEC oops FROM (")])], db)
    assert report.events_new == 1 and report.events_rejected == 0
    assert any("etl.summary: no column lineage from its SQL" in w for w in report.warnings)
