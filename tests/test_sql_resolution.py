"""How sql_lineage places columns: CTEs written before an INSERT are read through, and a query
over tables without a schema (subqueries, correlated subqueries, same-named aliases) keeps its lineage."""

from __future__ import annotations

from lineagectl import api
from lineagectl.sources.sql_lineage import column_lineage


def _fields(edges) -> set[tuple]:
    return {(e.column, e.source.table, e.source.column, e.type, e.subtype) for e in edges if e.column}


def _dataset(edges) -> set[tuple]:
    return {(e.source.table, e.source.column, e.subtype) for e in edges if e.column is None}


def test_ctes_before_an_insert_are_read_through_never_named_as_sources():
    sql = """WITH paid AS (SELECT customer_id, amount FROM shop.payments WHERE status = 'paid'),
         per_customer AS (SELECT customer_id, SUM(amount) AS total FROM Paid GROUP BY customer_id)
    INSERT INTO mart.customer_value (customer_id, lifetime_total)
    SELECT pc.customer_id, pc.total FROM PER_CUSTOMER pc"""
    edges = column_lineage(sql)
    assert _fields(edges) == {("customer_id", "shop.payments", "customer_id", "DIRECT", "IDENTITY"),
                              ("lifetime_total", "shop.payments", "amount", "DIRECT", "AGGREGATION")}
    assert _dataset(edges) == {("shop.payments", "status", "FILTER"), ("shop.payments", "customer_id", "GROUP_BY")}
    # INSERT … WITH (the CTE after the INSERT, as sqlglot prints it) reads the same.
    insert_with = """INSERT INTO mart.customer_value (customer_id, lifetime_total)
    WITH paid AS (SELECT customer_id, amount FROM shop.payments WHERE status = 'paid'),
         per_customer AS (SELECT customer_id, SUM(amount) AS total FROM paid GROUP BY customer_id)
    SELECT pc.customer_id, pc.total FROM per_customer pc"""
    assert column_lineage(insert_with) == edges


def test_cte_before_an_insert_of_a_union_reads_every_branch():
    sql = """WITH eu AS (SELECT order_id FROM sales_eu.orders), us AS (SELECT order_id FROM sales_us.orders)
    INSERT INTO dw.all_orders SELECT order_id FROM eu UNION ALL SELECT order_id FROM us"""
    assert _fields(column_lineage(sql)) == {("order_id", "sales_eu.orders", "order_id", "DIRECT", "IDENTITY"),
                                            ("order_id", "sales_us.orders", "order_id", "DIRECT", "IDENTITY")}
    (statement,) = api.sql_lineage(sql).payload["statements"]
    assert statement["sources"] == ["sales_eu.orders", "sales_us.orders"]
    assert {c["source"] for c in statement["columns"]} == {"sales_eu.orders", "sales_us.orders"}


def test_scalar_subqueries_without_a_schema_read_their_own_table():
    sql = """INSERT INTO report.flags
    SELECT CASE WHEN (SELECT max(score) FROM ml.scores) > 0.5 AND region = 'eu'
                THEN (SELECT avg(score) FROM ml.scores) ELSE 0 END AS flag
    FROM crm.accounts"""
    fields = _fields(column_lineage(sql))
    assert ("flag", "ml.scores", "score", "DIRECT", "AGGREGATION") in fields
    assert ("flag", "crm.accounts", "region", "INDIRECT", "CONDITIONAL") in fields
    # The subquery in the condition decides the value: CONDITIONAL, as a column there would.
    assert ("flag", "ml.scores", "score", "INDIRECT", "CONDITIONAL") in fields


def test_a_correlated_subquery_reads_its_inner_table_first():
    sql = """SELECT a.id, (SELECT name FROM hr.staff WHERE staff.id = a.owner_id) AS owner
    FROM crm.accounts a"""
    fields = _fields(column_lineage(sql, "postgres"))
    assert ("owner", "hr.staff", "name", "DIRECT", "IDENTITY") in fields  # a scalar subquery copies its value
    assert ("id", "crm.accounts", "id", "DIRECT", "IDENTITY") in fields


def test_a_source_column_named_like_an_earlier_alias_is_the_source_column():
    sql = """CREATE TABLE clean.readings AS
    SELECT coalesce(value, 0) AS value, if(value IS NULL, 1, 0) AS was_missing FROM raw.readings"""
    fields = _fields(column_lineage(sql, "hive"))
    assert fields == {("value", "raw.readings", "value", "DIRECT", "TRANSFORMATION"),
                      ("was_missing", "raw.readings", "value", "INDIRECT", "CONDITIONAL")}


def test_group_by_a_quoted_output_alias_without_a_schema():
    sql = """SELECT date_trunc('month', paid_at) AS "BillingMonth", customer_id, sum(amount) AS "amount"
    FROM billing.payments GROUP BY "BillingMonth", customer_id"""
    edges = column_lineage(sql, "postgres")
    assert ("BillingMonth", "billing.payments", "paid_at", "DIRECT", "TRANSFORMATION") in _fields(edges)
    assert _dataset(edges) == {("billing.payments", "paid_at", "GROUP_BY"), ("billing.payments", "customer_id", "GROUP_BY")}


def test_unaliased_subqueries_joined_using_a_column():
    sql = """INSERT INTO t3 SELECT f1 FROM (SELECT f1 FROM t1) LEFT JOIN (SELECT f1 FROM t2) USING (f1)"""
    assert {f[:3] for f in _fields(column_lineage(sql))} == {("f1", "t1", "f1"), ("f1", "t2", "f1")}


def test_a_catalog_keeps_the_case_the_warehouse_stores(tmp_path):
    """A dbt catalog.json lists stored names: Postgres's "BillingMonth" (created quoted) expands a
    star with its case, and a quoted reference to it resolves."""
    import json

    catalog = {"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json"},
               "nodes": {"model.p.by_month": {"metadata": {"database": "db", "schema": "mart", "name": "by_month"},
                                              "columns": {"BillingMonth": {"name": "BillingMonth", "type": "date"},
                                                          "amount": {"name": "amount", "type": "numeric"}}}},
               "sources": {}}
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog), encoding="utf-8")
    sql = """CREATE TABLE rep.copy AS SELECT * FROM db.mart.by_month;
    CREATE TABLE rep.months AS SELECT "BillingMonth" AS month, SUM(amount) AS total FROM db.mart.by_month
    GROUP BY "BillingMonth";"""
    star, months = api.sql_lineage(sql, dialect="postgres", schema=str(path)).payload["statements"]
    assert sorted(c["column"] for c in star["columns"]) == ["BillingMonth", "amount"]
    assert {(c["column"], c["source_column"]) for c in months["columns"]} == {("month", "BillingMonth"),
                                                                              ("total", "amount")}
    assert months["errors"] == []


def test_a_bigquery_partition_decorator_reads_its_table_with_its_schema():
    sql = "INSERT INTO `proj.mart.daily` SELECT * FROM `proj.raw.events$20260101`"
    schema = {"proj": {"raw": {"events": {"user_id": "STRING", "kind": "STRING"}}}}
    (statement,) = api.sql_lineage(sql, dialect="bigquery", schema=schema).payload["statements"]
    assert statement["sources"] == ["proj.raw.events"]
    assert {(c["column"], c["source"], c["source_column"]) for c in statement["columns"]} == {
        ("user_id", "proj.raw.events", "user_id"), ("kind", "proj.raw.events", "kind")}


def test_a_subquery_without_from_reads_its_outer_querys_columns():
    """``(SELECT a.x + 1)`` has no FROM: its column is the outer query's, computed (TRANSFORMATION);
    also unqualified, copied as is (IDENTITY), through the outer query's CTE, or two levels down."""
    schema = {"a": {"x": "int", "k": "int"}, "b": {"z": "int", "k": "int"}, "t": {"v": "int"}}
    for given in (schema, None):
        assert _fields(column_lineage("SELECT (SELECT a.x + 1) AS y FROM a", schema=given)) == {
            ("y", "a", "x", "DIRECT", "TRANSFORMATION")}
        assert _fields(column_lineage("SELECT (SELECT x) AS y FROM a", schema=given)) == {
            ("y", "a", "x", "DIRECT", "IDENTITY")}
        assert _fields(column_lineage("SELECT (SELECT (SELECT q.x * 2)) AS y FROM a AS q", schema=given)) == {
            ("y", "a", "x", "DIRECT", "TRANSFORMATION")}
        through_cte = "WITH a AS (SELECT SUM(v) AS x FROM t) SELECT (SELECT a.x + 1) AS y FROM a"
        assert _fields(column_lineage(through_cte, schema=given)) == {("y", "t", "v", "DIRECT", "AGGREGATION")}
        # A correlated subquery with a FROM: its own table's column and the outer one's both flow.
        mixed = "SELECT (SELECT MAX(b.z) + a.x FROM b WHERE b.k = a.k) AS y FROM a"
        edges = column_lineage(mixed, schema=given)
        assert _fields(edges) == {("y", "a", "x", "DIRECT", "TRANSFORMATION"), ("y", "b", "z", "DIRECT", "AGGREGATION")}
        assert _dataset(edges) == {("a", "k", "FILTER"), ("b", "k", "FILTER")}


def test_a_lateral_subquerys_columns_are_its_outputs_not_every_column_it_mentions():
    """sqlglot takes every column a LATERAL subquery mentions as each of its columns' sources; its
    WHERE only filters (dataset-level FILTER), and an outer column its SELECT reads flows."""
    sql = """SELECT t1.id, t2.value, t2.labelled FROM my_table1 t1,
             LATERAL (SELECT value, t1.name || value AS labelled FROM my_table2 WHERE t1.id = my_table2.id LIMIT 1) t2"""
    schema = {"my_table1": {"id": "int", "name": "varchar"}, "my_table2": {"id": "int", "value": "varchar"}}
    for given in (schema, None):
        edges = column_lineage(sql, "postgres", given)
        assert _fields(edges) == {("id", "my_table1", "id", "DIRECT", "IDENTITY"),
                                  ("value", "my_table2", "value", "DIRECT", "IDENTITY"),
                                  ("labelled", "my_table1", "name", "DIRECT", "TRANSFORMATION"),
                                  ("labelled", "my_table2", "value", "DIRECT", "TRANSFORMATION")}
        assert _dataset(edges) == {("my_table1", "id", "FILTER"), ("my_table2", "id", "FILTER")}


def test_a_column_read_through_a_star_without_a_schema_is_its_tables_column():
    """Without a schema sqlglot cannot expand ``SELECT *`` and names the star's table as the source
    of ``*``: the column passes through under its name (DataHub's test_bigquery_subquery_column_inference,
    dbt's ``with source as (select * from raw) …``), through CTE chains too; a star over several tables
    gives no column unless qualified stars say which table passes unnamed columns on."""
    assert _fields(column_lineage("SELECT x FROM (SELECT *, 1 AS one FROM t) s")) == {
        ("x", "t", "x", "DIRECT", "IDENTITY")}
    chain = "WITH c AS (SELECT * FROM raw.t), d AS (SELECT * FROM c) SELECT d.x + 1 AS x1, y FROM d"
    assert _fields(column_lineage(chain)) == {("x1", "raw.t", "x", "DIRECT", "TRANSFORMATION"),
                                              ("y", "raw.t", "y", "DIRECT", "IDENTITY")}
    assert _fields(column_lineage("SELECT s.x FROM (SELECT * FROM t JOIN u ON t.k = u.k) s")) == set()
    (statement,) = api.sql_lineage("SELECT s.x FROM (SELECT * FROM t JOIN u ON t.k = u.k) s").payload["statements"]
    assert statement["columns"] == [] and statement["errors"] == [
        "column lineage: column x: read through * of several tables, and no schema says which"]
    qualified = "SELECT s.x, s.y FROM (SELECT t.*, u.y FROM t JOIN u ON t.k = u.k) s"
    assert _fields(column_lineage(qualified)) == {("x", "t", "x", "DIRECT", "IDENTITY"),
                                                  ("y", "u", "y", "DIRECT", "IDENTITY")}
    # No edge ever names "*" as a column.
    assert all(e.source.column != "*" for e in column_lineage(chain) + column_lineage(qualified))


def test_an_output_star_no_schema_expands_is_reported():
    """``SELECT *`` over tables no schema lists gives no column (OpenLineage names fields, it has no
    ``*``), as sqlglot cannot expand it: the statement keeps its tables and says which tables' columns
    it could not name, through a CTE's star too; with a schema the star expands and nothing is reported."""
    sql = "INSERT INTO tab1 SELECT * FROM tab2 a JOIN tab3 b ON a.id = b.k"
    (statement,) = api.sql_lineage(sql).payload["statements"]
    assert statement["columns"] == [] and statement["sources"] == ["tab2", "tab3"]
    assert statement["errors"] == ["column lineage of tab1: column *: not expanded, no schema lists the "
                                   "columns of tab2, tab3"]
    (cte,) = api.sql_lineage("INSERT INTO tab3 (WITH tab1 AS (SELECT * FROM tab2) SELECT * FROM tab1)")\
        .payload["statements"]
    assert cte["errors"] == ["column lineage of tab3: column *: not expanded, no schema lists the columns of tab2"]
    half = api.sql_lineage(sql, schema={"tab2": {"id": "int", "x": "int"}}).payload["statements"][0]
    assert half["errors"] == ["column lineage of tab1: column *: not expanded, no schema lists the columns of tab3"]
    known = api.sql_lineage(sql, schema={"tab2": {"id": "int", "x": "int"}, "tab3": {"k": "int", "y": "int"}})\
        .payload["statements"][0]
    assert known["errors"] == [] and {c["column"] for c in known["columns"]} == {"id", "x", "k", "y"}


def test_an_unplaced_column_of_several_tables_costs_only_itself_and_is_reported():
    """Without a schema, ``partial_code`` in ``partial_code || c.customerid AS customer_code`` is an earlier
    output's alias (a lateral alias) or a column of one of the two tables: no telling which (a source
    column comes first where both exist). It is reported and the statement still answers what is certain
    (sqllineage's test_column_disable_lateral_ref_within_subquery; before, the statement lost all its
    columns); with a schema the alias is read through. An unqualified output column of a join is reported too."""
    sql = ("INSERT INTO temp.customer_identifier SELECT sq.customer_code FROM (SELECT p.businessentityid || "
           "p.lastname AS partial_code, partial_code || c.customerid AS customer_code FROM person.person AS p "
           "JOIN sales.customer AS c ON p.businessentityid = c.personid) AS sq")
    (statement,) = api.sql_lineage(sql).payload["statements"]
    assert [(c["column"], c["source"], c["source_column"], c["subtype"]) for c in statement["columns"]] == [
        ("customer_code", "sales.customer", "customerid", "TRANSFORMATION")]
    assert statement["errors"] == ["column lineage of temp.customer_identifier: column partial_code: an earlier "
                                   "output's alias or a column of one of several tables, and no schema says which"]
    schema = {"person.person": {"businessentityid": "int", "lastname": "text"},
              "sales.customer": {"customerid": "int", "personid": "int"}}
    (known,) = api.sql_lineage(sql, schema=schema).payload["statements"]
    assert known["errors"] == [] and {(c["source"], c["source_column"]) for c in known["columns"]} == {
        ("person.person", "businessentityid"), ("person.person", "lastname"), ("sales.customer", "customerid")}
    (join,) = api.sql_lineage("INSERT INTO tgt SELECT col1 FROM t1 JOIN t2 ON t1.id = t2.id").payload["statements"]
    assert join["columns"] == [] and join["errors"] == [
        "column lineage of tgt: column col1: read from one of several tables, and no schema says which"]
