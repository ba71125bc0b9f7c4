"""api.sql_lineage: each statement's tables and typed column edges, without a store."""

from __future__ import annotations

import json

import pytest

from lineagectl import api
from lineagectl.errors import InputError

SCRIPT = """
CREATE TABLE mart.customer_totals AS
SELECT c.id AS customer_id, md5(c.email) AS email_hash, SUM(o.amount) AS total
FROM shop.customers c JOIN shop.orders o ON o.customer_id = c.id
WHERE o.status = 'paid'
GROUP BY c.id, c.email;
MERGE INTO mart.customers t USING shop.customers s ON t.id = s.id
WHEN MATCHED THEN UPDATE SET name = s.name;
SELECT FROM WHERE;
DROP TABLE IF EXISTS tmp.scratch
"""
SCHEMA = {"shop.customers": {"id": "int", "email": "text", "name": "text"},
          "shop.orders": {"customer_id": "int", "amount": "numeric", "status": "text"}}


def test_every_statement_answers_and_columns_are_typed():
    result = api.sql_lineage(SCRIPT, dialect="postgres", schema=SCHEMA)
    assert result.kind == "sql"
    first, merge, bad, drop = result.payload["statements"]
    assert (first["index"], first["kind"], first["targets"]) == (0, "CREATE_TABLE_AS_SELECT", ["mart.customer_totals"])
    assert sorted(first["sources"]) == ["shop.customers", "shop.orders"]
    assert {"target": "mart.customer_totals", "column": "email_hash", "source": "shop.customers",
            "source_column": "email", "type": "DIRECT", "subtype": "TRANSFORMATION", "masking": True} in first["columns"]
    assert {"target": "mart.customer_totals", "column": "total", "source": "shop.orders", "source_column": "amount",
            "type": "DIRECT", "subtype": "AGGREGATION", "masking": False} in first["columns"]
    assert {"target": "mart.customer_totals", "source": "shop.orders", "source_column": "status",
            "type": "INDIRECT", "subtype": "FILTER", "masking": False} in first["dataset"]
    assert first["errors"] == []
    assert (merge["kind"], merge["targets"], merge["sources"]) == ("MERGE", ["mart.customers"], ["shop.customers"])
    assert bad["kind"] == "UNKNOWN" and bad["errors"] and bad["targets"] == bad["sources"] == []
    assert (drop["kind"], drop["targets"], drop["errors"]) == ("DROP", ["tmp.scratch"], [])
    json.dumps(result.payload)  # plain data


def test_an_unresolved_column_keeps_the_table_level_answer():
    (statement,) = api.sql_lineage("INSERT INTO out.t SELECT a.x, b.y FROM a JOIN b ON a.k = b.k WHERE z > 1")\
        .payload["statements"]
    assert statement["targets"] == ["out.t"] and statement["sources"] == ["a", "b"]


def test_schema_at_any_depth_and_from_files(tmp_path):
    sql = "INSERT INTO dw.out SELECT * FROM db.sch.src"
    nested = api.sql_lineage(sql, schema={"db": {"sch": {"src": {"a": "int"}}}}).payload
    dotted = api.sql_lineage(sql, schema={"db.sch.src": {"a": "int"}}).payload
    assert nested == dotted and [c["column"] for c in dotted["statements"][0]["columns"]] == ["a"]
    (tmp_path / "schema.yaml").write_text("db.sch.src:\n  a: int\n", encoding="utf-8")
    assert api.sql_lineage(sql, schema=str(tmp_path / "schema.yaml")).payload == dotted
    catalog = {"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json"},
               "nodes": {"model.p.src": {"metadata": {"database": "db", "schema": "sch", "name": "src"},
                                         "columns": {"a": {"name": "a", "type": "int"}}}}, "sources": {}}
    (tmp_path / "catalog.json").write_text(json.dumps(catalog), encoding="utf-8")
    assert api.sql_lineage(sql, schema=tmp_path / "catalog.json").payload == dotted


def test_bad_inputs_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="unknown SQL dialect"):
        api.sql_lineage("SELECT 1", dialect="no-such-sql")
    with pytest.raises(InputError, match="cannot read schema file"):
        api.sql_lineage("SELECT 1", schema=str(tmp_path / "missing.json"))
    with pytest.raises(InputError, match="different depths"):
        api.sql_lineage("SELECT 1", schema={"a.b": {"x": "int"}, "c": {"y": "int"}})


def test_hive_multi_insert_has_the_goldens_column_lineage(corpus):
    """OpenLineage's Hive golden cllMultiInserts: FROM a CTE, two INSERTs, each output's typed edges."""
    data = json.loads((corpus / "sql-goldens" / "openlineage-hive-cll" / "cllMultiInsertsComplete.json")
                      .read_text(encoding="utf-8"))
    event = data if isinstance(data, dict) else data[0]
    schema = {item["name"]: {f["name"]: f.get("type") or "string" for f in item["facets"]["schema"]["fields"]}
              for item in event["inputs"] + event["outputs"]}
    (statement,) = api.sql_lineage(event["job"]["facets"]["sql"]["query"], "hive", schema).payload["statements"]
    assert statement["errors"] == []
    expected = {(output["name"].rsplit(".", 1)[-1], column, field["name"].rsplit(".", 1)[-1], field["field"],
                 t["type"], t["subtype"])
                for output in event["outputs"]
                for column, spec in output["facets"]["columnLineage"]["fields"].items()
                for field in spec["inputFields"] for t in field["transformations"]}
    ours = {(c["target"], c["column"], c["source"], c["source_column"], c["type"], c["subtype"])
            for c in statement["columns"]}
    assert ours == expected
