"""Shapes real OpenLineage producers send that are valid but odd, checked for the right answer
(not just for no crash): each test here reproduces one finding of an audit over real clients'
logs and hostile input, and failed before its fix."""

from __future__ import annotations

import json

import pytest

from conftest import require_corpus, run_event, stored_events, write_ndjson


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


def test_a_name_in_two_namespaces_is_reported_readably_on_one_line(tmp_path, cli):
    # The same table name from BigQuery and Snowflake: the ambiguity error listed the matches
    # after newlines, which the error boundary shows as '⏎' on one line.
    from lineagectl.api import ingest

    db = str(tmp_path / "s.duckdb")
    ingest([write_ndjson(tmp_path / "e.ndjson", [
        run_event("r1", inputs=[("snowflake://acct", "shared")], outputs=[("bigquery", "shared")])])], db)
    result = cli("--db", db, "show", "shared")
    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    assert "⏎" not in result.stderr
    assert "dataset bigquery shared" in first and "dataset snowflake://acct shared" in first
    # what the hint says to do works: the namespace, a slash, the name
    assert cli("--db", db, "show", "snowflake://acct/shared").exit_code == 0


def test_kind_model_on_a_dbt_model_says_what_model_means(tmp_path, cli):
    # A dbt user asks for `--kind model` (an ML model here, datasetType MODEL): the answer said
    # only "no model named ..." and to list datasets, where the name is listed.
    from lineagectl.api import ingest

    db = str(tmp_path / "s.duckdb")
    ingest([write_ndjson(tmp_path / "e.ndjson", [
        run_event("r1", job="model.shop.stg_orders", inputs=[("duckdb", "raw_orders")],
                  outputs=[("duckdb", "main.stg_orders")])])], db)
    result = cli("--db", db, "show", "stg_orders", "--kind", "model")
    assert result.exit_code == 2
    assert "is a dataset" in result.stderr and "--kind dataset" in result.stderr
    assert cli("--db", db, "show", "stg_orders", "--kind", "dataset").exit_code == 0


def test_a_run_id_in_upper_case_is_the_same_run(tmp_path, cli):
    from lineagectl.api import ingest

    db = str(tmp_path / "s.duckdb")
    rid = "0190a3a0-0000-7000-8000-00000000000a"
    ingest([write_ndjson(tmp_path / "e.ndjson", [
        run_event(rid, event_type="START", time="2024-05-01T10:00:00Z", inputs=[("n", "a")], outputs=[("n", "b")]),
        run_event(rid.upper(), time="2024-05-01T10:05:00Z", inputs=[("n", "a")], outputs=[("n", "b")])])], db)
    runs = json.loads(cli("--db", db, "ls", "runs", "-f", "json").stdout)
    assert len(runs) == 1
    assert runs[0]["state"] == "COMPLETE" and runs[0]["seconds"] == 300


def test_a_name_differing_only_in_case_is_offered_first(tmp_path, cli):
    # A dbt seed quoted as RAW_CUSTOMERS (colibri's jaffle_shop), asked for as raw_customers: the
    # hint offered `customers` (difflib is case-sensitive) and never the table meant.
    from lineagectl.api import ingest

    db = str(tmp_path / "s.duckdb")
    ingest([write_ndjson(tmp_path / "e.ndjson", [
        run_event("r1", inputs=[("duckdb", "shop.raw.RAW_CUSTOMERS")], outputs=[("duckdb", "shop.main.customers")])])], db)
    result = cli("--db", db, "show", "raw_customers")
    assert result.exit_code == 2
    hint = result.stderr.splitlines()[1]
    assert hint.startswith("Hint: did you mean: shop.raw.RAW_CUSTOMERS") and "case-sensitive" in hint


def test_a_manifest_beside_runtime_events_of_other_namespace_warns(tmp_path):
    from lineagectl.api import ingest

    run_dir = require_corpus() / "dbt" / "openlineage_dbt_postgres_run"
    db = str(tmp_path / "s.duckdb")
    runtime = [run_event("0190a3a0-0000-7000-8000-000000000001", job="jaffle_shop.customers", job_ns="dbt",
                         inputs=[("postgres://postgres:5432", "postgres.public.stg_orders")],
                         outputs=[("postgres://postgres:5432", "postgres.public.customers")])]
    ingest([write_ndjson(tmp_path / "e.ndjson", runtime)], db)
    report = ingest([str(run_dir / "manifest.v12.dbt1.8.json")], db)
    assert any("--namespace postgres://postgres:5432" in w for w in report.warnings)


@pytest.mark.parametrize("manifest_first", [False, True])
def test_a_manifest_and_runtime_events_of_another_namespace_in_one_call_warn(tmp_path, cli, manifest_first):
    # The same clash as above, both ingested by one command: the warning must not depend on
    # whether the events were stored by an earlier call.
    run_dir = require_corpus() / "dbt" / "openlineage_dbt_postgres_run"
    runtime = [run_event("0190a3a0-0000-7000-8000-000000000001", job="jaffle_shop.customers", job_ns="dbt",
                         inputs=[("postgres://postgres:5432", "postgres.public.stg_orders")],
                         outputs=[("postgres://postgres:5432", "postgres.public.customers")])]
    events = write_ndjson(tmp_path / "e.ndjson", runtime)
    manifest = str(run_dir / "manifest.v12.dbt1.8.json")
    paths = [manifest, events] if manifest_first else [events, manifest]
    result = cli("--db", str(tmp_path / "s.duckdb"), "ingest", *paths)
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "--namespace postgres://postgres:5432" in line]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].startswith(f"Warning: {manifest}: its datasets go to namespace postgres://")
    assert "postgres://postgres:5432 (2 of them)" in warnings[0]
    # With the namespace given, the manifest's tables are the events' tables: no warning.
    again = cli("--db", str(tmp_path / "t.duckdb"), "ingest", *paths, "--namespace", "postgres://postgres:5432")
    assert again.exit_code == 0 and "--namespace postgres" not in again.stderr


def test_concatenated_pretty_printed_events_are_each_read(tmp_path):
    from lineagectl.api import ingest

    events = [run_event(f"0190a3a0-0000-7000-8000-00000000020{i}", job=f"w{i}", outputs=[("n", f"w{i}")])
              for i in range(2)]
    path = tmp_path / "pretty.json"
    path.write_text("".join(json.dumps(e, indent=2) + "\n" for e in events), encoding="utf-8")
    report = ingest([str(path)], str(tmp_path / "s.duckdb"))
    assert (report.events_new, report.events_rejected) == (2, 0)


def test_a_utf16_event_log_is_read_or_named_as_utf16(tmp_path):
    from lineagectl.api import ingest

    events = [run_event(f"0190a3a0-0000-7000-8000-00000000021{i}", job=f"w{i}", outputs=[("n", f"w{i}")])
              for i in range(2)]
    path = tmp_path / "ps.ndjson"
    path.write_bytes(("\ufeff" + "\r\n".join(json.dumps(e) for e in events) + "\r\n").encode("utf-16-le"))
    rejects: list[str] = []
    report = ingest([str(path)], str(tmp_path / "s.duckdb"), on_reject=rejects.append)
    assert report.events_new == 2 or any("UTF-16" in r for r in rejects + report.file_errors)


@pytest.mark.parametrize("command", [["show"], ["impact"], ["trace"], ["changes"], ["graph", "-f", "json"]])
def test_an_empty_name_is_a_usage_error_not_a_crash(tmp_path, cli, command):
    # `lineagectl impact "$NAME"` with NAME unset: exit 70 (IndexError in the suffix match).
    from lineagectl.api import ingest

    db = str(tmp_path / "s.duckdb")
    ingest([write_ndjson(tmp_path / "e.ndjson", [run_event("r1", inputs=[("n", "a")], outputs=[("n", "b")])])], db)
    result = cli("--db", db, command[0], "", *command[1:])
    assert result.exit_code == 2
    assert "the name is empty" in result.stderr


def test_concatenated_documents_mixed_with_lines_keep_what_comes_before_a_torn_one(tmp_path):
    from lineagectl.api import ingest

    events = [run_event(f"0190a3a0-0000-7000-8000-00000000022{i}", job=f"m{i}", outputs=[("n", f"m{i}")])
              for i in range(3)]
    pretty = json.dumps(events[0], indent=2)
    bad = {k: v for k, v in events[2].items() if k != "run"}
    torn = json.dumps(events[1], indent=2)[:-40]
    path = tmp_path / "mixed.json"
    path.write_text(pretty + "\n" + json.dumps(bad) + "\n" + torn, encoding="utf-8")
    rejects: list[str] = []
    report = ingest([str(path)], str(tmp_path / "s.duckdb"), on_reject=rejects.append)
    assert report.events_new == 1 and report.events_rejected == 2
    bad_line = pretty.count("\n") + 2
    assert rejects[0].startswith(f"{path}:{bad_line}:")
    assert "invalid JSON" in rejects[1]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_logs_are_decoded_also_gzipped(tmp_path, encoding):
    import gzip

    from lineagectl.api import ingest

    events = [run_event(f"0190a3a0-0000-7000-8000-00000000023{i}", job=f"u{i}", outputs=[("n", f"ü{i}")])
              for i in range(3)]
    data = ("\ufeff" + "\r\n".join(json.dumps(e, ensure_ascii=False) for e in events) + "\r\n").encode(encoding)
    (tmp_path / "a.ndjson").write_bytes(data)
    (tmp_path / "b.ndjson.gz").write_bytes(gzip.compress(data))
    report = ingest([str(tmp_path / "a.ndjson"), str(tmp_path / "b.ndjson.gz")], str(tmp_path / "s.duckdb"))
    assert (report.events_new, report.events_duplicate, report.events_rejected) == (3, 3, 0)


def test_broken_utf16_is_one_error_naming_the_encoding(tmp_path):
    from lineagectl.api import ingest

    path = tmp_path / "ps.ndjson"
    path.write_bytes(b"\xff\xfe" + '{"a": 1}\r\n'.encode("utf-16-le") + b"\x00\xdc")  # a lone low surrogate
    report = ingest([str(path)], str(tmp_path / "s.duckdb"))
    assert report.events_new == 0
    assert [e for e in report.file_errors if "UTF-16" in e and "iconv -f UTF-16 -t UTF-8" in e]


def test_a_parent_run_id_in_upper_case_is_stored_lower_and_the_raw_event_as_sent(tmp_path):
    import duckdb

    from lineagectl.api import ingest

    db = str(tmp_path / "s.duckdb")
    parent = "0190A3A0-0000-7000-8000-0000000000BB"
    facet = {"parent": {"_producer": "t", "_schemaURL": "t", "run": {"runId": parent},
                        "job": {"namespace": "airflow://acme", "name": "dag"}}}
    ingest([write_ndjson(tmp_path / "e.ndjson", [
        run_event("0190A3A0-0000-7000-8000-0000000000CC", run_facets=facet, outputs=[("n", "c")]),
        run_event("Not-A-UUID-Run", outputs=[("n", "d")])])], db)
    with duckdb.connect(db, read_only=True) as con:
        runs = dict(con.execute("SELECT run_id, parent_run_id FROM runs").fetchall())
    raw = [payload for _, payload in stored_events(db, "run_id = '0190a3a0-0000-7000-8000-0000000000cc'")]
    assert runs == {"0190a3a0-0000-7000-8000-0000000000cc": parent.lower(), "Not-A-UUID-Run": None}
    assert raw and "0190A3A0-0000-7000-8000-0000000000CC" in raw[0] and parent in raw[0]


def test_a_manifest_with_its_namespace_given_or_nothing_shared_does_not_warn(tmp_path):
    from lineagectl.api import ingest

    run_dir = require_corpus() / "dbt" / "openlineage_dbt_postgres_run"
    db = str(tmp_path / "s.duckdb")
    ingest([write_ndjson(tmp_path / "e.ndjson", [run_event("r1", inputs=[("postgres://postgres:5432", "other.t")],
                                                           outputs=[("postgres://postgres:5432", "other.u")])])], db)
    assert not [w for w in ingest([str(run_dir / "manifest.v12.dbt1.8.json")], db).warnings if "--namespace" in w]
    runtime = [run_event("0190a3a0-0000-7000-8000-000000000001", job="jaffle_shop.customers", job_ns="dbt",
                         outputs=[("postgres://postgres:5432", "postgres.public.customers")])]
    ingest([write_ndjson(tmp_path / "r.ndjson", runtime)], db)
    report = ingest([str(run_dir / "manifest.v12.dbt1.8.json")], db, namespace="postgres://postgres:5432")
    assert not [w for w in report.warnings if "--namespace" in w]
