"""Table-level lineage of every statement kind (sources/sql_statements.py), from real SQL."""

from __future__ import annotations

import pytest

from lineagectl.sources.sql_statements import split, statements


def _one(sql: str, dialect: str | None = None) -> tuple[str, list[str], list[str]]:
    (statement,) = statements(sql, dialect)
    assert statement.error is None, statement.error
    return statement.kind, statement.targets, statement.sources


@pytest.mark.parametrize(("sql", "dialect", "expected"), [
    ("SELECT o.id, c.name FROM shop.orders o JOIN shop.customers c ON o.cid = c.id", None,
     ("SELECT", [], ["shop.orders", "shop.customers"])),
    ("CREATE TABLE mart.daily AS SELECT day, SUM(amount) AS total FROM raw.payments GROUP BY day", None,
     ("CREATE_TABLE_AS_SELECT", ["mart.daily"], ["raw.payments"])),
    ("INSERT INTO audit.log (id, note) VALUES (1, 'x'), (2, 'y')", None, ("INSERT", ["audit.log"], [])),
    ("INSERT OVERWRITE TABLE dw.t1 PARTITION (ds='2026-01-01') SELECT id FROM stg.t2", "hive",
     ("INSERT", ["dw.t1"], ["stg.t2"])),
    ("FROM src INSERT OVERWRITE TABLE t1 SELECT id WHERE id > 1 INSERT INTO TABLE t2 SELECT name", "hive",
     ("INSERT", ["t1", "t2"], ["src"])),
    ("CREATE OR REPLACE VIEW rpt.v AS WITH recent AS (SELECT * FROM raw.events WHERE ts > now() - 1) "
     "SELECT * FROM recent", "postgres", ("CREATE_VIEW", ["rpt.v"], ["raw.events"])),
    ("MERGE INTO dim.customer t USING (SELECT * FROM stg.customer) s ON t.id = s.id "
     "WHEN MATCHED THEN UPDATE SET name = s.name WHEN NOT MATCHED THEN INSERT (id, name) VALUES (s.id, s.name)",
     "snowflake", ("MERGE", ["dim.customer"], ["stg.customer"])),
    ("UPDATE accounts SET owner = e.name FROM employees e WHERE accounts.owner_id = e.id", "postgres",
     ("UPDATE", ["accounts"], ["accounts", "employees"])),
    ("UPDATE t SET c = s.c FROM tab1 t JOIN tab2 s ON t.id = s.id", "tsql", ("UPDATE", ["tab1"], ["tab1", "tab2"])),
    ("DELETE FROM orders USING blocked b WHERE orders.cid = b.cid", "postgres", ("DELETE", ["orders"], ["blocked"])),
    ("SELECT id, name INTO archive.people FROM hr.people WHERE left_at IS NOT NULL", "tsql",
     ("SELECT_INTO", ["archive.people"], ["hr.people"])),
    ("COPY INTO raw.events FROM @landing/events/", "snowflake", ("COPY", ["raw.events"], ["@landing/events/"])),
    ("COPY INTO @exports/orders FROM mart.orders", "snowflake", ("COPY", ["@exports/orders"], ["mart.orders"])),
    ("COPY staging.visits FROM '/data/visits.csv' WITH (FORMAT csv)", "postgres",
     ("COPY", ["staging.visits"], ["/data/visits.csv"])),
    ("COPY (SELECT * FROM mart.daily WHERE day = current_date) TO '/out/daily.csv'", "postgres",
     ("COPY", ["/out/daily.csv"], ["mart.daily"])),
    ("CREATE TABLE stg.orders_copy LIKE stg.orders", "mysql", ("CREATE_TABLE", ["stg.orders_copy"], ["stg.orders"])),
    ("CREATE TABLE dev.orders CLONE prod.orders", "snowflake", ("CREATE_TABLE", ["dev.orders"], ["prod.orders"])),
    ("CREATE TABLE shop.items (id int, order_id int REFERENCES shop.orders(id))", "postgres",
     ("CREATE_TABLE", ["shop.items"], [])),
    ("ALTER TABLE stg.orders RENAME TO stg.orders_old", None, ("ALTER_RENAME", ["stg.orders_old"], ["stg.orders"])),
    ("DROP TABLE IF EXISTS tmp.scratch", None, ("DROP", ["tmp.scratch"], [])),
    ("REPLACE INTO shop.prices SELECT sku, price FROM stg.prices", "mysql", ("INSERT", ["shop.prices"], ["stg.prices"])),
    ("RENAME TABLE shop.orders TO shop.orders_2025", "mysql", ("ALTER_RENAME", ["shop.orders_2025"], ["shop.orders"])),
    ("EXEC sp_rename 'dbo.orders', 'orders_old'", "tsql", ("ALTER_RENAME", ["dbo.orders_old"], ["dbo.orders"])),
    ("ALTER VIEW rpt.v RENAME TO rpt.v_old", None, ("ALTER_RENAME", ["rpt.v_old"], ["rpt.v"])),
    ("INSERT OVERWRITE DIRECTORY '/exports/orders' SELECT * FROM dw.orders", "hive",
     ("INSERT", ["/exports/orders"], ["dw.orders"])),
    ("EXEC dbo.load_everything", "tsql", ("OTHER", [], [])),
    ("DROP SCHEMA old_stuff", None, ("DROP", [], [])),
    ('SELECT * FROM "Sales"."Orders"', "postgres", ("SELECT", [], ["Sales.Orders"])),
    ("SELECT * FROM `proj.ds.events$20260101`", "bigquery", ("SELECT", [], ["proj.ds.events"])),
])
def test_every_statement_kind_answers_at_table_level(sql, dialect, expected):
    assert _one(sql, dialect) == expected


def test_a_script_is_split_by_the_dialects_tokenizer():
    sql = "SELECT ';' AS semi FROM a; -- a comment; with a semicolon\nSELECT 1 FROM b;;\n"
    assert split(sql) == ["SELECT ';' AS semi FROM a", "-- a comment; with a semicolon\nSELECT 1 FROM b"]
    assert [s.sources for s in statements(sql)] == [["a"], ["b"]]


def test_one_bad_statement_is_reported_and_the_rest_answer():
    found = statements("INSERT INTO t SELECT * FROM a; SELECT FROM WHERE; DELETE FROM t WHERE id IN (SELECT id FROM b)")
    assert [(s.index, s.kind) for s in found] == [(0, "INSERT"), (1, "UNKNOWN"), (2, "DELETE")]
    assert found[1].error and found[0].error is None and found[2].error is None
    assert found[2].targets == ["t"] and found[2].sources == ["b"]


def test_a_misspelt_keyword_is_an_error_not_a_statement_without_lineage():
    # sqlglot reads "SELEC email" as the column SELEC aliased email: it must not pass as a quiet OTHER.
    found = statements("SELEC email; VACUUM users; a + b; SELECT 1 AS one; SELEC email FROM users")
    assert [s.kind for s in found] == ["UNKNOWN", "OTHER", "UNKNOWN", "SELECT", "UNKNOWN"]
    assert found[0].error == "not a statement: sqlglot reads 'SELEC email' as an expression (a misspelt keyword?)"
    assert found[2].error and "'a + b'" in found[2].error
    assert found[4].error  # with a FROM, sqlglot refuses it itself
    assert found[1].error is None and found[3].error is None  # VACUUM: a statement without lineage


def test_ctes_are_not_sources_but_a_table_of_the_same_name_in_a_schema_is():
    (statement,) = statements("WITH orders AS (SELECT * FROM raw.orders) SELECT * FROM orders JOIN mart.orders m "
                              "ON m.id = orders.id")
    assert statement.sources == ["raw.orders", "mart.orders"] or statement.sources == ["mart.orders", "raw.orders"]


def test_temporary_tables_are_read_through_across_statements():
    found = statements("CREATE TEMP TABLE recent AS SELECT * FROM raw.orders WHERE day > '2026-01-01';\n"
                       "INSERT INTO mart.summary SELECT cid, count(*) FROM recent JOIN raw.customers USING (cid) "
                       "GROUP BY cid;\nDROP TABLE recent", "postgres")
    assert found[0].temporary and found[0].targets == ["recent"]
    assert found[1].sources == ["raw.orders", "raw.customers"] and found[1].through == ["recent"]
    assert found[2].kind == "DROP"


def test_spark_cached_tables_are_temporary():
    found = statements("CACHE TABLE recent AS SELECT * FROM raw.events; INSERT INTO mart.e SELECT * FROM recent",
                       "spark")
    assert found[0].temporary and found[1].sources == ["raw.events"] and found[1].through == ["recent"]


def test_tsql_hash_tables_are_temporary():
    found = statements("SELECT id INTO #ids FROM dbo.users; INSERT INTO dbo.report SELECT id FROM #ids", "tsql")
    assert found[0].temporary and found[1].sources == ["dbo.users"]
