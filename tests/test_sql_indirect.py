"""Indirect influence (JOIN, FILTER, GROUP_BY, SORT, WINDOW, CONDITIONAL) resolved through CTEs and
subqueries to base-table columns (issue 15 item 3): minimal SQL per edge kind, pii through the API,
and the Fivetran HubSpot project."""

from __future__ import annotations

import json

from conftest import run_event, write_ndjson
from lineagectl.api import ingest, pii
from lineagectl.sources.sql_lineage import column_lineage, column_lineage_facet

SCHEMA = {"db": {"s": {"users": {"id": "INT", "email": "TEXT", "country": "TEXT", "active": "BOOLEAN"},
                       "orders": {"id": "INT", "uid": "INT", "amount": "DECIMAL", "ts": "TIMESTAMP"}}}}
USERS, ORDERS = "db.s.users", "db.s.orders"
# Two CTE levels with renames, as dbt models are written: every edge must reach the base columns.
BASE = """WITH u0 AS (SELECT id AS user_key, email AS mail, country AS ctry, active AS is_active FROM db.s.users),
     u AS (SELECT * FROM u0),
     o AS (SELECT uid AS owner, amount AS amt, ts AS at FROM (SELECT * FROM db.s.orders) AS raw)
"""


def edges_of(sql: str) -> set[tuple]:
    return {(e.column, e.source.table, e.source.column, e.type, e.subtype)
            for e in column_lineage(sql, "postgres", SCHEMA)}


def test_join_through_ctes_and_a_subquery():
    got = edges_of(BASE + "SELECT u.mail FROM u JOIN o ON o.owner = u.user_key")
    assert {(None, ORDERS, "uid", "INDIRECT", "JOIN"), (None, USERS, "id", "INDIRECT", "JOIN")} <= got


def test_filters_where_having_and_qualify_through_ctes():
    where = edges_of(BASE + "SELECT mail FROM u WHERE is_active")
    assert (None, USERS, "active", "INDIRECT", "FILTER") in where
    having = edges_of(BASE + "SELECT ctry, sum(amt) AS total FROM u JOIN o ON o.owner = u.user_key "
                             "GROUP BY ctry HAVING max(o.at) > now()")
    assert (None, ORDERS, "ts", "INDIRECT", "FILTER") in having
    assert (None, USERS, "country", "INDIRECT", "GROUP_BY") in having
    qualify = {(e.column, e.source.table, e.source.column, e.type, e.subtype) for e in column_lineage(
        BASE + "SELECT owner, amt FROM o QUALIFY row_number() OVER (PARTITION BY owner ORDER BY at DESC) = 1",
        "snowflake", SCHEMA)}
    assert {(None, ORDERS, "uid", "INDIRECT", "FILTER"), (None, ORDERS, "ts", "INDIRECT", "FILTER")} <= {
        (c, t.lower(), s.lower(), ty, st) for c, t, s, ty, st in qualify}


def test_group_by_and_sort_through_ctes():
    got = edges_of(BASE + "SELECT ctry, count(*) AS n FROM u GROUP BY ctry ORDER BY n DESC, ctry")
    assert (None, USERS, "country", "INDIRECT", "GROUP_BY") in got
    assert (None, USERS, "country", "INDIRECT", "SORT") in got


def test_window_keys_over_a_cte_are_indirect_window_never_direct():
    got = edges_of(BASE + "SELECT row_number() OVER (PARTITION BY mail ORDER BY user_key) AS rn, "
                          "sum(amt) OVER (PARTITION BY owner) AS running FROM u JOIN o ON o.owner = u.user_key")
    assert {("rn", USERS, "email", "INDIRECT", "WINDOW"), ("rn", USERS, "id", "INDIRECT", "WINDOW"),
            ("running", ORDERS, "amount", "DIRECT", "AGGREGATION"),
            ("running", ORDERS, "uid", "INDIRECT", "WINDOW")} <= got
    assert not {e for e in got if e[0] == "rn" and e[3] == "DIRECT"}
    assert ("running", ORDERS, "uid", "DIRECT", "AGGREGATION") not in got
    # A window computed inside a CTE stays INDIRECT when an outer level copies its result.
    nested = edges_of(BASE + ", ranked AS (SELECT mail, row_number() OVER (PARTITION BY ctry) AS rn FROM u) "
                             "SELECT rn FROM ranked")
    assert nested == {("rn", USERS, "country", "INDIRECT", "WINDOW")}


def test_case_conditions_over_a_cte_are_conditional_and_one_edge_per_source():
    got = edges_of(BASE + "SELECT CASE WHEN is_active THEN mail END AS contact, "
                          "CASE WHEN ctry = 'FR' THEN 'eu' ELSE 'other' END AS region FROM u")
    assert {e for e in got if e[0] == "contact"} == {("contact", USERS, "active", "INDIRECT", "CONDITIONAL"),
                                                      ("contact", USERS, "email", "DIRECT", "IDENTITY")}
    assert {e for e in got if e[0] == "region"} == {("region", USERS, "country", "INDIRECT", "CONDITIONAL")}


def test_a_window_over_email_is_not_reported_as_carrying_it(tmp_path):
    sql = BASE + ("SELECT row_number() OVER (PARTITION BY mail) AS visit, "
                  "CASE WHEN mail LIKE '%@x.org' THEN 1 ELSE 0 END AS internal, mail AS contact FROM u")
    facet = column_lineage_facet(column_lineage(sql, "postgres", SCHEMA),
                                 lambda table: ("postgres://db", table) if table == USERS else None)
    assert facet is not None
    facet.update(_producer="t", _schemaURL="t")
    users_facets = {
        "schema": {"_producer": "t", "_schemaURL": "t",
                   "fields": [{"name": c, "type": "TEXT"} for c in SCHEMA["db"]["s"]["users"]]},
        "tags": {"_producer": "t", "_schemaURL": "t",
                 "tags": [{"key": "pii", "value": "true", "source": "manual", "field": "email"}]}}
    out_facets = {"columnLineage": facet, "schema": {"_producer": "t", "_schemaURL": "t", "fields": [
        {"name": c, "type": "TEXT"} for c in ("visit", "internal", "contact")]}}
    db = str(tmp_path / "p.duckdb")
    ingest([write_ndjson(tmp_path / "e.ndjson", [run_event(
        "r1", inputs=[("postgres://db", USERS, users_facets)],
        outputs=[("postgres://db", "db.s.visits", out_facets)])])], db)
    reached = {(c["name"], c["column"]) for c in pii(db).payload["propagated"]}
    assert ("db.s.visits", "contact") in reached
    assert ("db.s.visits", "visit") not in reached and ("db.s.visits", "internal") not in reached


HUBSPOT = "fivetran_hubspot.v12.dbt1.11"


def _hubspot_lineage(corpus) -> dict:
    from lineagectl.sources.dbt.manifest import _Manifest, _read

    folder = corpus / "dbt"
    catalog = _read(str(folder / f"{HUBSPOT}.catalog.json"))
    return _Manifest(_read(str(folder / f"{HUBSPOT}.manifest.json")), None, catalog).lineage


def test_hubspot_models_get_join_and_filter_edges_and_no_window_key_flows(corpus):
    lineage = _hubspot_lineage(corpus)
    joined = [uid for uid, facet in lineage.items() if facet and any(
        t["subtype"] in ("JOIN", "FILTER") for d in facet["dataset"] for t in d["transformations"])]
    assert len(joined) >= 38, len(joined)  # 4 before; dbt-colibri 34, dbt-col-lineage 38
    # No output column computed by a window or CASE over a column reads it DIRECTly only through that.
    windowed = {(uid, column, f["name"], f["field"]) for uid, facet in lineage.items() if facet
                for column, spec in facet["fields"].items() for f in spec["inputFields"]
                for t in f["transformations"] if t["subtype"] in ("WINDOW", "CONDITIONAL")}
    assert len(windowed) > 100
    text = json.dumps(lineage)
    assert '"subtype": null' not in text


def test_a_column_the_schema_does_not_list_costs_no_other_column():
    # The catalog is older than the model: users.nickname is not in it.
    got = edges_of("WITH u AS (SELECT id, nickname, email FROM db.s.users WHERE active) "
                   "SELECT id, upper(nickname) AS nick, email FROM u")
    assert {("id", USERS, "id", "DIRECT", "IDENTITY"), ("email", USERS, "email", "DIRECT", "IDENTITY"),
            ("nick", USERS, "nickname", "DIRECT", "TRANSFORMATION"),
            (None, USERS, "active", "INDIRECT", "FILTER")} <= got


def test_select_star_from_the_final_cte_names_the_real_columns():
    from lineagectl.sources.dbt.lineage import projection

    sql = ("with a as (select id, name as n from t), b as (select * from (select k, v from u) s), "
           "final as (select a.*, b.v, 1 as x from a join b on a.id = b.k) select * from final")
    assert list(projection(sql, "postgres")) == ["id", "n", "v", "x"]
    assert projection("with a as (select * from t) select * from a", "postgres") == {}  # a table's star


def test_hubspot_ephemerals_ending_in_select_star_stay_nodes_with_lineage(corpus):
    from lineagectl.sources.dbt.manifest import _Manifest, _read

    folder = corpus / "dbt"
    manifest = _Manifest(_read(str(folder / f"{HUBSPOT}.manifest.json")), None,
                         _read(str(folder / f"{HUBSPOT}.catalog.json")))
    _, relations, ephemerals = manifest.sql_schema
    assert len(ephemerals) == 4  # every ephemeral of the project, `select *` ones included
    names = {relations[".".join(parts).lower()][1] for parts in ephemerals.values()}
    reading = {(uid, column) for uid, facet in manifest.lineage.items() if facet
               for column, spec in facet["fields"].items() if any(i["name"] in names for i in spec["inputFields"])}
    assert len(reading) >= 36, len(reading)


def test_hubspot_without_catalog_every_model_has_column_lineage(corpus):
    from lineagectl.sources.dbt.manifest import _Manifest, _read

    warnings: list[str] = []
    manifest = _Manifest(_read(str(corpus / "dbt" / f"{HUBSPOT}.manifest.json")), None, None, warnings.append)
    lineage = manifest.lineage
    assert warnings == [] and all(lineage.values())
    joined = [uid for uid, facet in lineage.items() if facet and any(
        t["subtype"] in ("JOIN", "FILTER") for d in facet["dataset"] for t in d["transformations"])]
    assert len(joined) >= 34, len(joined)


def test_in_and_exists_subqueries_filter_through_their_ctes():
    """x IN (SELECT …) and [NOT] EXISTS (SELECT … correlated) decide which rows pass: every column
    they read is INDIRECT FILTER, resolved through the CTE and subquery they read."""
    sql = BASE + """, big AS (SELECT owner FROM o WHERE amt > 100)
    SELECT u.mail FROM u
    WHERE u.user_key IN (SELECT owner FROM big)
      AND NOT EXISTS (SELECT 1 FROM db.s.users x WHERE x.id = u.user_key AND x.active)"""
    got = edges_of(sql)
    assert {(None, ORDERS, "uid", "INDIRECT", "FILTER"),  # the IN subquery's output, through big and o
            (None, ORDERS, "amount", "INDIRECT", "FILTER"),  # big's own WHERE
            (None, USERS, "id", "INDIRECT", "FILTER"),  # u.user_key, and the correlated x.id
            (None, USERS, "active", "INDIRECT", "FILTER")} <= got
    assert ("mail", USERS, "email", "DIRECT", "IDENTITY") in got
    # Nothing the subqueries read leaks into the output column's value.
    assert not {e for e in got if e[0] == "mail" and e[2] != "email"}


def test_in_subquery_without_a_schema():
    got = {(e.source.table, e.source.column, e.subtype) for e in column_lineage(
        "SELECT id FROM shop.orders WHERE customer_id IN (SELECT id FROM crm.customers WHERE country = 'NL')")
        if e.column is None}
    assert got == {("shop.orders", "customer_id", "FILTER"), ("crm.customers", "id", "FILTER"),
                   ("crm.customers", "country", "FILTER")}
