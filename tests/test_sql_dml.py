"""Column lineage of MERGE and UPDATE (sources/sql_queries.py): SET and INSERT expressions map to the
target's columns; ON is INDIRECT JOIN, an UPDATE's WHERE and a NOT MATCHED clause's condition
INDIRECT FILTER, a MATCHED … UPDATE clause's condition INDIRECT CONDITIONAL on the columns it sets."""

from __future__ import annotations

import json

from lineagectl import api
from lineagectl.sources.sql_lineage import column_lineage


def _fields(edges) -> set[tuple]:
    return {(e.column, e.source.table, e.source.column, e.type, e.subtype) for e in edges if e.column}


def _dataset(edges) -> set[tuple]:
    return {(e.source.table, e.source.column, e.subtype) for e in edges if e.column is None}


UPSERT = """
MERGE INTO crm.contacts AS t
USING staging.contact_changes AS s ON t.contact_id = s.contact_id
WHEN MATCHED AND s.change_type = 'update' THEN UPDATE SET email = lower(s.email), name = s.name
WHEN NOT MATCHED AND s.change_type <> 'delete' THEN
  INSERT (contact_id, email, name, created_at) VALUES (s.contact_id, s.email, s.name, current_timestamp)
"""


def test_merge_maps_set_and_insert_expressions_to_target_columns():
    edges = column_lineage(UPSERT, "postgres")
    fields = _fields(edges)
    assert ("email", "staging.contact_changes", "email", "DIRECT", "TRANSFORMATION") in fields  # lower(s.email)
    assert ("email", "staging.contact_changes", "email", "DIRECT", "IDENTITY") in fields  # the INSERT copies it
    assert ("name", "staging.contact_changes", "name", "DIRECT", "IDENTITY") in fields
    assert ("contact_id", "staging.contact_changes", "contact_id", "DIRECT", "IDENTITY") in fields
    # The MATCHED clause's condition decides which value email and name take: CONDITIONAL on them.
    assert ("email", "staging.contact_changes", "change_type", "INDIRECT", "CONDITIONAL") in fields
    assert ("name", "staging.contact_changes", "change_type", "INDIRECT", "CONDITIONAL") in fields
    # created_at is a literal: no source column, no edge; no column is read from the target itself.
    assert not [f for f in fields if f[0] == "created_at" or f[1] == "crm.contacts"]
    assert _dataset(edges) == {("crm.contacts", "contact_id", "JOIN"), ("staging.contact_changes", "contact_id", "JOIN"),
                               ("staging.contact_changes", "change_type", "FILTER")}  # which rows get inserted


def test_merge_using_a_subquery_reads_through_it_without_a_schema():
    sql = """MERGE INTO dw.daily_totals d
    USING (SELECT day, store_id, SUM(amount) AS total FROM raw.sales GROUP BY day, store_id) AS agg
      ON d.day = agg.day AND d.store_id = agg.store_id
    WHEN MATCHED THEN UPDATE SET total = agg.total
    WHEN NOT MATCHED THEN INSERT (day, store_id, total) VALUES (agg.day, agg.store_id, agg.total)"""
    edges = column_lineage(sql)
    assert _fields(edges) == {("total", "raw.sales", "amount", "DIRECT", "AGGREGATION"),
                              ("day", "raw.sales", "day", "DIRECT", "IDENTITY"),
                              ("store_id", "raw.sales", "store_id", "DIRECT", "IDENTITY")}
    dataset = _dataset(edges)
    assert {("raw.sales", "day", "JOIN"), ("dw.daily_totals", "store_id", "JOIN"),
            ("raw.sales", "store_id", "GROUP_BY")} <= dataset


def test_merge_star_clauses_read_every_source_column_from_the_schema():
    sql = """MERGE INTO lake.users t USING lake.users_delta s ON t.id = s.id
    WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"""
    schema = {"lake": {"users_delta": {"id": "bigint", "plan": "string"}, "users": {"id": "bigint", "plan": "string"}}}
    assert _fields(column_lineage(sql, "databricks", schema)) == {
        ("id", "lake.users_delta", "id", "DIRECT", "IDENTITY"), ("plan", "lake.users_delta", "plan", "DIRECT", "IDENTITY")}


def test_update_from_postgres_where_is_a_filter():
    sql = """UPDATE billing.invoices AS i SET customer_name = c.full_name, currency = upper(c.currency)
    FROM crm.customers AS c WHERE c.id = i.customer_id AND c.active"""
    edges = column_lineage(sql, "postgres")
    assert _fields(edges) == {("customer_name", "crm.customers", "full_name", "DIRECT", "IDENTITY"),
                              ("currency", "crm.customers", "currency", "DIRECT", "TRANSFORMATION")}
    assert _dataset(edges) == {("crm.customers", "id", "FILTER"), ("crm.customers", "active", "FILTER"),
                               ("billing.invoices", "customer_id", "FILTER")}


def test_update_of_an_alias_tsql_and_joined_from_snowflake():
    tsql = "UPDATE o SET o.region = r.name FROM sales.orders o JOIN ref.regions r ON o.region_id = r.id"
    edges = column_lineage(tsql, "tsql")
    assert _fields(edges) == {("region", "ref.regions", "name", "DIRECT", "IDENTITY")}
    assert _dataset(edges) == {("sales.orders", "region_id", "JOIN"), ("ref.regions", "id", "JOIN")}
    snowflake = """UPDATE sales.orders SET label = p.code || '-' || s.code
    FROM ref.products p JOIN ref.suppliers s ON p.supplier_id = s.id WHERE orders.product_id = p.id"""
    # Snowflake stores unquoted names upper case: so does its lineage.
    assert _fields(column_lineage(snowflake, "snowflake")) == {
        ("LABEL", "REF.PRODUCTS", "CODE", "DIRECT", "TRANSFORMATION"),
        ("LABEL", "REF.SUPPLIERS", "CODE", "DIRECT", "TRANSFORMATION")}


def test_update_with_a_correlated_subselect_and_of_itself():
    sql = """UPDATE accounts SET owner_name = (SELECT name FROM staff WHERE staff.id = accounts.owner_id)"""
    edges = column_lineage(sql, "postgres")
    assert _fields(edges) == {("owner_name", "staff", "name", "DIRECT", "IDENTITY")}
    assert _dataset(edges) == {("staff", "id", "FILTER"), ("accounts", "owner_id", "FILTER")}  # correlated
    edges = column_lineage("UPDATE stock SET qty = qty - 1 WHERE sku = 'x'")
    assert _fields(edges) == {("qty", "stock", "qty", "DIRECT", "TRANSFORMATION")}
    assert _dataset(edges) == {("stock", "sku", "FILTER")}


def test_update_reads_through_its_ctes():
    sql = """WITH latest AS (SELECT id, max(seen) AS seen FROM raw.pings GROUP BY id)
    UPDATE app.devices d SET last_seen = latest.seen FROM latest WHERE latest.id = d.id"""
    edges = column_lineage(sql, "postgres")
    assert _fields(edges) == {("last_seen", "raw.pings", "seen", "DIRECT", "AGGREGATION")}
    assert ("raw.pings", "id", "FILTER") in _dataset(edges)


def test_one_unplaced_column_costs_only_itself_and_is_reported():
    sql = """MERGE INTO t USING s ON t.k = s.k
    WHEN MATCHED THEN UPDATE SET v = w
    WHEN NOT MATCHED THEN INSERT (k, v) VALUES (s.k, s.v)"""
    (statement,) = api.sql_lineage(sql).payload["statements"]
    assert {(c["column"], c["source"], c["source_column"]) for c in statement["columns"]} == {("k", "s", "k"),
                                                                                                ("v", "s", "v")}
    assert any("column w" in error and "no schema" in error for error in statement["errors"]), statement["errors"]


def test_api_and_command_show_merge_and_update_columns(cli, tmp_path):
    path = tmp_path / "upsert.sql"
    path.write_text(UPSERT + ";\nUPDATE crm.contacts SET name = trim(name) WHERE name LIKE ' %';\n", encoding="utf-8")
    result = cli("sql", path, "--dialect", "snowflake", "-f", "json")
    assert result.exit_code == 0, result.stderr
    merge, update = json.loads(result.stdout)["statements"]
    # Tables as written in the SQL (as the statement's sources), columns as Snowflake stores them.
    assert {"target": "crm.contacts", "column": "NAME", "source": "staging.contact_changes", "source_column": "NAME",
            "type": "DIRECT", "subtype": "IDENTITY", "masking": False} in merge["columns"]
    assert {"target": "crm.contacts", "source": "crm.contacts", "source_column": "CONTACT_ID", "type": "INDIRECT",
            "subtype": "JOIN", "masking": False} in merge["dataset"]
    assert [(c["source"], c["column"], c["source_column"], c["subtype"]) for c in update["columns"]] == [
        ("crm.contacts", "NAME", "NAME", "TRANSFORMATION")]
    assert update["errors"] == [] and merge["errors"] == []
    table = cli("sql", path, "--dialect", "snowflake")
    assert table.exit_code == 0 and "INDIRECT/CONDITIONAL" in table.stdout and "CHANGE_TYPE" in table.stdout


def test_a_job_sending_a_merge_as_its_sql_gets_its_column_lineage(tmp_path):
    """An OpenLineage job whose only lineage is its MERGE (a `sql` facet, no columnLineage): the
    derived lineage (sources/ingest/sqlcll.py) now carries the MERGE's columns."""
    from conftest import edges_into, run_event, write_ndjson

    merge = ("MERGE INTO mart.customers t USING shop.customers s ON t.id = s.id "
             "WHEN MATCHED THEN UPDATE SET email = lower(s.email) "
             "WHEN NOT MATCHED THEN INSERT (id, email) VALUES (s.id, s.email)")
    fields = {"schema": {"_producer": "t", "_schemaURL": "t",
                         "fields": [{"name": "id", "type": "INT"}, {"name": "email", "type": "TEXT"}]}}
    event = run_event("r1", job="etl.upsert_customers",
                      job_facets={"sql": {"_producer": "t", "_schemaURL": "t", "query": merge, "dialect": "postgres"}},
                      inputs=[("pg", "shop.customers", fields)], outputs=[("pg", "mart.customers", fields)])
    db = str(tmp_path / "m.duckdb")
    assert api.ingest([write_ndjson(tmp_path / "e.ndjson", [event])], db).warnings == []
    assert edges_into(db, "mart.customers", "email") == {("shop.customers", "email", "DIRECT/TRANSFORMATION"),
                                                         ("shop.customers", "email", "DIRECT/IDENTITY"),
                                                         ("shop.customers", "id", "INDIRECT/JOIN")}
    assert ("shop.customers", "id", "DIRECT/IDENTITY") in edges_into(db, "mart.customers", "id")
