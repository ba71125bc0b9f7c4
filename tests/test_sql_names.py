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


def test_spellings_map_sqlglot_names_back_to_stored_ones():
    from lineagectl.sources.sql_names import spellings

    # BigQuery, T-SQL, DuckDB compare even quoted names without case; sqlglot names them lower case.
    assert spellings(["TAX_PAID_CENTS", "order_id", "My Col"], "bigquery") == {
        "tax_paid_cents": "TAX_PAID_CENTS", "my col": "My Col"}
    assert spellings(["TAX_PAID_CENTS"], "tsql") == {"tax_paid_cents": "TAX_PAID_CENTS"}
    # Postgres and Snowflake keep a quoted name's case: sqlglot reports it as stored.
    assert spellings(["BillingMonth", "order_id"], "postgres") == {} == spellings(["order_id"], "snowflake")
    assert spellings(["TAX"], None) == {}


def _twins(db: str) -> tuple[list, list]:
    """Columns stored under two spellings, and the spellings of stg_orders.TAX_PAID_CENTS in lineage."""
    con = duckdb.connect(db, read_only=True)
    try:
        twins = con.execute("""SELECT d.name, list(c.column_name) FROM columns c JOIN dataset_names d USING (dataset_id)
                               GROUP BY d.name, lower(c.column_name) HAVING count(*) > 1""").fetchall()
        # Edges into or out of stg_orders.TAX_PAID_CENTS, however spelled.
        edges = con.execute("""SELECT DISTINCT CASE WHEN d.name LIKE '%stg_orders' THEN e.column_name ELSE e.src_column END
                               FROM column_edges e JOIN dataset_names d USING (dataset_id)
                               JOIN dataset_names s ON s.dataset_id = e.src_dataset_id
                               WHERE (d.name LIKE '%stg_orders' AND lower(e.column_name) = 'tax_paid_cents')
                                  OR (s.name LIKE '%stg_orders' AND lower(e.src_column) = 'tax_paid_cents')""").fetchall()
    finally:
        con.close()
    return twins, edges


def test_case_insensitive_dbt_projects_keep_the_catalogs_spelling(corpus, tmp_path):
    """colibri's stg_orders writes ``tax_paid as `TAX_PAID_CENTS` `` (BigQuery; ``[TAX_PAID_CENTS]`` and
    the like on T-SQL, DuckDB, Databricks): the catalog stores TAX_PAID_CENTS, sqlglot's lineage says
    tax_paid_cents. One column each, named as the catalog names it (10 doubled before, 0 after)."""
    folder = corpus / "dbt"
    for adapter in ("bigquery", "sqlserver", "duckdb", "databricks"):
        db = str(tmp_path / f"{adapter}.duckdb")
        stem = f"colibri_jaffle.v12.dbt1.10.{adapter}"
        api.ingest([str(folder / f"{stem}.manifest.json")], db=db, catalog=str(folder / f"{stem}.catalog.json"))
        twins, edges = _twins(db)
        assert twins == [], adapter
        assert edges == [("TAX_PAID_CENTS",)], adapter


def test_a_crafted_tsql_model_reads_and_writes_columns_as_its_catalog_spells_them(tmp_path):
    """A T-SQL model aliasing ``[Amount_USD]`` from a source whose catalog says ``Amount``: the
    model's column and its source column keep their catalog spellings in the lineage."""
    import json

    from lineagectl.sources.dbt.manifest import manifest_events

    def node(uid: str, kind: str, name: str, sql: str | None = None) -> dict:
        found = {"unique_id": uid, "resource_type": kind, "name": name, "database": "shop", "schema": "dbo",
                 "package_name": "shop", "columns": {}, "depends_on": {"nodes": ["source.shop.raw.payments"]}}
        if kind == "source":
            found.update(identifier=name, depends_on={"nodes": []})
        else:
            found.update(alias=name, compiled_code=sql, config={"materialized": "table"})
        return found

    sql = "select p.amount as [Amount_USD], upper(p.Payment_Method) as method from shop.dbo.payments p"
    manifest = {"metadata": {"adapter_type": "sqlserver", "project_name": "shop"},
                "nodes": {"model.shop.paid": node("model.shop.paid", "model", "paid", sql)},
                "sources": {"source.shop.raw.payments": node("source.shop.raw.payments", "source", "payments")}}

    def columns(*names: str) -> dict:
        return {"columns": {n: {"name": n, "type": "int", "index": i} for i, n in enumerate(names, 1)}}

    catalog = {"nodes": {"model.shop.paid": columns("Amount_USD", "method")},
               "sources": {"source.shop.raw.payments": columns("Amount", "Payment_Method")}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    events = list(manifest_events(str(tmp_path / "manifest.json"), catalog=str(tmp_path / "catalog.json")))
    (facet,) = [e["dataset"]["facets"]["columnLineage"] for e in events
                if "columnLineage" in e.get("dataset", {}).get("facets", {})]
    assert {(column, source["field"]) for column, spec in facet["fields"].items()
            for source in spec["inputFields"]} == {("Amount_USD", "Amount"), ("method", "Payment_Method")}
