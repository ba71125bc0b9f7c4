"""The time budget of one statement's column lineage (sources/sql_budget.py), on SQL that really
takes long: a CTE chain whose every column reads both columns of the level before costs time
exponential in its depth (18 levels: tens of seconds of CPU without a budget)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import duckdb
import pytest

from lineagectl import api
from lineagectl.errors import InputError
from lineagectl.sources.dbt.lineage import lineage_of_models
from lineagectl.sources.sql_budget import (
    DEFAULT_SECONDS,
    StatementTimeout,
    budget_seconds,
    call_within,
    can_interrupt,
    map_within,
    time_budget,
)
from lineagectl.sources.sql_lineage import SqlLineageError, column_lineage

TINY = 0.2  # seconds: the slow statement needs hundreds of times more


def slow_sql(levels: int = 18, table: str = "db.s.src", columns: tuple[str, str] = ("a", "b")) -> str:
    """A statement whose column lineage has 2**levels paths per output column."""
    a, b = columns
    ctes = [f"c0 as (select {a} as a, {b} as b from {table})"]
    ctes += [f"c{i} as (select c{i - 1}.a + c{i - 1}.b as a, c{i - 1}.a - c{i - 1}.b as b from c{i - 1})"
             for i in range(1, levels)]
    return f"with {', '.join(ctes)} select a as {a}, b as {b} from c{levels - 1}"


QUICK = "select a, b + 1 as c from db.s.src where a > 0"
RELATIONS = {"db.s.src": ("warehouse", "db.s.src")}


def test_a_statement_past_its_budget_is_stopped_and_reported():
    handler = signal.getsignal(signal.SIGPROF)
    with pytest.raises(StatementTimeout) as raised:
        call_within(TINY, column_lineage, slow_sql())
    assert isinstance(raised.value, SqlLineageError)  # reported like any statement whose columns fail
    assert str(raised.value) == "took longer than 0.2 s (--sql-timeout): skipped"
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)  # no timer left behind
    assert signal.getsignal(signal.SIGPROF) == handler  # nor a handler


def test_a_statement_within_its_budget_answers_as_without_one():
    assert call_within(DEFAULT_SECONDS, column_lineage, QUICK) == column_lineage(QUICK)
    assert call_within(None, column_lineage, QUICK) == column_lineage(QUICK)  # None: no limit here


def test_a_timer_the_caller_armed_is_left_alone():
    signal.setitimer(signal.ITIMER_PROF, 100)
    try:
        assert not can_interrupt()
        with time_budget(TINY):
            edges = column_lineage(slow_sql(12))  # about a second of CPU: several budgets
        remaining, _ = signal.getitimer(signal.ITIMER_PROF)
        assert edges and 90 < remaining <= 100
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)


def test_off_the_main_thread_the_budget_cannot_apply_and_the_block_runs():
    found: dict = {}

    def work() -> None:
        found["interruptible"] = can_interrupt()
        with time_budget(TINY):
            found["edges"] = column_lineage(slow_sql(12))  # about a second: several budgets

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert found["interruptible"] is False and found["edges"]
    assert can_interrupt()  # the main thread can


def test_budget_values_as_callers_give_them():
    assert budget_seconds(None) == DEFAULT_SECONDS
    assert budget_seconds(0) is None  # no limit
    assert budget_seconds(2.5) == 2.5
    for bad in (-1, float("nan")):
        with pytest.raises(InputError):
            budget_seconds(bad)


@pytest.mark.parametrize("workers", [1, 2])
def test_one_pathological_model_costs_its_own_column_lineage_only(workers):
    work = [(f"model.p.m{i}", QUICK) for i in range(12)]
    work[5] = ("model.p.slow", slow_sql())
    found = list(lineage_of_models(work, None, {}, RELATIONS, {}, TINY, workers=workers))
    assert [uid for uid, _, _ in found] == [uid for uid, _ in work]  # all of them, in order
    warnings = {uid: warning for uid, _, warning in found if warning}
    assert warnings == {"model.p.slow": "took longer than 0.2 s (--sql-timeout): skipped"}
    quick = next(lineage_of_models(work[:1], None, {}, RELATIONS, {}, None, workers=1))[1]
    assert quick is not None
    assert all(facet == quick for uid, facet, _ in found if uid != "model.p.slow")


def _stubborn(item: str) -> str:
    """Ignores its budget as code stuck outside the interpreter would: the timer's signal blocked,
    and waiting (no CPU time spent) rather than working."""
    if item == "stuck":
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGPROF})
        time.sleep(120)
    return item.upper()


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_an_expiry_python_swallowed_fires_again():
    # An exception raised in a gc callback or a __del__ is ignored by Python; with sqlglot compiled the
    # timer's signal often lands there first (seen in CI: hypothesis's gc callback ate the expiry and
    # the statement ran unbounded). The budget must fire again until the block has left.
    swallowed = []
    with pytest.raises(StatementTimeout), time_budget(TINY):
        try:
            _burn(5)
        except BaseException as exc:  # stands for the gc callback that ignores it
            swallowed.append(type(exc).__name__)
        _burn(5)  # without a second firing this runs to its end and no timeout is raised
    assert swallowed == ["_Expired"]
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)  # nothing left armed


def test_a_worker_that_cannot_stop_is_killed_and_the_rest_continue():
    items = ["a", "b", "c", "stuck", "d", "e", "f", "g", "h"]
    found = list(map_within(_stubborn, items, TINY, 2, grace=0.5))
    assert [f if isinstance(f, str) else "timeout" for f in found] == \
        ["A", "B", "C", "timeout", "D", "E", "F", "G", "H"]


def test_ingest_skips_the_column_lineage_of_a_slow_model_and_keeps_its_table_lineage(corpus, tmp_path):
    manifest = json.loads((corpus / "dbt" / "jaffle_shop.v12.dbt1.12.manifest.json").read_text())
    slow = "model.jaffle_shop.locations"
    manifest["nodes"][slow]["compiled_code"] = slow_sql(
        table='"jaffle_shop"."main"."stg_locations"', columns=("location_id", "tax_rate"))
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    db = str(tmp_path / "lineage.duckdb")
    done = subprocess.run([sys.executable, "-m", "lineagectl", "--db", db, "ingest", str(path),
                           "--sql-timeout", str(TINY)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (f"Warning: {slow}: no column lineage (table lineage kept): took longer than 0.2 s "
            "(--sql-timeout): skipped") in done.stderr.splitlines()
    with duckdb.connect(db, read_only=True) as con:
        targets = {row[0] for row in con.execute(
            "SELECT DISTINCT d.name FROM column_edges e JOIN datasets d ON d.dataset_id = e.dataset_id").fetchall()}
    assert "jaffle_shop.main.locations" not in targets
    assert {"jaffle_shop.main.customers", "jaffle_shop.main.orders"} <= targets  # the others kept theirs
    trace = subprocess.run([sys.executable, "-m", "lineagectl", "--db", db, "trace", "jaffle_shop.main.locations",
                            "-f", "json"], capture_output=True, text=True, timeout=60)
    assert trace.returncode == 0, trace.stderr
    upstream = {d["name"] for d in json.loads(trace.stdout)["datasets"]}
    assert "jaffle_shop.main.stg_locations" in upstream  # its table lineage is stored


def test_a_negative_sql_timeout_is_a_usage_error(corpus, tmp_path):
    done = subprocess.run([sys.executable, "-m", "lineagectl", "--db", str(tmp_path / "x.duckdb"), "ingest",
                           str(corpus / "dbt" / "jaffle_shop.v12.dbt1.12.manifest.json"), "--sql-timeout", "-1"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr


# Where statements are read in process: `lineagectl sql`, api.sql_lineage, ingest of SQL scripts.
SKIPPED = "took longer than 0.2 s (--sql-timeout): skipped"


def test_api_reports_the_slow_statement_and_answers_the_others():
    script = f"create table db.s.slow as {slow_sql()};\ncreate table db.s.quick as select a, b + 1 as c from db.s.src"
    slow, quick = api.sql_lineage(script, timeout=TINY).payload["statements"]
    assert slow["targets"] == ["db.s.slow"] and slow["sources"] == ["db.s.src"]  # its tables still answer
    assert slow["columns"] == [] and slow["errors"] == [f"column lineage of db.s.slow: {SKIPPED}"]
    assert quick["errors"] == [] and {(c["column"], c["source_column"]) for c in quick["columns"]} == \
        {("a", "a"), ("c", "b")}


def test_the_sql_command_takes_the_budget(tmp_path):
    path = tmp_path / "slow.sql"
    path.write_text(slow_sql())
    done = subprocess.run([sys.executable, "-m", "lineagectl", "sql", str(path), "--sql-timeout", str(TINY),
                           "-f", "json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    statement = json.loads(done.stdout)["statements"][0]
    assert statement["errors"] == [f"column lineage: {SKIPPED}"] and statement["sources"] == ["db.s.src"]


def test_ingest_of_a_script_keeps_the_tables_of_a_slow_statement(tmp_path):
    script = tmp_path / "etl.sql"
    script.write_text(f"insert into db.s.slow {slow_sql()};\n"
                      "insert into db.s.quick select a, b + 1 as c from db.s.src;\n")
    db = str(tmp_path / "lineage.duckdb")
    done = subprocess.run([sys.executable, "-m", "lineagectl", "--db", db, "ingest", str(script),
                           "--sql-timeout", str(TINY)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"Warning: {script}: statement 1: column lineage of db.s.slow: {SKIPPED}" in done.stderr.splitlines()
    with duckdb.connect(db, read_only=True) as con:
        with_columns = {r[0] for r in con.execute(
            "SELECT DISTINCT d.name FROM column_edges e JOIN datasets d ON d.dataset_id = e.dataset_id").fetchall()}
    assert with_columns == {"db.s.quick"}
    trace = api.trace("db.s.slow", db).payload
    assert "db.s.src" in {d["name"] for d in trace["datasets"]}  # the slow statement's table lineage
