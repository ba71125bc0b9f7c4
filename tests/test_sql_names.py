"""Identifier case per dialect (sources/sql_names.py): one column per stored name, in SQL
lineage and in a dbt project read without a catalog."""

from __future__ import annotations

import duckdb

from lineagectl import api


def test_stored_names_follow_each_dialect():
    from lineagectl.sources.sql_names import schema_key, stored_name

    assert [stored_name("order_id", d) for d in ("snowflake", "postgres", "bigquery", None)] == [
        "ORDER_ID", "order_id", "order_id", "order_id"]
    assert stored_name("OrderId", "postgres") == "orderid" and stored_name("OrderId", "postgres", quoted=True) == "OrderId"
    assert stored_name("order date", "snowflake") == "order date"  # only ever written quoted
    # A stored name sqlglot would fold is given to its schema quoted, so it keeps its case.
    assert schema_key("BillingMonth", "postgres") == '"BillingMonth"'
    assert schema_key("ORDER_ID", "snowflake") == "ORDER_ID" and schema_key("order_id", "snowflake") == '"order_id"'
    assert schema_key("BillingMonth", None) == "BillingMonth"



def test_a_snowflake_dbt_project_without_catalog_has_one_column_per_name(corpus, tmp_path):
    """Its docs say order_id, its SQL's lineage ORDER_ID (Snowflake folds unquoted names upper case):
    one column each, named as Snowflake stores them, the dbt tests on it included."""
    db = str(tmp_path / "lineage.duckdb")
    api.ingest([str(corpus / "dbt" / "colibri_jaffle.v12.dbt1.10.snowflake.manifest.json")], db=db)
    con = duckdb.connect(db, read_only=True)
    try:
        twins = con.execute("""SELECT d.name, list(c.column_name) FROM columns c JOIN dataset_names d USING (dataset_id)
                               GROUP BY d.name, lower(c.column_name) HAVING count(*) > 1""").fetchall()
        names = {r[0] for r in con.execute("""SELECT c.column_name FROM columns c JOIN dataset_names d USING (dataset_id)
                                               WHERE d.name = 'TEST_DB.PUBLIC.order_items'""").fetchall()}
    finally:
        con.close()
    assert twins == []
    assert {"ORDER_ID", "ORDER_ITEM_ID"} <= names and "order_id" not in names


def test_quoted_and_unquoted_references_follow_the_dialect():
    """A schema column TotalPrice: Postgres folds it and "totalprice" to one name; Snowflake folds it
    upper case, so a quoted lower-case reference is another column (read as the table's own, costing
    nothing else) while an unquoted one is it."""
    schema = {"shop.orders": {"TotalPrice": "numeric", "id": "int"}}

    def read(sql: str, dialect: str) -> set[tuple]:
        (statement,) = api.sql_lineage(sql, dialect=dialect, schema=schema).payload["statements"]
        assert statement["errors"] == []
        return {(c["column"], c["source_column"]) for c in statement["columns"]}

    quoted = 'SELECT o.id, SUM(o."totalprice") AS total FROM shop.orders o GROUP BY o.id'
    assert read(quoted, "postgres") == {("id", "id"), ("total", "totalprice")}
    assert read(quoted, "snowflake") == {("ID", "ID"), ("TOTAL", "totalprice")}
    assert read("SELECT SUM(o.totalprice) AS total FROM shop.orders o", "snowflake") == {("TOTAL", "TOTALPRICE")}
    assert read("SELECT * FROM shop.orders", "snowflake") == {("TOTALPRICE", "TOTALPRICE"), ("ID", "ID")}
