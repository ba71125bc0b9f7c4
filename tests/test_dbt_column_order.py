"""A dbt dataset's columns are stored in the warehouse's order: catalog.json ``index`` (issue 13, item 2).

The order becomes the schema facet's field order, hence ``schema_fields.ordinal``, which
``show`` lists by and an ``INSERT INTO t SELECT …`` without a column list matches by.
"""

from __future__ import annotations

import json

import duckdb

from lineagectl.api import ingest, show
from lineagectl.sources.dbt.manifest import manifest_events


def stored_order(db: str) -> dict[str, list[str]]:
    """The top-level columns of each dataset's current schema, in stored order, by dataset name."""
    con = duckdb.connect(db, read_only=True)
    try:
        rows = con.execute("""
            SELECT d.name, list(f.name ORDER BY f.ordinal) FROM datasets d
            JOIN schema_fields f ON f.schema_hash = d.schema_hash
            WHERE f.ordinal % 1000 = 0 GROUP BY d.name""").fetchall()
    finally:
        con.close()
    return dict(rows)


def catalog_order(entry: dict) -> list[str]:
    return [c["name"] for c in sorted(entry["columns"].values(), key=lambda c: c["index"])]


def test_stored_column_order_is_the_catalogs(corpus, tmp_path):
    manifest = corpus / "dbt" / "jaffle_shop.v12.dbt1.12.manifest.json"
    catalog_path = corpus / "dbt" / "jaffle_shop.v12.dbt1.12.catalog.json"
    catalog = json.loads(catalog_path.read_text())
    nodes = {**json.loads(manifest.read_text())["nodes"], **json.loads(manifest.read_text())["sources"]}
    db = str(tmp_path / "d.duckdb")
    report = ingest([str(manifest)], db, catalog=str(catalog_path))
    assert report.events_rejected == 0
    stored = stored_order(db)
    entries = {**catalog["nodes"], **catalog["sources"]}
    checked = 0
    for uid, entry in entries.items():
        node = nodes[uid]
        name = ".".join(p for p in (node["database"], node["schema"], node.get("alias") or node["name"]) if p)
        documented_only = [c for c in node.get("columns", {}) if c.lower() not in
                           {k.lower() for k in entry["columns"]}]
        # Columns the warehouse has, in its order; a documented column it lacks comes after.
        assert stored[name] == catalog_order(entry) + documented_only, uid
        checked += 1
    assert checked == len(entries) > 20
    # The documentation lists orders' columns in another order: the catalog's wins.
    orders = entries["model.jaffle_shop.orders"]
    assert list(nodes["model.jaffle_shop.orders"]["columns"])[:3] != catalog_order(orders)[:3]
    assert [c["column"] for c in show("model.jaffle_shop.orders", db).payload["columns"]] == catalog_order(orders)


def test_an_index_out_of_key_order_and_a_missing_one(corpus, tmp_path):
    manifest = corpus / "dbt" / "jaffle_shop.v12.dbt1.12.manifest.json"
    catalog = json.loads((corpus / "dbt" / "jaffle_shop.v12.dbt1.12.catalog.json").read_text())
    entry = catalog["nodes"]["seed.jaffle_shop.raw_customers"]  # no documented columns
    # Keys written out of order; a column without an index goes last.
    entry["columns"] = {"loaded_at": {"name": "loaded_at", "type": "TIMESTAMP", "comment": None},
                        "name": {"name": "name", "type": "TEXT", "index": 2, "comment": None},
                        "id": {"name": "id", "type": "TEXT", "index": 1, "comment": None}}
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    events = list(manifest_events(str(manifest), catalog=str(path)))
    (fields,) = [e["dataset"]["facets"]["schema"]["fields"] for e in events
                 if "dataset" in e and e["dataset"]["facets"]["symlinks"]["identifiers"][0]["name"]
                 == "seed.jaffle_shop.raw_customers"]
    assert [f["name"] for f in fields] == ["id", "name", "loaded_at"]
    assert [f.get("type") for f in fields] == ["TEXT", "TEXT", "TIMESTAMP"]
