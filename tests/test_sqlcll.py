"""Column lineage derived from a job's SQL when its events carry no columnLineage facet."""

from __future__ import annotations

import duckdb
import pytest

from conftest import SAMPLE, edges_into, run_event, write_ndjson
from lineagectl.api import ingest, trace
from lineagectl.sources.ingest.sqlcll import PRODUCER

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


def test_lineage_is_derived_from_sql(tmp_path):
    db = str(tmp_path / "s.duckdb")
    report = ingest([write_ndjson(tmp_path / "e.ndjson", [sql_job("r1")])], db)
    assert report.warnings == []
    assert edges_into(db, "mart.summary", "total") == {("shop.orders", "amount", "DIRECT/AGGREGATION"),
                                  ("shop.orders", "customer_id", "INDIRECT/GROUP_BY"),
                                  ("shop.orders", "status", "INDIRECT/FILTER"),
                                  ("shop.customers", "id", "INDIRECT/JOIN"),
                                  ("shop.orders", "customer_id", "INDIRECT/JOIN")}
    assert ("shop.orders", "customer_id", "DIRECT/IDENTITY") in edges_into(db, "mart.summary", "customer_id")
    assert {c["name"] for c in trace("mart.summary", db, column="total").payload["columns"]} == {
        "shop.orders", "shop.customers"}
    # A new SQL (the filter dropped) replaces the derived lineage; the same SQL again changes nothing.
    ingest([write_ndjson(tmp_path / "f.ndjson", [sql_job("r2", QUERY.replace(" WHERE o.status = 'paid'", ""),
                                                         time="2026-11-21T02:00:00Z")])], db)
    assert ("shop.orders", "status", "INDIRECT/FILTER") not in edges_into(db, "mart.summary", "total")


def test_a_producers_own_column_lineage_wins(tmp_path):
    db = str(tmp_path / "p.duckdb")
    own = {"columnLineage": {"_producer": "t", "_schemaURL": "t", "fields": {
        "total": {"inputFields": [{"namespace": "pg", "name": "shop.orders", "field": "amount",
                                   "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION"}]}]}}}}
    ingest([write_ndjson(tmp_path / "e.ndjson", [sql_job("r1", output_facets=own)])], db)
    assert edges_into(db, "mart.summary", "total") == {("shop.orders", "amount", "DIRECT/TRANSFORMATION")}
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


def test_an_unknown_dialect_is_a_warning_and_the_generic_dialect(tmp_path):
    db = str(tmp_path / "d.duckdb")
    event = sql_job("r1")
    event["job"]["facets"]["sql"]["dialect"] = "NoSuchSQL"
    report = ingest([write_ndjson(tmp_path / "e.ndjson", [event])], db)
    assert report.warnings == ["unknown SQL dialect 'NoSuchSQL' in the sql facet of job etl.summary: "
                               "parsed with sqlglot's generic dialect"]
    assert ("shop.orders", "amount", "DIRECT/AGGREGATION") in edges_into(db, "mart.summary", "total")
    # A producer's other name for a dialect sqlglot knows is no warning.
    event = sql_job("r2", time="2026-11-21T02:00:00Z")
    event["job"]["facets"]["sql"]["dialect"] = "postgresql"
    report = ingest([write_ndjson(tmp_path / "f.ndjson", [event])], str(tmp_path / "p.duckdb"))
    assert report.warnings == []


# The namespace schemes erase planned SQL for before dialects had one home, and their dialect.
ERASE_SCHEMES = {
    "postgres": "postgres", "postgresql": "postgres", "redshift": "redshift", "mysql": "mysql",
    "mariadb": "mysql", "bigquery": "bigquery", "snowflake": "snowflake", "trino": "trino",
    "presto": "presto", "awsathena": "athena", "athena": "athena", "hive": "hive", "spark": "spark",
    "databricks": "databricks", "sqlserver": "tsql", "mssql": "tsql", "azuresql": "tsql",
    "oracle": "oracle", "teradata": "teradata", "duckdb": "duckdb", "sqlite": "sqlite",
    "clickhouse": "clickhouse", "db2": "postgres", "dremio": "dremio", "doris": "doris",
}
# dbt adapter types the manifest reader mapped where sqlglot's name differs.
DBT_ADAPTERS = {"sqlserver": "tsql", "fabric": "tsql", "synapse": "tsql"}


def test_one_table_of_dialect_names():
    import subprocess
    import sys

    from lineagectl.common.dialects import UnknownDialect, dialect_named, dialect_of_namespace

    for scheme, dialect in ERASE_SCHEMES.items():
        for namespace in (scheme, f"{scheme}://host:5432", f"{scheme.upper()}://db"):
            assert dialect_of_namespace(namespace) == dialect, namespace
        assert dialect_named(scheme) == dialect
    for namespace in ("s3://bucket", "kafka://broker:9092", "file", "gs://b", "hdfs://nn", "dbt", ""):
        assert dialect_of_namespace(namespace) is None, namespace
    for adapter, dialect in DBT_ADAPTERS.items():
        assert dialect_named(adapter) == dialect
    assert dialect_named("TSQL") == "tsql" and dialect_named("materialize") == "materialize"
    for name in ("nosuchsql", "", "  "):
        with pytest.raises(UnknownDialect) as raised:
            dialect_named(name)
        assert isinstance(raised.value, ValueError) and raised.value.name == name
    # The table costs nothing to import: sqlglot (and DuckDB) load when a name is checked.
    loaded = subprocess.run([sys.executable, "-c", "import sys, lineagectl.common.dialects; "
                             "print(sorted(m for m in ('sqlglot', 'duckdb') if m in sys.modules))"],
                            capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_insert_without_a_column_list_matches_the_target_schema_by_position(tmp_path):
    """``INSERT INTO t SELECT …`` writes the select list into t's columns in t's schema order
    (here not alphabetical: user_id before mrr_total)."""
    event = run_event("r-insert", job="etl.mrr", time="2026-11-20T02:00:00Z",
                      job_facets={"sql": {"_producer": "t", "_schemaURL": "t", "dialect": "postgres",
                                          "query": "INSERT INTO mart.mrr SELECT user_id, sum(amount) "
                                                   "FROM shop.payments GROUP BY user_id"}},
                      inputs=[("pg", "shop.payments", schema("user_id", "amount"))],
                      outputs=[("pg", "mart.mrr", schema("user_id", "mrr_total"))])
    db = str(tmp_path / "i.duckdb")
    assert ingest([write_ndjson(tmp_path / "i.ndjson", [event])], db).warnings == []
    assert ("shop.payments", "amount", "DIRECT/AGGREGATION") in edges_into(db, "mart.mrr", "mrr_total")
    assert ("shop.payments", "user_id", "DIRECT/IDENTITY") in edges_into(db, "mart.mrr", "user_id")
    assert ("shop.payments", "user_id", "DIRECT/IDENTITY") not in edges_into(db, "mart.mrr", "mrr_total")
