"""sql_lineage: OpenLineage column lineage from SQL, and its use for dbt models."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, asdict

import pytest

from lineagectl.api import impact, ingest
from lineagectl.sources.sql_lineage import Edge, Source, SqlLineageError, column_lineage

SCHEMA = {"db": {"s": {"users": {"id": "INT", "email": "TEXT", "country": "TEXT", "active": "BOOLEAN"},
                       "orders": {"id": "INT", "uid": "INT", "amount": "DECIMAL"}}}}
USERS, ORDERS = "db.s.users", "db.s.orders"


def edges_of(sql: str) -> set[tuple]:
    return {(e.column, e.source.table, e.source.column, e.type, e.subtype, e.masking)
            for e in column_lineage(sql, "postgres", SCHEMA)}


def test_direct_subtypes_and_masking():
    got = edges_of("""
        SELECT u.id AS user_id, md5(u.email) AS email_hash, upper(u.country) AS country,
               sum(o.amount) AS spent, count(o.id) AS orders
        FROM db.s.users u JOIN db.s.orders o ON o.uid = u.id
        WHERE u.active GROUP BY u.id, u.email, u.country""")
    assert ("user_id", USERS, "id", "DIRECT", "IDENTITY", False) in got
    assert ("email_hash", USERS, "email", "DIRECT", "TRANSFORMATION", True) in got
    assert ("country", USERS, "country", "DIRECT", "TRANSFORMATION", False) in got
    assert ("spent", ORDERS, "amount", "DIRECT", "AGGREGATION", False) in got
    assert ("orders", ORDERS, "id", "DIRECT", "AGGREGATION", True) in got
    assert {(None, ORDERS, "uid", "INDIRECT", "JOIN", False), (None, USERS, "id", "INDIRECT", "JOIN", False),
            (None, USERS, "active", "INDIRECT", "FILTER", False),
            (None, USERS, "country", "INDIRECT", "GROUP_BY", False)} <= got


def test_ctes_are_followed_to_their_sources_and_not_reported_as_tables():
    got = edges_of("""
        WITH base AS (SELECT id, email FROM db.s.users WHERE active),
             hashed AS (SELECT id, sha256(email) AS h FROM base)
        SELECT b.id, h.h FROM base b JOIN hashed h ON h.id = b.id""")
    assert ("id", USERS, "id", "DIRECT", "IDENTITY", False) in got
    assert ("h", USERS, "email", "DIRECT", "TRANSFORMATION", True) in got
    assert all(table == USERS for _, table, *_ in got)  # no CTE named as a source


def test_window_partition_and_order_columns_are_indirect():
    got = edges_of("SELECT id, sum(amount) OVER (PARTITION BY uid ORDER BY id) AS running FROM db.s.orders")
    assert ("running", ORDERS, "amount", "DIRECT", "AGGREGATION", False) in got
    assert ("running", ORDERS, "uid", "INDIRECT", "WINDOW", False) in got
    assert ("id", ORDERS, "id", "DIRECT", "IDENTITY", False) in got


def test_unreadable_sql_is_an_error_with_a_reason():
    with pytest.raises(SqlLineageError):
        column_lineage("SELEC nothing FROM", "postgres", SCHEMA)
    with pytest.raises(SqlLineageError, match="not a SELECT"):
        column_lineage("DELETE FROM db.s.users", "postgres", SCHEMA)


def test_edge_objects_are_plain_data():
    edges = column_lineage("SELECT id AS a FROM db.s.users WHERE active", "postgres", SCHEMA)
    # Written out by hand, as plain data: what a caller serialising the edges gets.
    assert sorted((asdict(e) for e in edges), key=lambda e: e["type"]) == [
        {"column": "a", "source": {"table": "db.s.users", "column": "id"},
         "type": "DIRECT", "subtype": "IDENTITY", "masking": False},
        {"column": None, "source": {"table": "db.s.users", "column": "active"},
         "type": "INDIRECT", "subtype": "FILTER", "masking": False}]
    identity = next(e for e in edges if e.column == "a")
    assert identity == Edge("a", Source(USERS, "id"), "DIRECT", "IDENTITY", False)
    assert len({identity, Edge("a", Source(USERS, "id"), "DIRECT", "IDENTITY", False)}) == 1  # hashable, by value
    with pytest.raises(FrozenInstanceError):
        identity.column = "b"


def test_dbt_models_get_column_lineage_from_compiled_sql(corpus, tmp_path):
    manifest = corpus / "dbt" / "jaffle_shop.v12.dbt1.12.manifest.json"
    catalog = corpus / "dbt" / "jaffle_shop.v12.dbt1.12.catalog.json"
    db = str(tmp_path / "d.duckdb")
    report = ingest([str(manifest)], db, catalog=str(catalog))
    assert report.events_rejected == 0
    columns = {(c["name"], c["column"]): c["transformations"]
               for c in impact("stg_orders", db, column="order_id").payload["columns"]}
    # orders.order_id copies stg_orders.order_id, which also joins it to the payments: one hop, both.
    assert columns[("jaffle_shop.main.orders", "order_id")] == [
        {"type": "DIRECT", "subtype": "IDENTITY", "masking": False,
         "also": [{"type": "INDIRECT", "subtype": "JOIN", "masking": False}]}]
    lifetime = columns[("jaffle_shop.main.customers", "count_lifetime_orders")]
    assert lifetime[-1]["subtype"] == "AGGREGATION" and lifetime[-1]["masking"] is True


def test_unparseable_models_keep_table_lineage_and_are_reported(corpus, tmp_path):
    import json

    data = json.loads((corpus / "dbt" / "jaffle_shop.v5.manifest.json").read_text(encoding="utf-8"))
    # Every model of the project now has column lineage: one is made unreadable.
    data["nodes"]["model.jaffle_shop.fct_orders"]["compiled_sql"] = "select from from where ((("
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(data), encoding="utf-8")
    db = str(tmp_path / "d.duckdb")
    report = ingest([str(manifest)], db)
    assert [w.split(":", 1)[0] for w in report.warnings] == ["model.jaffle_shop.fct_orders"]
    assert ": no column lineage (table lineage kept): " in report.warnings[0]
    assert impact("model.jaffle_shop.fct_orders", db).payload["root"]["name"]  # still a node with table lineage


def test_insert_targets_name_the_columns_by_position():
    from lineagectl.sources.sql_lineage import column_lineage

    listed = column_lineage("INSERT INTO db.t (a, b) SELECT x, y + 1 FROM db.s", "postgres",
                            {"db": {"s": {"x": "INT", "y": "INT"}}})
    assert {(e.column, e.source.column, e.subtype) for e in listed if e.column} == {
        ("a", "x", "IDENTITY"), ("b", "y", "TRANSFORMATION")}
    by_schema = column_lineage("INSERT INTO db.t SELECT x, y FROM db.s", "postgres",
                               {"db": {"s": {"x": "INT", "y": "INT"}, "t": {"k": "INT", "v": "INT"}}})
    assert {(e.column, e.source.column) for e in by_schema if e.column} == {("k", "x"), ("v", "y")}
    # Without the target's columns the SELECT's names stay.
    plain = column_lineage("INSERT INTO db.t SELECT x FROM db.s", "postgres", {"db": {"s": {"x": "INT"}}})
    assert {e.column for e in plain if e.column} == {"x"}
