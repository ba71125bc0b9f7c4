"""Shapes real OpenLineage producers send that are valid but odd, checked for the right answer
(not just for no crash): each test here reproduces one finding of an audit over real clients'
logs and hostile input, and failed before its fix."""

from __future__ import annotations

import json

from conftest import run_event, write_ndjson


def _schema(*fields: tuple[str, str]) -> dict:
    return {"schema": {"_producer": "t", "_schemaURL": "t",
                       "fields": [{"name": n, "type": t} for n, t in fields]}}


def test_a_field_named_twice_in_a_schema_is_listed_once_per_stored_column(tmp_path, cli):
    # Spark's SELECT * over a join names a field twice in one schema facet; `show` joined the
    # columns to the schema's fields by name and listed each such column once per occurrence.
    from lineagectl.api import ingest

    db = str(tmp_path / "s.duckdb")
    src = _schema(("id", "int"), ("id", "string"), ("v", "int"))
    ingest([write_ndjson(tmp_path / "e.ndjson", [
        run_event("r1", inputs=[("spark", "joined", src)], outputs=[("spark", "out")])])], db)
    listed = json.loads(cli("--db", db, "ls", "-f", "json").stdout)
    columns = {d["name"]: d["columns"] for d in listed}["joined"]
    shown = json.loads(cli("--db", db, "show", "joined", "-f", "json").stdout)["columns"]
    assert len(shown) == columns
    assert [c["column"] for c in shown] == ["id", "id", "v"]
