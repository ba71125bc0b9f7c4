"""A SQL script as a whole (sources/sql_script.py): composed through the tables it writes, then reads,
temporary or not, as sqllineage reads a script; each statement's own answer stays as written."""

from __future__ import annotations

from lineagectl import api

NIGHTLY = """
CREATE TABLE stage.paid AS
SELECT o.id, o.customer_id, o.amount * 100 AS cents FROM shop.orders o WHERE o.status = 'paid';
CREATE TABLE stage.customers AS SELECT * FROM crm.customers;
INSERT INTO mart.revenue
SELECT c.*, SUM(p.cents) AS total_cents
FROM stage.customers c JOIN stage.paid p ON p.customer_id = c.id
GROUP BY c.id, c.country;
"""
SCHEMA = {"shop.orders": {"id": "int", "customer_id": "int", "amount": "numeric", "status": "text"},
          "crm.customers": {"id": "int", "country": "text"}}


def test_a_script_composes_through_the_tables_it_writes_then_reads():
    payload = api.sql_lineage(NIGHTLY, dialect="postgres", schema=SCHEMA).payload
    script = payload["script"]
    assert script["targets"] == ["mart.revenue"]
    assert script["sources"] == ["shop.orders", "crm.customers"]
    columns = {(c["target"], c["column"], c["source"], c["source_column"], c["type"], c["subtype"])
               for c in script["columns"]}
    assert columns == {("mart.revenue", "total_cents", "shop.orders", "amount", "DIRECT", "AGGREGATION"),
                       ("mart.revenue", "id", "crm.customers", "id", "DIRECT", "IDENTITY"),
                       ("mart.revenue", "country", "crm.customers", "country", "DIRECT", "IDENTITY")}
    dataset = {(d["source"], d["source_column"], d["subtype"]) for d in script["dataset"]}
    # The join of the last statement, traced to the base tables, and the filter that built stage.paid.
    assert {("shop.orders", "customer_id", "JOIN"), ("crm.customers", "id", "JOIN"),
            ("shop.orders", "status", "FILTER"), ("crm.customers", "id", "GROUP_BY")} <= dataset
    assert all(d["target"] == "mart.revenue" for d in script["dataset"])


def test_each_statement_still_answers_as_written_with_earlier_tables_known():
    _, _, insert = api.sql_lineage(NIGHTLY, dialect="postgres", schema=SCHEMA).payload["statements"]
    assert insert["sources"] == ["stage.customers", "stage.paid"]
    # stage.customers was written by the script: its columns are known, so c.* expands.
    assert {(c["column"], c["source"]) for c in insert["columns"]} == {
        ("id", "stage.customers"), ("country", "stage.customers"), ("total_cents", "stage.paid")}
    assert insert["errors"] == []


def test_an_update_changes_a_table_in_place_and_is_not_read_through():
    sql = """UPDATE crm.customers SET country = upper(country);
    INSERT INTO mart.by_country SELECT country, count(*) AS n FROM crm.customers GROUP BY country;"""
    script = api.sql_lineage(sql, dialect="postgres").payload["script"]
    assert script["targets"] == ["crm.customers", "mart.by_country"]
    assert {(c["column"], c["source"], c["source_column"]) for c in script["columns"]
            if c["target"] == "mart.by_country"} == {("country", "crm.customers", "country")}
