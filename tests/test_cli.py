"""The command line: exit codes, stdout/stderr, formats, --db/LINEAGECTL_DB, errors."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import SAMPLE, modules_loaded_by, run_event, table_counts, write_ndjson


@pytest.fixture
def sample_db(cli, db):
    result = cli("--db", db, "ingest", SAMPLE)
    assert result.exit_code == 0, result.stderr
    return db


def test_ingest_summary_goes_to_stderr_and_json_report_to_stdout(cli, db):
    result = cli("ingest", SAMPLE, "--db", db, "-f", "json")  # --db after the command
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["events_new"] == 173 and report["events_rejected"] == 0
    assert "173 events read, 173 new" in result.stderr
    again = cli("--db", db, "-q", "ingest", SAMPLE)
    assert again.exit_code == 0 and again.stdout == "" and again.stderr == ""


def test_rejects_exit_1_with_file_and_line(cli, db, tmp_path):
    path = write_ndjson(tmp_path / "e.ndjson", [run_event("r1"), "nope"])
    result = cli("--db", db, "ingest", path)
    assert result.exit_code == 1
    assert f"{path}:2: invalid JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_strict_exit_1_and_nothing_stored(cli, db, tmp_path):
    path = write_ndjson(tmp_path / "e.ndjson", [run_event("r1"), "nope"])
    assert cli("--db", db, "ingest", "--strict", path).exit_code == 1
    assert json.loads(cli("--db", db, "stats", "-f", "json").stdout)["events"] == 0


def test_missing_input_and_missing_database_exit_2(cli, db, tmp_path):
    result = cli("--db", db, "ingest", tmp_path / "nope.ndjson")
    assert result.exit_code == 2 and "Error: " in result.stderr and "no such file" in result.stderr
    result = cli("--db", tmp_path / "absent.duckdb", "stats")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr and "Hint: " in result.stderr
    assert not (tmp_path / "absent.duckdb").exists()  # queries never create the store


def test_env_var_selects_the_database(cli, sample_db):
    result = cli("stats", "-f", "json", env={"LINEAGECTL_DB": sample_db})
    assert result.exit_code == 0 and json.loads(result.stdout)["datasets"] == 13


def test_stats_contract_keys(cli, sample_db):
    data = json.loads(cli("--db", sample_db, "stats", "-f", "json").stdout)
    for key in ("datasets", "jobs", "runs", "events", "columns", "dataset_edges", "column_edges"):
        assert isinstance(data[key], int)
    assert (data["datasets"], data["jobs"], data["runs"], data["events"]) == (13, 13, 86, 173)


def test_ls_filters_and_formats(cli, sample_db):
    result = cli("--db", sample_db, "ls", "datasets", "--namespace", "bigquery", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert result.exit_code == 0 and len(rows) == 4
    assert all(r["namespace"] == "bigquery" for r in rows)
    result = cli("--db", sample_db, "ls", "datasets", "--name", "*analytics_prod.*", "-f", "ndjson")
    names = [json.loads(line)["name"] for line in result.stdout.splitlines()]
    assert names == sorted(names) and len(names) == 3
    failed = json.loads(cli("--db", sample_db, "ls", "runs", "--state", "fail", "-f", "json").stdout)
    assert len(failed) == 1 and failed[0]["error"]
    assert cli("--db", sample_db, "ls", "tables").exit_code == 2


@pytest.mark.parametrize("kind", ["datasets", "jobs", "runs"])
def test_ls_takes_a_kind_singular_as_people_type_it(cli, sample_db, kind):
    plural = cli("--db", sample_db, "ls", kind, "-f", "json")
    singular = cli("--db", sample_db, "ls", kind[:-1].upper(), "-f", "json")
    assert plural.exit_code == singular.exit_code == 0
    assert json.loads(singular.stdout) == json.loads(plural.stdout) != []
    from lineagectl import api

    assert api.ls(kind[:-1], sample_db).payload == api.ls(kind, sample_db).payload


def test_show_dataset_and_job(cli, sample_db):
    data = json.loads(cli("--db", sample_db, "show", "user_master", "-f", "json").stdout)
    assert data["name"] == "shop.public.user_master" and data["owners"] == ["team:crm"]
    assert {t["field"] for t in data["tags"] if t["key"] == "pii"} == {"user_id", "email"}
    assert [c["column"] for c in data["columns"]][:2] == ["user_id", "email"]
    assert {d["job"] for d in data["downstream"]} >= {"etl_orders.enrich_orders"}
    job = json.loads(cli("--db", sample_db, "show", "analytics.daily_revenue", "-f", "json").stdout)
    assert job["kind"] == "job" and "SELECT" in job["sql"].upper()
    assert {r["state"] for r in job["runs"]} == {"COMPLETE", "FAIL"}
    table = cli("--db", sample_db, "show", "user_master")
    assert table.exit_code == 0 and "team:crm" in table.stdout


def test_show_prints_a_jobs_sql_line_by_line(cli, corpus, tmp_path):
    # In the field/value summary a model's SQL was one cell: a single line of ⏎ marks, thousands
    # of characters wide. It is now a part of its own, its lines as written.
    db = tmp_path / "jaffle.duckdb"
    manifest = corpus / "dbt" / "jaffle_shop.v12.dbt1.12.manifest.json"
    assert cli("--db", db, "-q", "ingest", manifest).exit_code == 0
    sql = json.loads(cli("--db", db, "show", "model.jaffle_shop.customers", "--kind", "job", "-f", "json").stdout)["sql"]
    shown = cli("--db", db, "show", "model.jaffle_shop.customers", "--kind", "job").stdout
    assert "⏎" not in shown
    lines = shown.splitlines()
    start = lines.index("sql") + 2  # its header, then the rule under it
    assert [line.rstrip() for line in lines[start:start + len(sql.splitlines())]] == \
        [line.rstrip() for line in sql.splitlines()]
    assert max(len(line) for line in lines) < 200


def test_unknown_and_ambiguous_names_exit_2(cli, sample_db):
    result = cli("--db", sample_db, "show", "user_mastr")
    assert result.exit_code == 2 and "did you mean" in result.stderr and "user_master" in result.stderr
    result = cli("--db", sample_db, "show", "orders")
    assert result.exit_code == 2 and "ambiguous" in result.stderr
    assert "postgres://db.us.acme.internal:5432" in result.stderr
    result = cli("--db", sample_db, "show", "orders", "--namespace", "postgres://db.us.acme.internal:5432")
    assert result.exit_code == 0


def test_output_file_and_unknown_format(cli, sample_db, tmp_path):
    out = tmp_path / "stats.json"
    assert cli("--db", sample_db, "stats", "-f", "json", "-o", out).exit_code == 0
    assert json.loads(out.read_text())["jobs"] == 13
    result = cli("--db", sample_db, "stats", "-f", "yaml")
    assert result.exit_code == 2 and "'yaml' is not one of 'table', 'json'" in result.stderr


def test_output_never_overwrites_a_store(cli, tmp_path):
    # -o naming the store (for --db, or by a slip) used to truncate it before writing a byte:
    # `export -o lineage.duckdb` lost every event. Any DuckDB file is refused, through a link too.
    db = tmp_path / "lineage.duckdb"
    assert cli("--db", db, "-q", "ingest", SAMPLE / "ecommerce.ndjson").exit_code == 0
    before = table_counts(str(db))
    link = tmp_path / "answer.json"
    link.symlink_to(db)
    for args in (("stats", "-f", "json", "-o", db), ("export", "-o", db), ("impact", "user_master", "-o", link),
                 ("graph", "user_master", "-f", "html", "-o", db)):
        result = cli("--db", db, *args)
        assert result.exit_code == 2, (args, result.stderr)
        assert "is a DuckDB database" in result.stderr and "give -o a new file name" in result.stderr
        assert result.stdout == ""
    assert table_counts(str(db)) == before
    out = tmp_path / "events.ndjson"
    assert cli("--db", db, "export", "-o", out).exit_code == 0
    assert len(out.read_text().splitlines()) == before["events"]


def test_csv_cells_cannot_start_formulas(cli, db, tmp_path):
    path = write_ndjson(tmp_path / "e.ndjson", [run_event("r1", outputs=[("ns", "=HYPERLINK(\"x\")")])])
    cli("--db", db, "ingest", path)
    rows = list(csv.DictReader(io.StringIO(cli("--db", db, "ls", "datasets", "-f", "csv").stdout)))
    assert rows[0]["name"].startswith("'=")


def test_table_output_strips_terminal_escapes(cli, db, tmp_path):
    path = write_ndjson(tmp_path / "e.ndjson", [run_event("r1", outputs=[("ns", "evil\x1b[31mred")])])
    cli("--db", db, "ingest", path)
    assert "\x1b" not in cli("--db", db, "ls", "datasets").stdout


def test_not_a_database_exits_2(cli, tmp_path):
    bogus = tmp_path / "bogus.duckdb"
    bogus.write_text("hello")
    result = cli("--db", bogus, "stats")
    assert result.exit_code == 2 and "not a DuckDB database" in result.stderr


def test_locked_database_exits_3(db, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ok', flush=True); time.sleep(30)"),
        db], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        path = write_ndjson(tmp_path / "e.ndjson", [run_event("r1")])
        result = subprocess.run([sys.executable, "-m", "lineagectl", "--db", db, "ingest", path],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 3
        assert "locked" in result.stderr and f"PID {holder.pid}" in result.stderr
    finally:
        holder.kill()
        holder.wait()


def test_cli_import_loads_no_heavy_module():
    assert modules_loaded_by("lineagectl.cli") == []


def test_help_and_version(cli):
    result = cli("--help")
    assert result.exit_code == 0
    for name in ("ingest", "stats", "ls", "show", "migrate"):
        assert name in result.stdout
    assert cli("--version").stdout.startswith("lineagectl ")


def test_a_memory_limit_duckdb_cannot_read_names_the_setting(cli, sample_db, db):
    # Was "cannot open database lineage.duckdb: Parser Error: Memory must have a number": the
    # store was fine, the variable was not, and nothing said which.
    for value in ("lots", "5XB"):
        result = cli("--db", sample_db, "stats", env={"LINEAGECTL_MEMORY_LIMIT": value})
        assert result.exit_code == 2, result.stderr
        assert f"memory limit {value!r}" in result.stderr and "LINEAGECTL_MEMORY_LIMIT" in result.stderr
        assert "cannot open database" not in result.stderr
    result = cli("--db", db, "ingest", SAMPLE, env={"LINEAGECTL_MEMORY_LIMIT": "lots"})
    assert result.exit_code == 2 and "memory limit 'lots'" in result.stderr
    assert cli("--db", db, "-q", "ingest", SAMPLE).exit_code == 0  # nothing left half-made


def test_out_of_memory_is_a_clear_error_and_stores_nothing(db):
    env = dict(os.environ, LINEAGECTL_MEMORY_LIMIT="1MB")
    result = subprocess.run([sys.executable, "-m", "lineagectl", "--db", db, "ingest", str(SAMPLE)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "ran out of memory" in result.stderr and "LINEAGECTL_MEMORY_LIMIT" in result.stderr
    assert "Traceback" not in result.stderr
    stats = subprocess.run([sys.executable, "-m", "lineagectl", "--db", db, "stats", "-f", "json"],
                           capture_output=True, text=True, timeout=120)
    assert json.loads(stats.stdout)["events"] == 0


def test_titles_count_in_the_singular_for_one(cli, sample_db):
    impact = cli("--db", sample_db, "impact", "user_master")
    assert "7 datasets (1 model)" in impact.stdout  # not "(1 models)"
    model = cli("--db", sample_db, "ls", "--select", "type:model")
    assert "1 dataset selected" in model.stdout


@pytest.mark.parametrize("args", [["ls", "datasets"], ["ls", "runs"], ["show", "user_master"], ["stats"],
                                  ["erase", "--column", "user_id", "--value", "42"], ["quality"],
                                  ["impact", "user_master"], ["graph", "user_master", "-f", "table"]])
def test_tables_off_a_terminal_are_aligned_without_trailing_padding(cli, tmp_path, args):
    db = tmp_path / "t.duckdb"
    assert cli("--db", db, "-q", "ingest", SAMPLE / "ecommerce.ndjson").exit_code == 0
    result = cli("--db", db, *args)
    assert result.exit_code in (0, 1), result.stderr
    lines = result.stdout.splitlines()
    assert lines and all(line == line.rstrip() for line in lines)
    rules = [i for i, line in enumerate(lines) if line and set(line) == {"\u2500"}]
    for i in rules:  # the header above each rule, and every row under it, start their columns in one place
        header = lines[i - 1]
        starts = [m.start() for m in re.finditer(r"(?:^|(?<=   ))\S", header)]
        assert len(lines[i]) >= len(header)
        for row in lines[i + 1:]:
            if not row.strip():
                break
            assert all(p == 0 or row[p - 1] == " " for p in starts if p < len(row)), (header, row)


def test_wide_characters_keep_columns_aligned(cli, tmp_path):
    from conftest import run_event, write_ndjson

    db = tmp_path / "w.duckdb"
    events = [run_event("w1", job="j", outputs=[("ns", "東京_orders")]), run_event("w2", job="j", outputs=[("ns", "b")])]
    assert cli("--db", db, "-q", "ingest", write_ndjson(tmp_path / "w.ndjson", events)).exit_code == 0
    lines = cli("--db", db, "ls", "datasets").stdout.splitlines()
    from rich.cells import cell_len

    rows = [line for line in lines if line.startswith("ns ")]
    type_columns = {cell_len(line[:line.index("DATASET")]) for line in rows}
    assert len(rows) == 2 and len(type_columns) == 1


@pytest.mark.parametrize("check", [["residency-check"], ["quality"], ["pii"]])
def test_a_check_over_an_empty_store_says_so_and_exits_2(cli, tmp_path, check):
    db = tmp_path / "empty.duckdb"
    assert cli("--db", db, "migrate").exit_code == 0  # a store with nothing in it
    result = cli("--db", db, "--policy", SAMPLE / "lineagectl.yaml", *check)
    assert result.exit_code == 2 and "holds no datasets" in result.stderr and result.stdout == ""


@pytest.mark.parametrize("word, state", [("failed", "FAIL"), ("FAIL", "FAIL"), ("Complete", "COMPLETE"),
                                         ("success", "COMPLETE")])
def test_run_states_in_any_case_and_the_words_people_use(cli, tmp_path, word, state):
    db = tmp_path / "s.duckdb"
    assert cli("--db", db, "-q", "ingest", SAMPLE / "ecommerce.ndjson").exit_code == 0
    rows = json.loads(cli("--db", db, "ls", "runs", "--state", word, "-f", "json").stdout)
    assert rows and {r["state"] for r in rows} == {state}


def test_an_unknown_run_state_lists_the_states(cli, tmp_path):
    db = tmp_path / "s.duckdb"
    assert cli("--db", db, "-q", "ingest", SAMPLE / "ecommerce.ndjson").exit_code == 0
    result = cli("--db", db, "ls", "runs", "--state", "exploded")
    assert result.exit_code == 2 and "COMPLETE, FAIL" in result.stderr


def test_formats_in_any_case_and_output_named_like_a_format_warns(cli, tmp_path, monkeypatch):
    db = tmp_path / "s.duckdb"
    assert cli("--db", db, "-q", "ingest", SAMPLE / "ecommerce.ndjson").exit_code == 0
    assert json.loads(cli("--db", db, "stats", "-f", "JSON").stdout)["events"] == 173
    monkeypatch.chdir(tmp_path)
    result = cli("--db", db, "stats", "-o", "json")
    assert result.exit_code == 0 and "use -f json" in result.stderr and (tmp_path / "json").exists()


def test_an_empty_answer_says_its_title_once(cli, tmp_path):
    db = tmp_path / "s.duckdb"
    assert cli("--db", db, "-q", "ingest", SAMPLE / "ecommerce.ndjson").exit_code == 0
    lines = cli("--db", db, "ls", "runs", "--state", "abort").stdout.splitlines()
    assert lines == ["runs", "(none)"]


def test_limit_shows_the_first_page_and_says_how_many_more(cli, tmp_path):
    db = tmp_path / "s.duckdb"
    assert cli("--db", db, "-q", "ingest", SAMPLE / "ecommerce.ndjson").exit_code == 0
    every = json.loads(cli("--db", db, "ls", "runs", "-f", "json").stdout)
    page = cli("--db", db, "ls", "runs", "--limit", "3", "-f", "json")
    assert json.loads(page.stdout) == every[:3]
    assert f"… {len(every) - 3} more (of {len(every)})" in page.stderr
    assert json.loads(cli("--db", db, "ls", "runs", "--limit", "0", "-f", "json").stdout) == every
    assert cli("--db", db, "ls", "runs", "--limit", "-1").exit_code == 2
    quiet = cli("--db", db, "-q", "ls", "runs", "-n", "3")
    assert quiet.stderr == "" and len(quiet.stdout.splitlines()) == 3 + 3  # title, header, rule, rows
