"""impact / trace: checked against an independent closure (networkx) over the real
corpus and the sample scenario; column lineage; cycles; errors; formats."""

from __future__ import annotations

import csv
import io
import json

import networkx as nx
import pytest

from conftest import SAMPLE, run_event, write_ndjson
from lineagectl.api import impact, ingest, trace
from lineagectl.errors import InputError, NotFoundError
from test_conformance import FOLDERS, column_lineage_inputs, concrete_files, events_of, is_event


def independent_graph(events) -> nx.DiGraph:
    """Dataset graph straight from the events: input -> output for every job; aliases folded."""
    alias = {}
    for e in events:
        for d in (e.get("inputs") or []) + (e.get("outputs") or []):
            for ident in ((d.get("facets") or {}).get("symlinks") or {}).get("identifiers") or []:
                key = (ident["namespace"], ident["name"])
                if key != (d["namespace"], d["name"]):
                    alias[key] = (d["namespace"], d["name"])
    graph = nx.DiGraph()
    by_job = {}
    for e in events:
        if "job" not in e or ("dataset" in e and "run" not in e):
            continue
        job = (e["job"]["namespace"], e["job"]["name"])
        ins, outs = by_job.setdefault(job, (set(), set()))
        ins.update(alias.get((d["namespace"], d["name"]), (d["namespace"], d["name"])) for d in e.get("inputs") or [])
        ins.update(alias.get(d, d) for d in column_lineage_inputs(e))
        outs.update(alias.get((d["namespace"], d["name"]), (d["namespace"], d["name"])) for d in e.get("outputs") or [])
    for ins, outs in by_job.values():
        graph.add_nodes_from(ins | outs)
        graph.add_edges_from((i, o) for i in ins for o in outs)
    return graph


def answer(result) -> dict:
    return {(d["namespace"], d["name"]): d["depth"] for d in result.payload["datasets"]}


@pytest.mark.parametrize("folder", FOLDERS)
def test_closure_equals_an_independent_computation_over_the_corpus(corpus, tmp_path, folder):
    files = [p for p in concrete_files(corpus, folder) if all(is_event(v) for v in events_of(p))]
    db = str(tmp_path / "c.duckdb")
    ingest([str(p) for p in files], db)
    graph = independent_graph([v for p in files for v in events_of(p)])
    checked = 0
    for node in graph.nodes:
        namespace, name = node
        down = nx.single_source_shortest_path_length(graph, node)
        up = nx.single_source_shortest_path_length(graph.reverse(copy=False), node)
        down.pop(node), up.pop(node)
        assert answer(impact(name, db, namespace=namespace)) == down, node
        assert answer(trace(name, db, namespace=namespace)) == up, node
        checked += 1
    assert checked == graph.number_of_nodes()


def test_sample_scenario(tmp_path):
    db = str(tmp_path / "s.duckdb")
    ingest([str(SAMPLE)], db)
    down = impact("user_master", db)
    reached = answer(down)
    assert reached[("mlflow://acme-eu", "models/churn_model")] == 3
    assert reached[("s3://acme-us-exports", "marketing/audience.csv")] == 2
    assert [m["name"] for m in down.payload["models"]] == ["models/churn_model"]
    assert "team:ml" in down.payload["owners"]
    up = answer(trace("churn_model", db))
    assert up[("postgres://db.eu.acme.internal:5432", "shop.public.user_master")] == 3
    assert ("postgres://db.us.acme.internal:5432", "shop.public.orders") not in up
    assert answer(impact("user_master", db, depth=1)) == {k: v for k, v in reached.items() if v == 1}


def test_column_lineage_follows_columns_and_reports_transformations(tmp_path):
    db = str(tmp_path / "s.duckdb")
    ingest([str(SAMPLE)], db)
    result = impact("user_master", db, column="EMAIL")  # case-insensitive
    columns = {(c["name"], c["column"]): c for c in result.payload["columns"]}
    hashed = columns[("acme-eu.staging.orders_enriched", "email_hash")]
    assert hashed["depth"] == 1 and hashed["transformations"][0]["masking"] is True
    exported = columns[("marketing/audience.csv", "email")]
    assert exported["depth"] == 2 and all(t["type"] == "DIRECT" for t in exported["transformations"])
    # user_id reaches the join-only table only through INDIRECT edges.
    full = {(c["name"], c["column"]) for c in impact("user_master", db, column="user_id").payload["columns"]}
    direct = {(c["name"], c["column"]) for c in
              impact("user_master", db, column="user_id", direct_only=True).payload["columns"]}
    assert any(name == "acme-eu.analytics_prod.eu_order_amounts" for name, _ in full - direct)
    assert not any(name == "acme-eu.analytics_prod.eu_order_amounts" for name, _ in direct)


def test_cycles_end_the_walk(tmp_path, db):
    ingest([write_ndjson(tmp_path / "c.ndjson", [
        run_event("r1", job="a_to_b", inputs=[("ns", "a")], outputs=[("ns", "b")]),
        run_event("r2", job="b_to_a", inputs=[("ns", "b")], outputs=[("ns", "a")]),
        run_event("r3", job="b_to_c", inputs=[("ns", "b")], outputs=[("ns", "c")]),
    ])], db)
    assert answer(impact("a", db, namespace="ns")) == {("ns", "b"): 1, ("ns", "c"): 2}
    assert answer(trace("a", db, namespace="ns")) == {("ns", "b"): 1}


def test_errors(tmp_path):
    db = str(tmp_path / "s.duckdb")
    ingest([str(SAMPLE)], db)
    with pytest.raises(NotFoundError, match="no column 'emial'") as info:
        impact("user_master", db, column="emial")
    assert "email" in info.value.hint
    with pytest.raises(NotFoundError, match="ambiguous"):
        impact("orders", db)
    with pytest.raises(InputError, match="--direct-only"):
        impact("user_master", db, direct_only=True)
    with pytest.raises(InputError, match="--depth"):
        trace("user_master", db, depth=0)


def test_cli_formats_and_exit_codes(cli, tmp_path):
    db = str(tmp_path / "s.duckdb")
    ingest([str(SAMPLE)], db)
    data = json.loads(cli("--db", db, "impact", "user_master", "-f", "json").stdout)
    assert set(data) >= {"root", "direction", "datasets", "jobs"} and data["direction"] == "downstream"
    assert data["root"] == {"namespace": "postgres://db.eu.acme.internal:5432",
                            "name": "shop.public.user_master", "column": None}
    depths = [(d["depth"], d["namespace"], d["name"]) for d in data["datasets"]]
    assert depths == sorted(depths)
    rows = list(csv.DictReader(io.StringIO(cli("--db", db, "trace", "churn_model", "-f", "csv").stdout)))
    assert {r["name"] for r in rows} >= {"shop.public.user_master"}
    lines = cli("--db", db, "provenance", "churn_model", "-f", "ndjson").stdout.splitlines()
    assert len(lines) == len(rows)
    table = cli("--db", db, "impact", "user_master", "--include-jobs")
    assert table.exit_code == 0 and "etl_orders.enrich_orders" in table.stdout
    missing = cli("--db", db, "impact", "user_mastr")
    assert missing.exit_code == 2 and "did you mean" in missing.stderr


def test_as_of_answers_with_lineage_as_it_stood(tmp_path, db):
    ingest([write_ndjson(tmp_path / "h.ndjson", [
        # Until the 20th the job read a; from the 21st it reads b instead.
        run_event("r1", job="load", time="2026-11-20T02:00:00Z", inputs=[("ns", "a")], outputs=[("ns", "t")]),
        run_event("r2", job="load", time="2026-11-21T02:00:00Z", inputs=[("ns", "b")], outputs=[("ns", "t")]),
    ])], db)
    assert answer(trace("t", db, namespace="ns")) == {("ns", "a"): 1, ("ns", "b"): 1}  # summary: both
    assert answer(trace("t", db, namespace="ns", as_of="2026-11-20T12:00:00Z")) == {("ns", "a"): 1}
    assert answer(trace("t", db, namespace="ns", as_of="2026-11-22T00:00:00Z")) == {("ns", "b"): 1}
    # Before t was first seen there is no lineage of it to answer with: not an empty one.
    with pytest.raises(NotFoundError, match="first seen at 2026-11-20T02:00:00Z"):
        trace("t", db, namespace="ns", as_of="2026-11-19T00:00:00Z")
    with pytest.raises(InputError, match="--as-of"):
        trace("t", db, namespace="ns", as_of="someday")


def independent_column_graph(events) -> nx.DiGraph:
    """Column edges from the latest columnLineage facet of each (output dataset, job), as the spec reads."""
    latest = {}
    for e in events:
        job = (e.get("job") or {}).get("namespace"), (e.get("job") or {}).get("name")
        for d in (e.get("outputs") or []) + (e.get("inputs") or []):
            facets = d.get("facets") or {}
            cll = facets.get("columnLineage")
            if not cll:
                continue
            key = ((d["namespace"], d["name"]), job)
            if key not in latest or e["eventTime"] >= latest[key][0]:
                latest[key] = (e["eventTime"], cll, facets.get("schema") or {})
    graph = nx.DiGraph()
    for ((target, _), (_, cll, schema)) in latest.items():
        fields = cll.get("fields") or {}
        for column, spec in fields.items():
            for i in spec.get("inputFields") or []:
                graph.add_edge((i["namespace"], i["name"], i["field"].lower()), (*target, column.lower()))
        outputs = set(fields) | {f["name"] for f in schema.get("fields") or []}
        for i in cll.get("dataset") or []:
            for column in outputs:
                graph.add_edge((i["namespace"], i["name"], i["field"].lower()), (*target, column.lower()))
    return graph


@pytest.mark.parametrize("folder", ["compat-spark-cll", "marquez-seed", "datahub-ol-events",
                                    "compat-spark-dataproc"])
def test_column_closure_equals_an_independent_computation(corpus, tmp_path, folder):
    files = [p for p in concrete_files(corpus, folder) if all(is_event(v) for v in events_of(p))]
    db = str(tmp_path / "c.duckdb")
    ingest([str(p) for p in files], db)
    graph = independent_column_graph([v for p in files for v in events_of(p)])
    assert graph.number_of_edges() > 0
    for node in graph.nodes:
        namespace, name, column = node
        expected = nx.single_source_shortest_path_length(graph, node)
        expected.pop(node)
        result = impact(name, db, namespace=namespace, column=column).payload["columns"]
        got = {(c["namespace"], c["name"], c["column"].lower()): c["depth"] for c in result}
        assert got == expected, node


def test_table_format_is_a_tree_and_csv_stays_flat(cli, tmp_path):
    db = str(tmp_path / "s.duckdb")
    ingest([str(SAMPLE)], db)
    table = cli("--db", db, "impact", "user_master", "--include-jobs").stdout
    lines = table.splitlines()
    model = next(line for line in lines if "models/churn_model" in line)
    features = next(line for line in lines if "user_features" in line)
    assert model.index("mlflow://") > features.index("bigquery")  # nested one level deeper
    assert "via ml.train_churn_model" in model and "[model]" in model
    flat = cli("--db", db, "impact", "user_master", "-f", "csv").stdout.splitlines()
    assert flat[0] == "namespace,name,depth,type,owners" and len(flat) == 8  # the JSON items (docs/formats.md)
    columns = cli("--db", db, "impact", "user_master", "--column", "email").stdout
    assert "(DIRECT/TRANSFORMATION masked)" in columns


def test_jobs_with_nothing_on_the_far_side_are_on_the_way(tmp_path, db):
    """A writer that reads nothing (an ingest from an API) is upstream of what it writes; a reader
    that writes nothing (an export) is downstream of what it reads."""
    events = [run_event("10000000-0000-0000-0000-000000000001", job="ingest.api", outputs=[("kafka", "raw.events")]),
              run_event("10000000-0000-0000-0000-000000000002", job="etl.clean", inputs=[("kafka", "raw.events")],
                        outputs=[("pg", "mart.clean")]),
              run_event("10000000-0000-0000-0000-000000000003", job="export.csv", inputs=[("pg", "mart.clean")])]
    ingest([write_ndjson(tmp_path / "e.ndjson", events)], db)
    upstream = trace("mart.clean", db, include_jobs=True).payload
    assert [(j["name"], j["depth"]) for j in upstream["jobs"]] == [("etl.clean", 1), ("ingest.api", 2)]
    assert [d["name"] for d in upstream["datasets"]] == ["raw.events"]
    downstream = impact("raw.events", db).payload
    assert [(j["name"], j["depth"]) for j in downstream["jobs"]] == [("etl.clean", 1), ("export.csv", 2)]
    assert [d["name"] for d in downstream["datasets"]] == ["mart.clean"]


def tree_jobs(result) -> set[tuple[str, str]]:
    """The jobs an impact/trace tree shows: the job of each hop, and the job leaves."""
    return ({(n["job"]["namespace"], n["job"]["name"]) for n in result.tree if n.get("job")}
            | {(n["namespace"], n["name"]) for n in result.tree if n["kind"] == "job"})


@pytest.mark.parametrize("source", ["marquez-seed/metadata.ndjson", "compat-airflow/events.ndjson"])
def test_the_tree_shows_every_job_the_json_lists(corpus, tmp_path, cli, source):
    """With --include-jobs the tree (-f table) names the jobs -f json lists: a reader that writes
    nothing (marquez-seed's email_discounts reads public.discounts only) is a leaf of its own."""
    db = str(tmp_path / "s.duckdb")
    ingest([str(corpus / "openlineage" / source)], db)
    checked = 0
    for row in json.loads(cli("--db", db, "ls", "datasets", "-f", "json").stdout):
        for answer in (impact, trace):
            result = answer(row["name"], db, namespace=row["namespace"], include_jobs=True)
            listed = {(j["namespace"], j["name"]) for j in result.payload["jobs"]}
            assert tree_jobs(result) == listed, (answer.__name__, row["name"])
            checked += bool(listed)
    assert checked >= 10
    if source.startswith("marquez-seed"):
        table = cli("--db", db, "impact", "public.discounts", "--include-jobs").stdout
        assert "└── food_delivery email_discounts [job]" in table
        assert "email_discounts" not in cli("--db", db, "impact", "public.discounts").stdout  # only when asked


def test_the_tree_says_whom_to_warn_for_jobs(corpus, tmp_path, cli):
    """Airflow sends ownership on jobs only: the tree names each job's owners, on a hop and on a leaf."""
    db = str(tmp_path / "s.duckdb")
    ingest([str(corpus / "openlineage" / "compat-airflow" / "events.ndjson")], db)
    leaf = cli("--db", db, "impact", "to_be_deleted.txt", "--include-jobs").stdout
    assert "└── airflow gcs_hook.delete [job]  owners: ***" in leaf
    hops = cli("--db", db, "impact", "test.csv", "--include-jobs").stdout
    assert "bigquery mock-project.test.upload  via BQ.upload (owners: ***)" in hops
    # The table's records (the view other renderers draw from) carry the jobs' owners too.
    from lineagectl.cli.render.views import view_of

    records = view_of(impact("test.csv", db, include_jobs=True)).records
    assert {r["name"]: r["owners"] for r in records if r["kind"] == "job"} == {
        "BQ.upload": ["***"], "BQ.copy": ["***"], "BQ.download": ["***"]}


def test_a_hop_lists_each_other_transformation_once_whatever_the_input_spelling(db, tmp_path):
    # One job sends the same input column spelled two ways (``Email``, ``email``: one column) with
    # DIRECT/IDENTITY under each spelling and an INDIRECT/FILTER under one: the hop shows the copy,
    # and the filter once, not the copy again.
    def cll(field: str, *transformations: tuple[str, str]) -> dict:
        return {"columnLineage": {"fields": {"email": {"inputFields": [
            {"namespace": "pg://db", "name": "crm.users", "field": field,
             "transformations": [{"type": t, "subtype": s, "masking": False} for t, s in transformations]}]}}}}

    events = [run_event(f"0191a000-0000-7000-8000-00000000000{i}", job="copy_users", time=f"2026-11-2{i}T02:00:00Z",
                        inputs=[("pg://db", "crm.users")], outputs=[("pg://db", "mart.users", facets)])
              for i, facets in enumerate([cll("Email", ("DIRECT", "IDENTITY")),
                                          cll("email", ("DIRECT", "IDENTITY"), ("INDIRECT", "FILTER"))], start=1)]
    ingest([write_ndjson(tmp_path / "e.ndjson", events)], db)
    hops = impact("crm.users", db, column="email").payload["columns"]
    assert [h["transformations"] for h in hops] == [[{"type": "DIRECT", "subtype": "IDENTITY", "masking": False,
                                                      "also": [{"type": "INDIRECT", "subtype": "FILTER",
                                                                "masking": False}]}]]
    # --direct-only: the filter is not walked, so the hop has nothing else to show.
    direct = impact("crm.users", db, column="email", direct_only=True).payload["columns"]
    assert [h["transformations"] for h in direct] == [[{"type": "DIRECT", "subtype": "IDENTITY", "masking": False}]]
