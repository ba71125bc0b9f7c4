"""Erase and access plans that cannot delete the wrong rows (issue 13, item 4; docs/erase.md).

Each rule has a minimal example built here (OpenLineage events with column
lineage, or a small dbt manifest) on a real store, and the corpus test holds
every dbt manifest of ../shared/corpus to the two promises: the subject's value
is bound only to identity copies of the seed, and no view or ephemeral model
gets a statement.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import duckdb
import pytest
import sqlglot

from conftest import corpus_dir, require_corpus, run_event, write_ndjson
from lineagectl.api import access, erase, ingest
from lineagectl.common.dialects import dialect_of_namespace
from lineagectl.compliance.sqlgen import placeholder_names

PG = "postgres://db:5432"
P = {"_producer": "https://example.test/producer", "_schemaURL": "https://example.test/schema.json"}


def dataset(name: str, fields: list[str], lineage: dict | None = None, grouped_by: list[tuple[str, str]] = (),
            dataset_type: str | None = None, ns: str = PG) -> tuple:
    """An output dataset with a schema, ``lineage`` {out: [(source, field, subtype, description, masking)]}
    and dataset-level GROUP BY entries (source, field)."""
    facets: dict = {"schema": {**P, "fields": [{"name": f, "type": "VARCHAR"} for f in fields]}}
    if lineage is not None or grouped_by:
        facets["columnLineage"] = {**P, "fields": {
            out: {"inputFields": [{"namespace": ns, "name": src, "field": col, "transformations": [
                {"type": "DIRECT", "subtype": subtype, "description": text, "masking": masking}]}
                for src, col, subtype, text, masking in inputs]}
            for out, inputs in (lineage or {}).items()},
            "dataset": [{"namespace": ns, "name": src, "field": col, "transformations": [
                {"type": "INDIRECT", "subtype": "GROUP_BY", "description": f"GROUP BY {col}", "masking": False}]}
                for src, col in grouped_by]}
    if dataset_type:
        facets["datasetType"] = {**P, "datasetType": dataset_type}
    return (ns, name, facets)


def store_of(tmp_path: Path, jobs: list[tuple[str, list[str], tuple]]) -> str:
    """A store holding one run of each (job, input names, output dataset)."""
    events = [run_event(f"00000000-0000-0000-0000-{i:012d}", job=job, inputs=[(PG, n) for n in inputs],
                        outputs=[output]) for i, (job, inputs, output) in enumerate(jobs)]
    db = str(tmp_path / "s.duckdb")
    report = ingest([write_ndjson(tmp_path / "events.ndjson", events)], db)
    assert report.events_rejected == 0 and report.file_errors == []
    return db


def steps_of(result) -> dict[str, dict]:
    return {s["name"]: s for s in result.payload["steps"]}


def dbt_manifest(path: Path, nodes: dict, sources: dict) -> str:
    """A small dbt manifest (schema v12, postgres) of ``nodes`` {name: (materialized, sql, depends_on)}."""

    def model(name, materialized, sql, depends):
        return {"resource_type": "model", "unique_id": f"model.p.{name}", "name": name, "package_name": "p",
                "database": "wh", "schema": "analytics", "alias": name, "config": {"materialized": materialized},
                "depends_on": {"nodes": depends}, "compiled_code": sql, "columns": {}}

    def source(name, columns):
        return {"resource_type": "source", "unique_id": f"source.p.raw.{name}", "name": name, "source_name": "raw",
                "package_name": "p", "database": "wh", "schema": "raw", "identifier": name,
                "columns": {c: {"name": c} for c in columns}}

    manifest = {"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
                             "adapter_type": "postgres", "project_name": "p", "generated_at": "2026-01-01T00:00:00Z"},
                "nodes": {f"model.p.{n}": model(n, *spec) for n, spec in nodes.items()},
                "sources": {f"source.p.raw.{n}": source(n, cols) for n, cols in sources.items()},
                "exposures": {}, "child_map": {}, "parent_map": {}}
    path.write_text(json.dumps(manifest))
    return str(path)


# --- 1. only identity copies are keys; a value holding the identifier inside is reviewed ------------------


def test_a_column_extracted_from_json_is_the_key_and_the_json_is_reviewed(tmp_path):
    """The issue's case: patient_id extracted from a JSON `resource` column. Before, the plan walked up to
    `resource`, deleted `WHERE resource = ?` and bound the patient id to every column extracted from it."""
    db = str(tmp_path / "fhir.duckdb")
    ingest([dbt_manifest(tmp_path / "manifest.json", {
        "stg_encounters": ("table", "select resource->'subject'->>'reference' as patient_id, "
                                    "resource->>'class' as class, (resource->>'duration')::int as duration "
                                    "from wh.raw.resources", ["source.p.raw.resources"]),
        "encounter_stats": ("table", "select class, count(distinct patient_id) as patients, "
                                     "avg(duration) as avg_duration from wh.analytics.stg_encounters group by class",
                            ["model.p.stg_encounters"]),
    }, {"resources": ["id", "resource"]})], db)
    for plan in (erase("patient_id", db, value="p-7"), access("patient_id", db, value="p-7")):
        steps = steps_of(plan)
        raw = steps["wh.raw.resources"]
        assert raw["action"] == "review" and raw["sql"] is None and "params" not in raw
        assert raw["columns"] == ["resource"] and "inside a larger value" in raw["reason"]
        assert "in job model.p.stg_encounters" in raw["reason"]  # where the expression is
        assert raw["expressions"] == [{
            "column": "resource",
            "source": {"namespace": "postgres://wh", "name": "wh.raw.resources", "column": "resource"},
            "target": {"namespace": "postgres://wh", "name": "wh.analytics.stg_encounters", "column": "patient_id"},
            "transformation": {"type": "DIRECT", "subtype": "TRANSFORMATION", "masking": False},
            "job": {"namespace": "dbt://p", "name": "model.p.stg_encounters"}}]
        encounters = steps["wh.analytics.stg_encounters"]
        assert encounters["columns"] == ["patient_id"] and encounters["params"] == ["p-7"]
        assert encounters["sql"].endswith('WHERE "patient_id" = %s')
        # count(distinct patient_id) grouped by class: the subject's contribution, no row of its own
        # (re-run after the deletes; nothing to read for an access request).
        stats = steps.get("wh.analytics.encounter_stats")
        assert stats is None if plan.kind == "access" else (stats["action"], stats["sql"]) == ("recompute", None)
    assert {s["name"] for s in erase("patient_id", db).payload["seeds"]} == {"wh.analytics.stg_encounters"}


def test_values_computed_from_the_identifier_are_reviewed_by_the_recorded_expression(tmp_path):
    db = store_of(tmp_path, [
        ("load_patients", ["raw.events"], dataset("app.patients", ["patient_id", "event_type"], {
            "patient_id": [("raw.events", "payload", "TRANSFORMATION", "payload->>'patient_id'", False)],
            "event_type": [("raw.events", "payload", "TRANSFORMATION", "payload->>'type'", False)]})),
        ("copy_events", ["raw.events"], dataset("archive.events", ["payload"], {
            "payload": [("raw.events", "payload", "IDENTITY", "", False)]})),
        ("fhir_refs", ["app.patients"], dataset("app.refs", ["reference"], {
            "reference": [("app.patients", "patient_id", "TRANSFORMATION", "'Patient/' || patient_id", False)]})),
        ("by_type", ["app.patients"], dataset("app.by_type", ["event_type", "n"], {
            "event_type": [("app.patients", "event_type", "IDENTITY", "", False)]})),
    ])
    steps = steps_of(erase("patient_id", db, name="app.patients", value="7"))
    patients = steps["app.patients"]
    assert patients["columns"] == ["patient_id"] and patients["params"] == ["7"]  # event_type is no key
    raw = steps["raw.events"]
    assert raw["action"] == "review" and raw["sql"] is None
    assert "payload->>'patient_id'" in raw["reason"] and "never by the raw value" in raw["reason"]
    assert raw["expressions"][0]["transformation"]["description"] == "payload->>'patient_id'"
    # An identity copy of the JSON holds the identifier inside too.
    archive = steps["archive.events"]
    assert archive["action"] == "review" and "a copy of raw.events.payload" in archive["reason"]
    refs = steps["app.refs"]
    assert refs["action"] == "review" and refs["sql"] is None and "'Patient/' || patient_id" in refs["reason"]
    assert refs["expressions"][0]["target"]["column"] == "reference"
    # Derived from the JSON, not from the identifier: not in the plan at all.
    assert "app.by_type" not in steps


# --- 2. views and ephemeral models hold no rows -----------------------------------------------------------


def test_views_and_ephemeral_models_get_no_statement(tmp_path):
    db = str(tmp_path / "v.duckdb")
    ingest([dbt_manifest(tmp_path / "manifest.json", {
        "stg_customers": ("view", "select customer_id, email from wh.raw.customers", ["source.p.raw.customers"]),
        "int_customers": ("ephemeral", "select customer_id, lower(email) as email_lower "
                                       "from wh.analytics.stg_customers", ["model.p.stg_customers"]),
        "customers": ("table", "with __dbt__cte__int_customers as (select customer_id, lower(email) as email_lower "
                               "from wh.analytics.stg_customers) select customer_id, email_lower "
                               "from __dbt__cte__int_customers", ["model.p.int_customers"]),
    }, {"customers": ["customer_id", "email"]})], db)
    # An OpenLineage dataset whose datasetType facet says VIEW counts as one too.
    ingest([write_ndjson(tmp_path / "e.ndjson", [run_event(
        "00000000-0000-0000-0000-000000000001", job="crm.view", inputs=[("postgres://wh", "wh.analytics.customers")],
        outputs=[dataset("wh.crm.customer_view", ["customer_id"], {"customer_id": [
            ("wh.analytics.customers", "customer_id", "IDENTITY", "", False)]}, dataset_type="VIEW",
            ns="postgres://wh")])])], db)
    for plan, verb in ((erase("customer_id", db, value="c-1"), "DELETE"),
                       (access("customer_id", db, value="c-1"), "SELECT")):
        steps = steps_of(plan)
        for name, kind in (("wh.analytics.stg_customers", "VIEW"), ("wh.analytics.int_customers", "EPHEMERAL"),
                           ("wh.crm.customer_view", "VIEW")):
            step = steps[name]
            assert step["sql"] is None and "params" not in step and step["type"] == kind, name
            assert f"holds no rows: no {verb} here" in step["reason"], step["reason"]
        # Their sources and materialised descendants carry the work.
        assert "the rows are in wh.raw.customers" in steps["wh.analytics.stg_customers"]["reason"]
        for name in ("wh.raw.customers", "wh.analytics.customers"):
            assert steps[name]["sql"].startswith(verb) and steps[name]["type"] == "TABLE", name


# --- 3. a masked key is a named placeholder, with what to compute -----------------------------------------


def test_a_masked_key_is_a_named_placeholder_carrying_its_transformation(tmp_path):
    db = store_of(tmp_path, [
        ("track", ["app.users"], dataset("app.events", ["user_id", "hashed_user_id", "session_key", "day"], {
            "user_id": [("app.users", "user_id", "IDENTITY", "", False)],
            "hashed_user_id": [("app.users", "user_id", "TRANSFORMATION", "SHA256(user_id)", True)],
            # A hash of the identifier *and* the day is not a key: no one value of it is the subject's.
            "session_key": [("app.users", "user_id", "TRANSFORMATION", "MD5(user_id || day)", True),
                            ("app.users", "day", "TRANSFORMATION", "MD5(user_id || day)", True)]})),
        ("share", ["app.events"], dataset("partner.events", ["hashed_user_id"], {
            "hashed_user_id": [("app.events", "hashed_user_id", "IDENTITY", "", False)]})),
    ])
    steps = steps_of(erase("user_id", db, name="app.users", value="42", dialect="duckdb"))
    events = steps["app.events"]
    assert events["columns"] == ["user_id", "hashed_user_id"] and events["masked"]
    assert events["sql"] == 'DELETE FROM "app"."events" WHERE "user_id" = $user_id OR "hashed_user_id" = $hashed_user_id'
    assert events["params"] == {"user_id": "42"}
    compute = {"param": "hashed_user_id", "column": "hashed_user_id",
               "from": {"namespace": PG, "name": "app.users", "column": "user_id"},
               "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION", "masking": True,
                                    "description": "SHA256(user_id)"}]}
    assert events["compute"] == [compute]
    assert "SHA256(user_id)" in events["reason"]
    partner = steps["partner.events"]  # a copy of the hash is the same masked key
    assert partner["params"] == {} and partner["compute"] == [compute]
    assert partner["sql"].endswith('WHERE "hashed_user_id" = $hashed_user_id')
    # The statement runs as the plan says: the parameters plus the computed hash delete the subject's rows only.
    hashed = hashlib.sha256(b"42").hexdigest()
    con = duckdb.connect()
    con.execute('CREATE SCHEMA app; CREATE TABLE app.events (user_id VARCHAR, hashed_user_id VARCHAR, '
                'session_key VARCHAR, day VARCHAR)')
    con.execute("INSERT INTO app.events VALUES ('42', ?, 'a', 'd1'), (NULL, ?, 'b', 'd2'), ('7', 'x', ?, 'd3')",
                [hashed, hashed, "42"])
    with pytest.raises(duckdb.Error):  # the hash left unbound: an error, never a silent no-op
        con.execute(events["sql"], events["params"])
    con.execute(events["sql"], {**events["params"], "hashed_user_id": hashed})
    assert con.execute("SELECT user_id FROM app.events").fetchall() == [("7",)]
    # In postgres the same step binds %(name)s placeholders (psycopg's named style).
    pg = steps_of(erase("user_id", db, name="app.users", value="42"))["app.events"]
    assert pg["sql"].endswith('"user_id" = %(user_id)s OR "hashed_user_id" = %(hashed_user_id)s')


def test_placeholder_names_cannot_carry_sql():
    assert placeholder_names(['hash"ed;-- x', "1st", "Email", "email", ""]) == {
        'hash"ed;-- x': "hash_ed_x", "1st": "k_1st", "Email": "email", "email": "email_2", "": "key"}


# --- 4. a table grouped by the subject needs the delete only ----------------------------------------------


def test_a_table_grouped_by_the_subject_needs_the_delete_only(tmp_path):
    db = store_of(tmp_path, [
        ("totals", ["app.orders"], dataset("app.user_totals", ["user_id", "total"], {
            "user_id": [("app.orders", "user_id", "IDENTITY", "", False)],
            "total": [("app.orders", "amount", "AGGREGATION", "SUM(amount)", False)]},
            grouped_by=[("app.orders", "user_id")])),
        ("tickets", ["app.orders"], dataset("app.tickets", ["order_id", "user_id", "watchers"], {
            "order_id": [("app.orders", "order_id", "IDENTITY", "", False)],
            "user_id": [("app.orders", "user_id", "IDENTITY", "", False)],
            "watchers": [("app.orders", "user_id", "AGGREGATION", "STRING_AGG(user_id)", False)]},
            grouped_by=[("app.orders", "order_id")])),
    ])
    steps = steps_of(erase("user_id", db, name="app.orders", value="42"))
    totals = steps["app.user_totals"]
    assert totals["action"] == "delete" and totals["columns"] == ["user_id"]
    assert "recompute_columns" not in totals and "re-run" not in totals["reason"]
    assert "grouped by app.orders.user_id" in totals["reason"]
    # Grouped by something else, with the subject aggregated into other rows: delete, then re-run.
    tickets = steps["app.tickets"]
    assert tickets["action"] == "delete" and tickets["recompute_columns"] == ["watchers"]
    assert "then re-run its job" in tickets["reason"]


# --- the corpus: every dbt manifest -----------------------------------------------------------------------

PII_LIKE = re.compile(r"^(e_?mail(_address)?|phone(_number)?|(customer|user|patient|contact|person|member|employee"
                      r"|requester|assignee|submitter|owner)_id)$", re.I)
NO_ROWS = ("VIEW", "MATERIALIZED_VIEW", "EPHEMERAL")
_CORPUS = corpus_dir()
MANIFESTS = sorted(p.name for p in (_CORPUS / "dbt").glob("*.manifest.json")) if _CORPUS else ["(no corpus)"]


@pytest.fixture(scope="module")
def corpus_stores(tmp_path_factory):
    """Each manifest ingested once for the module (with its catalog when the corpus has one), on first use."""
    stores: dict[str, str] = {}

    def store(manifest: str) -> str:
        if manifest not in stores:
            folder = require_corpus() / "dbt"
            base = manifest.removesuffix(".manifest.json")
            catalog = folder / f"{base}.catalog.json"
            db = str(tmp_path_factory.mktemp("corpus") / f"{base}.duckdb")
            ingest([str(folder / manifest)], db, catalog=str(catalog) if catalog.exists() else None)
            stores[manifest] = db
        return stores[manifest]

    return store


def identity_copies(con, column: str) -> set[tuple[int, str]]:
    """Every column joined to a column named ``column`` by DIRECT/IDENTITY edges without masking, either
    way (aliases folded): computed here from the store, independently of the plan's own walk."""
    fold = dict(con.execute("SELECT alias_id, dataset_id FROM dataset_aliases").fetchall())
    links: dict = {}
    for src, src_col, dst, dst_col in con.execute(
            "SELECT src_dataset_id, lower(src_column), dataset_id, lower(column_name) FROM column_edges "
            "WHERE type = 'DIRECT' AND subtype = 'IDENTITY' AND NOT masking").fetchall():
        a, b = (fold.get(src, src), src_col), (fold.get(dst, dst), dst_col)
        links.setdefault(a, set()).add(b)
        links.setdefault(b, set()).add(a)
    seen = {(fold.get(d, d), c.lower()) for d, c in con.execute(
        "SELECT dataset_id, column_name FROM columns WHERE lower(column_name) = ?", [column]).fetchall()}
    stack = list(seen)
    while stack:
        for near in links.get(stack.pop(), ()):
            if near not in seen:
                seen.add(near)
                stack.append(near)
    return seen


@pytest.mark.parametrize("manifest", MANIFESTS)
def test_corpus_plans_bind_the_subject_to_identity_copies_only(corpus_stores, manifest):
    db = corpus_stores(manifest)
    con = duckdb.connect(db, read_only=True)
    datasets = {(ns, name): (i, kind) for i, ns, name, kind in
                con.execute("SELECT dataset_id, namespace, name, dataset_type FROM datasets").fetchall()}
    columns = sorted({c.lower() for (c,) in con.execute("SELECT DISTINCT column_name FROM columns").fetchall()
                      if PII_LIKE.match(c)})
    copies = {column: identity_copies(con, column) for column in columns}
    con.close()
    wrong = []
    for column in columns:
        for plan in (erase(column, db, value="SUBJECT"), access(column, db, value="SUBJECT")):
            for step in plan.payload["steps"]:
                dataset_id, kind = datasets[(step["namespace"], step["name"])]
                where = f"{plan.kind} {column}: {step['name']}"
                if step["sql"] is None:
                    continue
                if kind in NO_ROWS:
                    wrong.append(f"{where}: a statement on a {kind}")
                params = step["params"]
                # Coherent with the SQL: one value per positional placeholder, or the named ones minus the masked.
                tree = sqlglot.parse_one(step["sql"], dialect=dialect_of_namespace(step["namespace"]))
                assert sorted(c.name for c in tree.find_all(sqlglot.exp.Column)) == sorted(step["columns"]), where
                if isinstance(params, list):
                    assert len(params) == len(step["columns"]), where
                    bound = step["columns"]
                else:
                    names = placeholder_names(step["columns"])
                    computed = {c["column"] for c in step["compute"]}
                    assert set(params) == {names[c] for c in step["columns"] if c not in computed}, where
                    bound = [c for c in step["columns"] if names[c] in params]
                wrong += [f"{where}.{c}: the subject's value bound to a column that is not an identity copy"
                          for c in bound if (dataset_id, c.lower()) not in copies[column]]
    assert wrong == []
