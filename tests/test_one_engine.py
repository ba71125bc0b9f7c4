"""One implementation per concept: the answers that disagreed while a concept had several copies.

Each test here failed before the walk engine, the name resolver and the PII
definition were made one (issue 12).
"""

from __future__ import annotations

import json

import pytest

from conftest import run_event, write_ndjson
from lineagectl import api
from lineagectl.errors import ExitStatus, NotFoundError

FACET = {"_producer": "https://example.test/producer", "_schemaURL": "https://example.test/schema"}


def _schema(*columns):
    return {**FACET, "fields": [{"name": c, "type": "int"} for c in columns]}


@pytest.fixture
def aliased(tmp_path, db):
    """``s3://lake warehouse/orders`` has the symlink ``hive://meta db.orders``; a job reads the
    symlink name and records column lineage from ``db.orders.id``."""
    load = run_event("11111111-0000-0000-0000-000000000001", job="load_orders", time="2026-11-20T01:00:00Z",
                     outputs=[("s3://lake", "warehouse/orders", {
                         "schema": _schema("id", "amount"),
                         "symlinks": {**FACET, "identifiers": [
                             {"namespace": "hive://meta", "name": "db.orders", "type": "TABLE"}]}})])
    report = run_event("11111111-0000-0000-0000-000000000002", job="report", time="2026-11-20T02:00:00Z",
                       inputs=[("hive://meta", "db.orders")],
                       outputs=[("bigquery", "mart.report", {
                           "schema": _schema("order_id", "total"),
                           "columnLineage": {**FACET, "fields": {
                               "order_id": {"inputFields": [{"namespace": "hive://meta", "name": "db.orders",
                                                             "field": "id", "transformations": [
                                                                 {"type": "DIRECT", "subtype": "IDENTITY",
                                                                  "masking": False}]}]},
                               "total": {"inputFields": [{"namespace": "hive://meta", "name": "db.orders",
                                                          "field": "amount", "transformations": [
                                                              {"type": "DIRECT", "subtype": "AGGREGATION",
                                                               "masking": False}]}]}}}})])
    api.ingest([write_ndjson(tmp_path / "events.ndjson", [load, report])], db)
    return db


def _names(items):
    return [(i["namespace"], i["name"], i.get("column")) for i in items]


def test_column_lineage_folds_aliases_like_table_lineage(aliased):
    tables = api.impact("warehouse/orders", aliased).payload
    columns = api.impact("warehouse/orders", aliased, column="id").payload
    assert _names(tables["datasets"]) == [("bigquery", "mart.report", None)]
    assert _names(columns["columns"]) == [("bigquery", "mart.report", "order_id")]
    assert _names(columns["datasets"]) == _names(tables["datasets"])

    upstream = api.trace("mart.report", aliased, column="order_id").payload
    assert _names(upstream["columns"]) == [("s3://lake", "warehouse/orders", "id")]
    assert upstream["columns"][0]["transformations"] == [{"type": "DIRECT", "subtype": "IDENTITY", "masking": False}]
    # The alias name resolves to the dataset it names, at both levels.
    assert api.impact("db.orders", aliased, column="ID").payload["columns"] == columns["columns"]


def test_column_graph_and_pii_follow_the_alias_too(aliased, tmp_path):
    policy = tmp_path / "lineagectl.yaml"
    policy.write_text('pii:\n  columns: ["warehouse/orders.id"]\n')
    propagated = api.pii(aliased, str(policy)).payload["propagated"]
    assert _names(propagated) == [("bigquery", "mart.report", "order_id")]
    edges = api.graph("warehouse/orders", aliased, column="id").payload["edges"]
    assert len(edges) == 1 and edges[0]["label"] == "DIRECT/IDENTITY"


@pytest.fixture(scope="module")
def jaffle(tmp_path_factory, request):
    from conftest import corpus_dir

    corpus = corpus_dir()
    if corpus is None:
        request.getfixturevalue("corpus")  # skips, or fails under CI, with the fixture's message
    db = str(tmp_path_factory.mktemp("jaffle") / "lineage.duckdb")
    api.ingest([str(corpus / "dbt" / "jaffle_shop.v12.dbt1.12.manifest.json")], db)
    return db


@pytest.mark.parametrize("name", ["model.jaffle_shop.orders", "model.jaffle_shop.stg_orders",
                                  "source.jaffle_shop.ecom.raw_orders"])
def test_selectors_resolve_names_as_arguments_do(jaffle, name):
    impact = api.impact(name, jaffle).payload
    selected = api.ls("datasets", jaffle, select=f"{name}+").payload
    root = (impact["root"]["namespace"], impact["root"]["name"])
    assert sorted((d["namespace"], d["name"]) for d in selected) == sorted(
        [root] + [(d["namespace"], d["name"]) for d in impact["datasets"]])
    # As a filter of impact, the dbt unique id selects the same dataset the argument names.
    only_root = api.impact("stg_orders", jaffle, select=name).payload["datasets"]
    assert all((d["namespace"], d["name"]) == root for d in only_root)


def test_selector_suffix_with_a_leading_dot_resolves_like_show(jaffle):
    shown = api.show(".orders", jaffle).payload
    selected = api.ls("datasets", jaffle, select=".orders").payload
    assert [(d["namespace"], d["name"]) for d in selected] == [(shown["namespace"], shown["name"])]


def test_graph_marks_pii_by_the_same_rules_as_the_pii_command(aliased, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text('pii:\n  columns: ["mart.report.total"]\n')
    listed = {(c["namespace"], c["name"]) for c in api.pii(aliased, str(policy)).payload["columns"]}
    assert listed == {("bigquery", "mart.report")}
    nodes = api.graph("warehouse/orders", aliased, policy=str(policy)).payload["nodes"]
    marked = {(n["namespace"], n["name"]) for n in nodes if n["kind"] != "job" and n["pii"]}
    assert marked == listed
    assert all(n["pii"] is False for n in nodes if n["kind"] == "job")
    # Without the policy, nothing is personal data.
    plain = api.graph("warehouse/orders", aliased).payload["nodes"]
    assert not any(n["pii"] for n in plain)
    columns = api.graph("mart.report", aliased, column="total", policy=str(policy)).payload["nodes"]
    assert {(n["name"], n["column"]) for n in columns if n["pii"]} == {("mart.report", "total")}


def test_one_open_store_answers_many_questions(aliased):
    with api.open_store(aliased) as store:
        first = api.impact("warehouse/orders", store).payload
        second = api.stats(store).payload
        third = api.trace("mart.report", store, column="order_id").payload
        assert store.con is not None  # still open between calls
    assert store.con is None
    assert first["datasets"] and second["datasets"] == 2 and third["columns"]
    with pytest.raises(NotFoundError), api.open_store(aliased) as store:
        api.impact("no_such_table", store)


def test_a_read_only_handle_refuses_writes(aliased, tmp_path):
    from lineagectl.errors import DatabaseError

    events = write_ndjson(tmp_path / "more.ndjson", [run_event("11111111-0000-0000-0000-000000000003")])
    with api.open_store(aliased) as store, pytest.raises(DatabaseError, match="read-only"):
        api.ingest([events], store)
    with api.open_store(aliased, write=True) as store:
        assert api.ingest([events], store).events_new == 1


def test_exit_status_follows_from_the_result(aliased, tmp_path):
    bad = tmp_path / "bad.ndjson"
    bad.write_text(json.dumps(run_event("11111111-0000-0000-0000-000000000004")) + "\n{not json\n")
    assert api.ingest([str(bad)], aliased).exit_status == ExitStatus.FINDINGS
    from lineagectl.sources.ingest import IngestReport

    assert IngestReport(events_rejected=3, file_errors=["x: cannot read"]).exit_status == ExitStatus.USAGE
    assert IngestReport(events_new=3).exit_status == ExitStatus.OK
    policy = tmp_path / "residency.yaml"
    policy.write_text("regions:\n  eu: ['s3://*']\n  us: ['bigquery']\n"
                      "residency:\n  - {name: eu-only, from: eu, allowed: [eu]}\n")
    assert api.residency_check(aliased, str(policy)).exit_status == ExitStatus.FINDINGS
    policy.write_text("regions:\n  eu: ['s3://*', 'bigquery']\nresidency:\n  - {name: eu-only, from: eu, allowed: [eu]}\n")
    assert api.residency_check(aliased, str(policy)).exit_status == ExitStatus.OK


def test_messages_on_stderr_never_carry_control_characters(cli, tmp_path, db):
    """A reject reason or a warning quotes what the event sent (a facet key); the terminal gets it harmless."""
    event = run_event("11111111-0000-0000-0000-000000000005", run_facets={"bad\x1b[31mkey\x07": "not an object"})
    path = write_ndjson(tmp_path / "hostile.ndjson", [event])
    warned = cli("--db", db, "ingest", path)  # the broken facet is left out, with a warning
    rejected = cli("--db", str(tmp_path / "strict.duckdb"), "ingest", "--strict", path)  # the event is rejected
    assert (warned.exit_code, rejected.exit_code) == (0, 1)
    for result in (warned, rejected):
        assert "\x1b" not in result.stderr and "\x07" not in result.stderr
        assert f"{path}:1: run.facets.bad\N{REPLACEMENT CHARACTER}[31mkey" in result.stderr


def test_erase_takes_any_dialect_alias_of_the_one_table(aliased):
    """``--dialect sqlserver`` (a dbt adapter / namespace name) is the tsql dialect, as in ingest."""
    def sql(dialect: str) -> str:
        steps = api.erase("order_id", aliased, name="mart.report", dialect=dialect).payload["steps"]
        return next(s["sql"] for s in steps if s["name"] == "mart.report")

    assert sql("sqlserver") == sql("tsql") == "DELETE FROM [mart].[report] WHERE [order_id] = ?"
    from lineagectl.errors import InputError

    with pytest.raises(InputError, match="unknown SQL dialect 'klingon'"):
        api.erase("order_id", aliased, name="mart.report", dialect="klingon")


@pytest.mark.parametrize("pattern", ["*.orders", "db.*", "*[!s]", "*[^s]", "mart.re?ort", "[dm]*", "*o*"])
def test_ls_name_globs_are_the_one_glob(aliased, pattern):
    """``ls --name`` matches as ``fnmatch.fnmatchcase`` does (names are case-sensitive), like every glob."""
    import fnmatch

    everything = api.ls("datasets", aliased).payload
    listed = {d["name"] for d in api.ls("datasets", aliased, name=pattern).payload}
    assert listed == {d["name"] for d in everything if fnmatch.fnmatchcase(d["name"], pattern)}


def _field(name, field, kind, subtype):
    return {"namespace": "pg", "name": name, "field": field,
            "transformations": [{"type": kind, "subtype": subtype, "masking": False}]}


def test_a_column_reached_both_ways_at_once_shows_its_direct_path(tmp_path, db):
    """``c.out`` is reached in the same hop from ``b.k`` (a filter) and ``b.m`` (a copy): its path
    shows the copy (DIRECT first on ties), in the payload and in the tree alike."""
    to_b = {**FACET, "fields": {"k": {"inputFields": [_field("a", "id", "DIRECT", "IDENTITY")]},
                                "m": {"inputFields": [_field("a", "id", "DIRECT", "IDENTITY")]}}}
    to_c = {**FACET, "fields": {"out": {"inputFields": [_field("b", "k", "INDIRECT", "FILTER"),
                                                        _field("b", "m", "DIRECT", "IDENTITY")]}}}
    events = [run_event("11111111-0000-0000-0000-000000000010", job="ab", inputs=[("pg", "a", {"schema": _schema("id")})],
                        outputs=[("pg", "b", {"schema": _schema("k", "m"), "columnLineage": to_b})]),
              run_event("11111111-0000-0000-0000-000000000011", job="bc", inputs=[("pg", "b")],
                        outputs=[("pg", "c", {"schema": _schema("out"), "columnLineage": to_c})])]
    api.ingest([write_ndjson(tmp_path / "e.ndjson", events)], db)
    answer = api.impact("a", db, column="id")
    direct = {"type": "DIRECT", "subtype": "IDENTITY", "masking": False}
    assert [(c["name"], c["column"], c["transformations"]) for c in answer.payload["columns"]] == [
        ("b", "k", [direct]), ("b", "m", [direct]), ("c", "out", [direct, direct])]
    out = next(n for n in answer.tree if n["column"] == "out")
    assert out["transformation"] == direct and out["parent"].endswith(":m")


def test_erase_and_access_give_a_dropped_table_no_statement(tmp_path, db):
    """A table dropped since it was written holds nothing to delete: its step says when it was
    dropped; what it fed still gets its DELETE."""
    cll = {**FACET, "fields": {"user_id": {"inputFields": [_field("a", "user_id", "DIRECT", "IDENTITY")]}}}
    events = [run_event("11111111-0000-0000-0000-000000000020", job="ab", time="2026-11-20T02:00:00Z",
                        inputs=[("pg", "a", {"schema": _schema("user_id")})],
                        outputs=[("pg", "b", {"schema": _schema("user_id"), "columnLineage": cll})]),
              run_event("11111111-0000-0000-0000-000000000021", job="drop_a", time="2026-11-22T09:30:00Z",
                        outputs=[("pg", "a", {"lifecycleStateChange": {**FACET, "lifecycleStateChange": "DROP"}})])]
    api.ingest([write_ndjson(tmp_path / "e.ndjson", events)], db)
    for plan in (api.erase("user_id", db, value="42", dialect="postgres"),
                 api.access("user_id", db, value="42", dialect="postgres")):
        steps = {s["name"]: s for s in plan.payload["steps"]}
        assert steps["a"]["sql"] is None and "params" not in steps["a"]
        assert steps["a"]["dropped"] is True and steps["a"]["dropped_at"] == "2026-11-22T09:30:00Z"
        assert "dropped on 2026-11-22T09:30:00Z" in steps["a"]["reason"]
        assert steps["b"]["sql"] is not None and steps["b"]["params"] == ["42"] and "dropped" not in steps["b"]
