"""dbt manifests v4–v12 from ../shared/corpus/dbt: ingest, naming, and lineage equal to child_map."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import networkx as nx
import pytest

from lineagectl.api import impact, ingest, show, stats, trace

DATASET_TYPES = ("model", "seed", "snapshot", "source")


def manifests(corpus: Path) -> list[Path]:
    return sorted((corpus / "dbt").glob("*.manifest.json"))


def relation(node: dict) -> str:
    table = node.get("identifier") if node["resource_type"] == "source" else node.get("alias")
    return ".".join(p for p in (node.get("database"), node.get("schema"), table or node.get("name")) if p)


@pytest.mark.parametrize("name", [
    "jaffle_shop.v4.manifest.json", "jaffle_shop.v5.manifest.json", "dbt_core_state_fixture.v7.manifest.json",
    "jaffle_shop.v10.manifest.json", "jaffle_shop.v11.manifest.json", "jaffle_shop.v12.dbt1.12.manifest.json",
    "fivetran_hubspot.v12.dbt1.11.manifest.json", "colibri_ephemeral_finance_core.v12.dbt1.11.duckdb.manifest.json",
    "colibri_jaffle.v12.dbt1.10.duckdb.manifest.json",
])
def test_manifest_lineage_equals_child_map(corpus, tmp_path, name):
    path = corpus / "dbt" / name
    data = json.loads(path.read_text())
    nodes = {**data["nodes"], **data["sources"]}
    datasets = {uid: n for uid, n in nodes.items() if n.get("resource_type") in DATASET_TYPES}
    db = str(tmp_path / "d.duckdb")
    rejects = []
    report = ingest([str(path)], db, on_reject=rejects.append)
    assert rejects == [] and report.file_errors == []
    con = duckdb.connect(db, read_only=True)
    stored = {name for (name,) in con.execute("SELECT name FROM datasets").fetchall()}
    con.close()
    # Every model, seed, snapshot and source is a dataset, named as the dbt integration names it.
    assert {relation(n) for n in datasets.values()} - stored == set()
    graph = nx.DiGraph()
    graph.add_nodes_from(relation(n) for n in datasets.values())
    for uid, children in data["child_map"].items():
        for child in children:
            if uid in datasets and child in datasets and nodes[child]["resource_type"] in ("model", "snapshot"):
                graph.add_edge(relation(datasets[uid]), relation(datasets[child]))
    names = set(graph.nodes)
    for uid in sorted(datasets)[:60]:
        expected = nx.single_source_shortest_path_length(graph, relation(datasets[uid]))
        expected.pop(relation(datasets[uid]))
        got = {d["name"]: d["depth"] for d in impact(uid, db).payload["datasets"] if d["name"] in names}
        assert got == expected, uid
    assert ingest([str(path)], db).events_new == 0  # re-ingest changes nothing


def test_names_tags_and_ml_exposures(corpus, tmp_path):
    path = corpus / "dbt" / "colibri_jaffle.v12.dbt1.10.duckdb.manifest.json"
    data = json.loads(path.read_text())
    db = str(tmp_path / "d.duckdb")
    ingest([str(path)], db)
    model = next(uid for uid, n in data["nodes"].items() if n["resource_type"] == "model")
    by_uid = show(model, db).payload
    assert by_uid["kind"] == "dataset" and by_uid["name"] == relation(data["nodes"][model])
    assert {"namespace": "dbt", "name": model, "kind": "symlink"} in by_uid["aliases"]
    ml = [e for e in data["exposures"].values() if e.get("type") == "ml"]
    assert ml and stats(db).payload["models"] == len(ml)
    parent = sorted(ml[0]["depends_on"]["nodes"])[0]
    reached = impact(parent, db).payload
    assert ml[0]["name"] in [m["name"] for m in reached["models"]]


def test_namespace_option_and_catalog_types(corpus, tmp_path, cli):
    manifest = corpus / "dbt" / "jaffle_shop.v12.dbt1.12.manifest.json"
    catalog = corpus / "dbt" / "jaffle_shop.v12.dbt1.12.catalog.json"
    db = str(tmp_path / "d.duckdb")
    result = cli("--db", db, "ingest", manifest, "--catalog", catalog, "--namespace", "postgres://wh:5432")
    assert result.exit_code == 0, result.stderr
    data = json.loads(cli("--db", db, "show", "stg_customers", "-f", "json").stdout)
    assert data["namespace"] == "postgres://wh:5432"
    assert all(c["type"] for c in data["columns"])


def test_run_results_add_runs_and_test_results(corpus, tmp_path, cli):
    from lineagectl.common.policy import parse_policy
    from lineagectl.operations.changes import changes
    from lineagectl.operations.quality import quality

    folder = corpus / "dbt"
    manifest = folder / "jaffle_shop.v12.dbt1.9.manifest.json"
    results = json.loads((folder / "jaffle_shop.v12.dbt1.9.run_results.json").read_text())
    # One test fails and one model errors, as they do on a bad day.
    test = next(r for r in results["results"] if r["unique_id"].startswith("test.") and "not_null" in r["unique_id"])
    test["status"] = "fail"
    model = next(r for r in results["results"] if r["unique_id"] == "model.jaffle_shop.orders")
    model["status"], model["message"] = "error", "Database Error in model orders: relation does not exist"
    bad = tmp_path / "run_results.json"
    bad.write_text(json.dumps(results))
    db = str(tmp_path / "r.duckdb")
    result = cli("--db", db, "ingest", manifest, "--run-results", bad)
    assert result.exit_code == 0, result.stderr
    ran = [r for r in results["results"] if r["unique_id"].split(".")[0] in ("model", "seed", "snapshot")]
    assert stats(db).payload["runs"] == len(ran)
    report = quality(db, parse_policy("")).payload
    tested = {d["name"].rsplit(".", 1)[-1]: d for d in report["datasets"]}
    data = json.loads(manifest.read_text())
    target = data["nodes"][test["unique_id"]]
    broken = tested[relation(data["nodes"][target["attached_node"]]).rsplit(".", 1)[-1]]
    assert [(a["assertion"], a.get("column")) for a in broken["failed_assertions"]] == [
        ("not_null", target["column_name"])]
    assert report["at_risk"] or not impact(target["attached_node"], db).payload["datasets"]
    orders = relation(data["nodes"]["model.jaffle_shop.orders"])
    found = changes(orders, db, since="2024-12-01T00:00:00Z", depth=0).payload["changes"]
    assert [(c["kind"], c["summary"]) for c in found] == [
        ("failed_run", "run FAIL: Database Error in model orders: relation does not exist")]
    not_dbt = tmp_path / "nope.json"
    not_dbt.write_text("{}")
    assert cli("--db", db, "ingest", manifest, "--run-results", not_dbt).exit_code == 2


# Run in a fresh interpreter: the pytest process has threads of its own (other tests' stores,
# plugins), and the fork guard in sources/dbt/lineage.py must be met as an ingest meets it.
FORK_PROBE = r"""
import json, os, sys, threading

import duckdb

from lineagectl.api import ingest

manifest, catalog, db, second_thread = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "thread"
os.cpu_count = lambda: 2  # at least two workers, even on one core
forks = []
os.register_at_fork(after_in_parent=lambda: forks.append(1))
if second_thread:  # e.g. a library caller's own worker thread, alive during the ingest
    stop = threading.Event()
    threading.Thread(target=stop.wait, daemon=True).start()
threads = threading.active_count()
report = ingest([manifest], db, catalog=catalog)
con = duckdb.connect(db, read_only=True)
edges = con.execute("SELECT * FROM column_edges ORDER BY ALL").fetchall()
print(json.dumps({"threads": threads, "forks": len(forks), "warnings": report.warnings,
                  "events": report.events_new, "edges": [list(map(str, e)) for e in edges]}))
"""


def test_parallel_column_lineage_equals_the_sequential_one(corpus, tmp_path):
    import subprocess
    import sys

    from lineagectl.sources.dbt.lineage import PARALLEL_MIN_MODELS

    folder = corpus / "dbt"
    manifest = folder / "fivetran_hubspot.v12.dbt1.11.manifest.json"
    catalog = folder / "fivetran_hubspot.v12.dbt1.11.catalog.json"
    data = json.loads(manifest.read_text())
    models = [n for n in data["nodes"].values() if n["resource_type"] == "model" and n.get("compiled_code")]
    assert len(models) >= 2 * PARALLEL_MIN_MODELS  # large enough for two workers by the code's own rule

    def probe(mode):
        done = subprocess.run([sys.executable, "-c", FORK_PROBE, str(manifest), str(catalog),
                               str(tmp_path / f"{mode}.duckdb"), mode],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])

    alone, shared = probe("alone"), probe("thread")
    # One thread: the guard lets the ingest fork its workers (a real process pool).
    assert alone["threads"] == 1 and alone["forks"] >= 2
    # A second thread alive: no fork at all, the sequential path.
    assert shared["threads"] == 2 and shared["forks"] == 0
    # The same answers either way, and they are the models' column lineage.
    assert alone["edges"] == shared["edges"] and alone["warnings"] == shared["warnings"]
    assert alone["events"] == shared["events"]
    targets = {edge[2] for edge in alone["edges"]}  # dataset_id of the model written
    assert len(targets) >= 150


def test_a_newer_manifest_replaces_design_time_lineage_but_not_runs(corpus, tmp_path):
    from conftest import run_event, write_ndjson

    path = corpus / "dbt" / "jaffle_shop.v12.dbt1.12.manifest.json"
    old = json.loads(path.read_text())
    new = json.loads(path.read_text())
    new["metadata"]["generated_at"] = "2026-09-01T00:00:00Z"
    customers = new["nodes"]["model.jaffle_shop.customers"]
    dropped = "model.jaffle_shop.orders"
    customers["depends_on"]["nodes"].remove(dropped)
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    (tmp_path / "old" / "manifest.json").write_text(json.dumps(old))
    (tmp_path / "new" / "manifest.json").write_text(json.dumps(new))
    orders, customers_name = relation(old["nodes"][dropped]), relation(customers)

    def downstream(db):
        return {d["name"] for d in impact(orders, db).payload["datasets"]}

    forward = str(tmp_path / "f.duckdb")
    ingest([str(tmp_path / "old" / "manifest.json")], forward)
    assert customers_name in downstream(forward)
    ingest([str(tmp_path / "new" / "manifest.json")], forward)
    assert customers_name not in downstream(forward)
    # The same two manifests the other way round give the same answer.
    backward = str(tmp_path / "b.duckdb")
    ingest([str(tmp_path / "new" / "manifest.json")], backward)
    ingest([str(tmp_path / "old" / "manifest.json")], backward)
    assert downstream(backward) == downstream(forward)
    # A run that read orders is runtime history: a newer manifest does not erase it.
    job = {"namespace": "dbt://jaffle_shop", "name": "model.jaffle_shop.customers"}
    namespace = impact(orders, forward).payload["root"]["namespace"]
    run = run_event("run-1", job=job["name"], job_ns=job["namespace"], time="2026-08-01T00:00:00Z",
                    inputs=[(namespace, orders)], outputs=[(namespace, customers_name)])
    ingest([write_ndjson(tmp_path / "run.ndjson", [run])], forward)
    ingest([str(tmp_path / "new" / "manifest.json")], forward)
    assert customers_name in downstream(forward)


def test_every_corpus_manifest_version_is_recognised(corpus):
    from lineagectl.sources.dbt.artifacts import manifest_version

    found = {}
    for path in manifests(corpus):
        version = json.loads(path.read_text())["metadata"]["dbt_schema_version"].rsplit("/v", 1)[1]
        # pagila's keys are sorted: its metadata comes after half a megabyte of other keys.
        found[path.name] = manifest_version(str(path))
        assert found[path.name] == int(version.split(".")[0]), path.name
    # What lineagectl recognised spans v4-v12 (the corpus has no v6, v8 or v9 manifest).
    assert set(range(4, 13)) - set(found.values()) <= {6, 8, 9}
    assert manifest_version(str(corpus / "openlineage" / "SOURCES.md")) is None
    assert manifest_version(str(corpus / "dbt" / "jaffle_shop.v12.dbt1.12.catalog.json")) is None


def test_case_sensitive_and_case_insensitive_catalogs_resolve(corpus, tmp_path):
    folder = corpus / "dbt"
    pagila = str(tmp_path / "p.duckdb")
    report = ingest([str(folder / "datahub_sample_dbt_pagila.v11.dbt1.7.manifest.json")], pagila,
                    catalog=str(folder / "datahub_sample_dbt_pagila.v11.dbt1.7.catalog.json"))
    assert report.warnings == [] and report.file_errors == []
    # Postgres stores "BillingMonth" with its case: the model's pbc."BillingMonth" must find it.
    sources = {(c["name"].rsplit(".", 1)[-1], c["column"]) for c in
               trace("monthly_billing_with_cust", pagila, column="billing_month", depth=1).payload["columns"]}
    assert ("payments_by_customer_by_month", "BillingMonth") in sources
    duck = str(tmp_path / "d.duckdb")
    report = ingest([str(folder / "colibri_jaffle.v12.dbt1.10.duckdb.manifest.json")], duck,
                    catalog=str(folder / "colibri_jaffle.v12.dbt1.10.duckdb.catalog.json"))
    assert report.warnings == []  # DuckDB folds case: every model's columns resolve


def test_openlineage_events_and_the_manifest_of_one_project_merge(corpus, tmp_path):
    import uuid

    from conftest import write_ndjson

    folder = corpus / "dbt" / "openlineage_dbt_postgres_run"
    events = json.loads((folder / "expected_ol_events.templated.json").read_text())
    for event in events:  # the capture's run ids are json-unit templates: give each job one
        event["run"]["runId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, event["job"]["name"]))
        parent = (event["run"].get("facets") or {}).get("parent")
        if parent:
            parent["run"]["runId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, parent["job"]["name"]))
        event.setdefault("producer", "https://github.com/OpenLineage/OpenLineage/tree/1.24.0/integration/dbt")
        event.setdefault("schemaURL", "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent")
    db = str(tmp_path / "m.duckdb")
    rejects = []
    ingest([write_ndjson(tmp_path / "ol.ndjson", events)], db, on_reject=rejects.append)
    ingest([str(folder / "manifest.v12.dbt1.8.json")], db, namespace="postgres://postgres:5432")
    assert rejects == []
    from_events = {(d["namespace"], d["name"]) for e in events for d in e.get("inputs", []) + e.get("outputs", [])}
    con = duckdb.connect(db, read_only=True)
    stored = con.execute("SELECT namespace, name FROM datasets").fetchall()
    con.close()
    assert len(stored) == len(set(stored))
    names = [name for _, name in stored]
    assert len(names) == len(set(names)), "a dataset appears under two namespaces"
    assert from_events <= set(stored)  # the runtime datasets are the manifest's, not copies


def test_ephemeral_models_are_column_lineage_nodes(corpus, tmp_path):
    folder = corpus / "dbt"
    data = json.loads((folder / "colibri_ephemeral_finance_core.v12.dbt1.11.duckdb.manifest.json").read_text())
    from lineagectl.sources.dbt.lineage import projection as _projection

    # Ephemerals whose SQL names all its output columns are read as tables; one ending in
    # SELECT * is still read through its CTE.
    ephemeral = {relation(n) for n in data["nodes"].values()
                 if n.get("config", {}).get("materialized") == "ephemeral"
                 and _projection(n["compiled_code"], "duckdb")}
    users = [uid for uid, n in data["nodes"].items() if "__dbt__cte__" in (n.get("compiled_code") or "")]
    db = str(tmp_path / "e.duckdb")
    report = ingest([str(folder / "colibri_ephemeral_finance_core.v12.dbt1.11.duckdb.manifest.json")], db,
                    catalog=str(folder / "colibri_ephemeral_finance_core.v12.dbt1.11.duckdb.catalog.json"))
    assert report.warnings == []
    con = duckdb.connect(db, read_only=True)
    sources = {r[0] for r in con.execute(
        "SELECT DISTINCT s.name FROM column_edges e JOIN datasets s ON s.dataset_id = e.src_dataset_id").fetchall()}
    con.close()
    # Every model that inlines an ephemeral's CTE reads the ephemeral model, not through it.
    read = {relation(data["nodes"][p]) for uid in users for p in data["nodes"][uid]["depends_on"]["nodes"]
            if relation(data["nodes"].get(p, {"name": ""})) in ephemeral}
    assert read and read <= sources
    assert ("int_customer_cohort_key", "customer_name") in {
        (c["name"].rsplit(".", 1)[-1], c["column"])
        for c in trace("dim_customers", db, column="customer_name", depth=1).payload["columns"]}


def test_tests_in_the_manifest_attach_to_their_datasets_and_columns(corpus, tmp_path):
    path = corpus / "dbt" / "jaffle_shop.v12.dbt1.12.manifest.json"
    data = json.loads(path.read_text())
    db = str(tmp_path / "t.duckdb")
    ingest([str(path)], db)
    expected = {(relation(data["nodes"][n["attached_node"]]), n.get("column_name"), n["test_metadata"]["name"])
                for n in data["nodes"].values()
                if n["resource_type"] == "test" and n.get("attached_node") in data["nodes"] and n.get("test_metadata")}
    tested = {name for name, _, _ in expected}
    # `ls -s 1+test_type:data` lists exactly the datasets the manifest's tests read (as dbt selects
    # the tests' parents) ...
    from lineagectl.api import select

    nodes = {**data["nodes"], **data["sources"]}
    read = {relation(nodes[p]) for n in data["nodes"].values() if n["resource_type"] == "test"
            for p in n["depends_on"]["nodes"] if p in nodes}
    assert {d["name"] for d in select("1+test_type:data", db).payload} == read and tested <= read
    # ... and each carries exactly its tests, on the column each test checks.
    for name in tested:
        tags = {(t["field"], t["value"]) for t in show(name, db).payload["tags"] if t["key"] == "dbt_test"}
        assert tags == {(column, test) for n, column, test in expected if n == name}, name


def test_a_target_directory_reads_the_manifest_with_the_catalog_and_run_results_beside_it(corpus, tmp_path):
    import shutil

    from lineagectl.errors import InputError

    target = tmp_path / "target"
    target.mkdir()
    for kind, name in (("manifest", "manifest.json"), ("catalog", "catalog.json"),
                       ("run_results", "run_results.json")):
        shutil.copy(corpus / "dbt" / f"jaffle_shop.v12.dbt1.12.{kind}.json", target / name)
    whole, named = str(tmp_path / "whole.duckdb"), str(tmp_path / "named.duckdb")
    report = ingest([str(target)], whole)
    assert report.events_rejected == 0 and report.file_errors == []
    ingest([str(target / "manifest.json")], named, catalog=str(target / "catalog.json"),
           run_results=str(target / "run_results.json"))
    counts = {k: v for k, v in stats(whole).payload.items() if k not in ("db_bytes", "first_event", "last_event")}
    assert counts == {k: v for k, v in stats(named).payload.items() if k in counts}
    assert counts["runs"] > 0 and counts["columns"] > 100  # the run results and the catalog were read
    with pytest.raises(InputError, match="a dbt catalog file") as err:
        ingest([str(target / "catalog.json")], str(tmp_path / "alone.duckdb"))
    assert "--catalog" in err.value.hint


def test_a_manifest_of_an_unknown_schema_version_is_read_with_a_warning(corpus, tmp_path):
    text = (corpus / "dbt" / "jaffle_shop.v12.dbt1.12.manifest.json").read_text(encoding="utf-8")
    newer = tmp_path / "manifest.json"
    newer.write_text(text.replace("/manifest/v12.json", "/manifest/v13.json", 1), encoding="utf-8")
    known = ingest([str(corpus / "dbt" / "jaffle_shop.v12.dbt1.12.manifest.json")], str(tmp_path / "a.duckdb"))
    report = ingest([str(newer)], str(tmp_path / "b.duckdb"))
    assert report.events_new == known.events_new > 0
    assert [w for w in report.warnings if "schema v13" in w] and not [w for w in known.warnings if "schema v" in w]
