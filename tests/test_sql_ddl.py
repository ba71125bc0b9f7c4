"""DDL in a ``sql`` facet is recognised for what it is (issue 13, item 3): no column lineage and
no "not a SELECT" warning, from the library and on the command line alike."""

from __future__ import annotations

import pytest

from conftest import edges_into, run_event, write_ndjson
from lineagectl.api import ingest
from lineagectl.sources.sql_lineage import SqlLineageError, column_lineage

DDL = [
    "DROP TABLE mart.summary",
    "DROP TABLE IF EXISTS mart.summary CASCADE",
    "DROP VIEW mart.summary",
    "ALTER TABLE mart.summary RENAME TO mart.summary_old",
    "ALTER TABLE mart.summary RENAME COLUMN total TO amount",
    "ALTER TABLE mart.summary ADD COLUMN note TEXT",
    "TRUNCATE TABLE mart.summary",
    "TRUNCATE mart.summary",
    "CREATE VIEW mart.summary (customer_id, total)",
    "CREATE TABLE mart.summary (customer_id INT, total INT)",
    "CREATE TABLE mart.summary LIKE shop.orders",
    "CREATE SCHEMA mart",
    "CREATE INDEX summary_idx ON mart.summary (customer_id)",
    "COMMENT ON TABLE mart.summary IS 'daily'",
    "GRANT SELECT ON mart.summary TO analyst",
    "VACUUM mart.summary",  # sqlglot reads it as a Command
    "OPTIMIZE mart.summary ZORDER BY (customer_id)",
    "ANALYZE TABLE mart.summary COMPUTE STATISTICS",
    "INSERT INTO mart.summary VALUES (1, 2)",  # literals: no column is read
]


def ddl_job(run_id, query, dialect="spark"):
    return run_event(run_id, job="etl.summary",
                     job_facets={"sql": {"_producer": "t", "_schemaURL": "t", "query": query, "dialect": dialect}},
                     inputs=[("pg", "shop.orders")], outputs=[("pg", "mart.summary")])


@pytest.mark.parametrize("query", DDL)
def test_ddl_has_no_column_lineage(query):
    assert column_lineage(query, "spark") == []


@pytest.mark.parametrize("dialect", [None, "postgres", "snowflake", "bigquery", "databricks"])
def test_the_ddl_statements_of_each_dialect(dialect):
    for query in ("DROP TABLE t", "ALTER TABLE t RENAME TO u", "TRUNCATE TABLE t", "CREATE VIEW v (a)"):
        assert column_lineage(query, dialect) == [], (query, dialect)


def test_ddl_in_a_sql_facet_is_no_warning(tmp_path, cli):
    db = str(tmp_path / "ddl.duckdb")
    path = write_ndjson(tmp_path / "e.ndjson", [ddl_job(f"r{i}", q) for i, q in enumerate(DDL)])
    report = ingest([path], db)
    assert report.events_new == len(DDL) and report.warnings == []
    assert edges_into(db, "mart.summary", "total") == set()
    # On the command line: nothing on stderr but the summary.
    result = cli("--db", tmp_path / "cli.duckdb", "ingest", path)
    assert result.exit_code == 0 and "Warning" not in result.stderr and "SELECT" not in result.stderr


def test_a_script_reads_its_one_data_statement(tmp_path):
    script = ("DROP TABLE IF EXISTS mart.summary; "
              "CREATE TABLE mart.summary AS SELECT o.customer_id, sum(o.amount) AS total FROM shop.orders o "
              "GROUP BY o.customer_id;")
    edges = column_lineage(script, "postgres")
    assert {(e.column, e.source.table, e.source.column, e.subtype) for e in edges if e.column} == {
        ("customer_id", "shop.orders", "customer_id", "IDENTITY"), ("total", "shop.orders", "amount", "AGGREGATION")}
    db = str(tmp_path / "s.duckdb")
    report = ingest([write_ndjson(tmp_path / "e.ndjson", [ddl_job("r1", script, "postgres")])], db)
    assert report.warnings == []
    assert ("shop.orders", "amount", "DIRECT/AGGREGATION") in edges_into(db, "mart.summary", "total")


def test_what_is_not_ddl_still_says_why():
    with pytest.raises(SqlLineageError):
        column_lineage("SELEC oops FROM (")
    # Two statements that both move data: which one the output's lineage is, the SQL does not say.
    with pytest.raises(SqlLineageError, match="statements"):
        column_lineage("INSERT INTO a SELECT x FROM s; INSERT INTO b SELECT y FROM s")
