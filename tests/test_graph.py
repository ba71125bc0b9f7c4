"""graph NAME: dot and mermaid output against golden files; escaping of hostile names."""

from __future__ import annotations

import json
import re

import pytest

from conftest import ROOT, SAMPLE, run_event, write_ndjson
from lineagectl.api import graph, ingest

GOLDEN = ROOT / "tests" / "golden"


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    db = str(tmp_path_factory.mktemp("graph") / "s.duckdb")
    ingest([str(SAMPLE)], db)
    return db


@pytest.mark.parametrize("args, golden", [
    (["graph", "user_master", "-f", "dot"], "user_master.dot"),
    (["graph", "user_master", "-f", "mermaid"], "user_master.mmd"),
    (["graph", "user_master", "--column", "email", "--direction", "downstream", "-f", "mermaid"],
     "user_master_email.mmd"),
])
def test_golden_files(cli, sample_db, args, golden):
    result = cli("--db", sample_db, *args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (GOLDEN / golden).read_text(encoding="utf-8")


def test_graph_json_marks_models_pii_and_jobs(sample_db):
    data = graph("user_features", sample_db, depth=2).payload
    kinds = {n["kind"] for n in data["nodes"]}
    assert kinds == {"dataset", "model", "job"}
    pii = [n["name"] for n in data["nodes"] if "PII" in n["marks"]]
    # Tagged at the source, and carried downstream through DIRECT column lineage (as `pii` says).
    assert pii == ["acme-eu.staging.orders_enriched", "shop.public.user_master"]
    ids = {n["id"] for n in data["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in data["edges"])


def test_hostile_names_are_escaped(cli, db, tmp_path):
    evil = 'x"];\n<script>alert(1)</script>|[`]\\'
    ingest([write_ndjson(tmp_path / "e.ndjson", [run_event("r1", inputs=[("ns", "src")],
                                                          outputs=[("ns", evil)])])], db)
    dot = cli("--db", db, "graph", "src", "-f", "dot").stdout
    for line in dot.splitlines():
        if "label=" in line:
            label = re.search(r'label="((?:[^"\\]|\\.)*)"', line)
            assert label, line  # the whole label is one well-formed DOT string
    assert "<script>" in dot and "\\n<script>" in dot  # newline escaped, text kept
    mermaid = cli("--db", db, "graph", "src", "-f", "mermaid").stdout
    node_line = next(line for line in mermaid.splitlines() if "script" in line)
    inner = node_line.split('["', 1)[1].rsplit('"]', 1)[0]
    assert not set(inner) & set('"[]|`<>')
    assert json.loads(cli("--db", db, "graph", "src", "-f", "json").stdout)["nodes"]


def test_graph_refuses_unknown_formats_and_lineage_commands_refuse_dot(cli, sample_db):
    assert cli("--db", sample_db, "graph", "user_master", "-f", "yaml").exit_code == 2
    result = cli("--db", sample_db, "stats", "-f", "dot")
    assert result.exit_code == 2 and "'dot' is not one of" in result.stderr


def test_select_and_exclude_keep_matching_datasets_and_their_edges(cli, sample_db):
    full = graph("user_master", sample_db, depth=3).payload
    kept = graph("user_master", sample_db, depth=3, exclude="namespace:snowflake*").payload
    names = {n["name"] for n in kept["nodes"] if n["kind"] != "job"}
    assert "ANALYTICS.MARKETING.EU_USER_EXPORT" in {n["name"] for n in full["nodes"]}
    assert "ANALYTICS.MARKETING.EU_USER_EXPORT" not in names and "marketing.export_eu_users" not in {
        n["name"] for n in kept["nodes"]}  # its job leads only to excluded datasets
    assert "shop.public.user_master" in names  # the root always stays
    ids = {n["id"] for n in kept["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in kept["edges"])
    only = graph("user_master", sample_db, depth=3, select="namespace:bigquery").payload
    assert {n["namespace"] for n in only["nodes"] if n["kind"] != "job"} == {
        "bigquery", "postgres://db.eu.acme.internal:5432"}
    result = cli("--db", sample_db, "graph", "user_master", "-s", "type:model", "--depth", "4", "-f", "json")
    assert result.exit_code == 0 and {n["name"] for n in json.loads(result.stdout)["nodes"]} == {
        "shop.public.user_master"}  # the model is 3 hops away: nothing in between is kept


def test_mermaid_entities_in_names_are_shown_as_written(cli, db, tmp_path):
    import html

    evil = 'a#quot;]; click x "https://evil"#35;'
    ingest([write_ndjson(tmp_path / "e.ndjson", [run_event("r1", inputs=[("ns", "src")], outputs=[("ns", evil)])])],
           db)
    mermaid = cli("--db", db, "graph", "src", "-f", "mermaid").stdout
    node_line = next(line for line in mermaid.splitlines() if "click" in line)
    inner = node_line.split('["', 1)[1].rsplit('"]', 1)[0]
    # Mermaid reads #name; / #code; entities: decoding them once gives back the name as written.
    decoded = re.sub(r"#(\w+);", lambda m: chr(int(m.group(1))) if m.group(1).isdigit()
                     else html.unescape(f"&{m.group(1)};"), inner)
    assert evil in decoded and '"' not in inner
