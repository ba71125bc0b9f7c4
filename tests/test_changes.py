"""``changes``: the root-cause report over the sample (exactly its four planted changes) and hand-made cases."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import duckdb
import pytest

from conftest import SAMPLE, run_event, write_ndjson
from lineagectl.api import ingest
from lineagectl.errors import InputError
from lineagectl.operations.changes import changes, duration_text, schema_diff

SINCE = "2026-11-19T00:00:00Z"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> str:
    db = str(tmp_path_factory.mktemp("changes") / "s.duckdb")
    ingest([str(SAMPLE / "ecommerce.ndjson")], db)
    return db


def test_the_sample_shows_its_planted_changes_and_nothing_else(sample):
    con = duckdb.connect(sample, read_only=True)
    datasets = con.execute("SELECT namespace, name FROM datasets").fetchall()
    con.close()
    seen = set()
    for namespace, name in datasets:
        for change in changes(name, sample, since=SINCE, namespace=namespace).payload["changes"]:
            seen.add((change["kind"], change["name"], change["summary"]))
    assert seen == {
        ("schema", "shop.public.orders", "schema: added discount DECIMAL(12,2)"),
        ("sql", "analytics.eu_order_amounts", "SQL changed: new filter o.status <> 'cancelled'"),
        ("failed_run", "analytics.daily_revenue",
         "run FAIL: 403 Quota exceeded: Your project exceeded quota for concurrent queries. For more information, "
         "see https://cloud.google.com/bigquery/docs/troubleshoot-quotas"),
        ("gap", "ingest.clickstream", "no successful run for 3 h 10 min (usual interval 1 h)"),
    }


def test_newest_first_with_distances(sample):
    report = changes("user_features", sample, since=SINCE).payload
    got = [(c["kind"], c["name"], c["distance"], c["time"][:16]) for c in report["changes"]]
    assert got == [("gap", "ingest.clickstream", 1, "2026-11-21T12:15"),
                   ("schema", "shop.public.orders", 2, "2026-11-21T02:03")]
    gap = report["changes"][0]["details"]
    assert (gap["last_success"][:16], gap["usual_interval_seconds"]) == ("2026-11-21T09:05", 3600)
    sql = changes("eu_order_amounts", sample, since=SINCE).payload["changes"][0]
    assert sql["distance"] == 0 and "+  AND o.status <> 'cancelled'" in sql["details"]["diff"]
    assert sql["details"]["added_conditions"] == ["o.status <> 'cancelled'"]
    assert changes("user_features", sample, since="2026-11-23T00:00:00Z").payload["changes"] == []
    # --depth 0: the dataset itself only.
    own = changes("shop.public.orders", sample, since=SINCE, depth=0, namespace="postgres://db.eu.acme.internal:5432")
    assert [c["kind"] for c in own.payload["changes"]] == ["schema"]


def hour(n: float) -> str:
    return (datetime(2026, 11, 1) + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_retyped_and_removed_columns_joins_aborts_and_ongoing_gaps(tmp_path):
    def schema(**cols):
        return {"schema": {"_producer": "t", "_schemaURL": "t",
                           "fields": [{"name": k, "type": v} for k, v in cols.items()]}}

    def sql(query):
        return {"sql": {"_producer": "t", "_schemaURL": "t", "query": query, "dialect": "postgres"}}

    events = [run_event(f"r{i}", job="load", time=hour(i), inputs=[("pg", "raw.t", schema(a="INT", b="TEXT"))],
                        outputs=[("pg", "mart.t")], job_facets=sql("SELECT a FROM raw.t")) for i in range(4)]
    events.append(run_event("r4", job="load", time=hour(4), inputs=[("pg", "raw.t", schema(a="BIGINT"))],
                            outputs=[("pg", "mart.t")],
                            job_facets=sql("SELECT t.a FROM raw.t t JOIN raw.u u ON t.a = u.a")))
    events.append(run_event("r5", job="load", event_type="ABORT", time=hour(5), outputs=[("pg", "mart.t")]))
    events.append(run_event("other", job="elsewhere", time=hour(12), outputs=[("pg", "x")]))  # newest event
    db = str(tmp_path / "h.duckdb")
    ingest([write_ndjson(tmp_path / "e.ndjson", events)], db)
    found = {c["kind"]: c for c in changes("mart.t", db, since=hour(0)).payload["changes"]}
    assert found["schema"]["details"]["retyped"] == [{"name": "a", "from": "INT", "to": "BIGINT"}]
    assert found["schema"]["details"]["removed"] == [{"name": "b", "type": "TEXT"}]
    assert found["sql"]["details"]["added_joins"] == ["raw.u AS u"]
    assert found["failed_run"]["details"]["state"] == "ABORT"
    # Hourly successes, then none for 8 hours up to the newest event in the store.
    assert found["gap"]["summary"] == "no successful run for 8 h so far (usual interval 1 h)"


def test_a_reverted_sql_is_a_change_again(tmp_path):
    def sql(query):
        return {"sql": {"_producer": "t", "_schemaURL": "t", "query": query, "dialect": "postgres"}}

    first, second = "SELECT a FROM raw.t", "SELECT a FROM raw.t WHERE a > 0"
    queries = [first, first, second, second, first, first]  # a filter deployed, then rolled back
    events = [run_event(f"r{i}", job="load", time=hour(i), inputs=[("pg", "raw.t")], outputs=[("pg", "mart.t")],
                        job_facets=sql(query)) for i, query in enumerate(queries)]
    db = str(tmp_path / "h.duckdb")
    # Out of order and in two files: the history is the events' times, not the arrival order.
    ingest([write_ndjson(tmp_path / "late.ndjson", events[3:]), write_ndjson(tmp_path / "early.ndjson", events[:3])],
           db)
    found = [c for c in changes("mart.t", db, since=hour(0)).payload["changes"] if c["kind"] == "sql"]
    assert [(c["time"], c["summary"]) for c in found] == [
        (hour(4), "SQL changed: dropped filter a > 0"), (hour(2), "SQL changed: new filter a > 0")]
    assert [c["summary"] for c in changes("mart.t", db, since=hour(3)).payload["changes"]
            if c["kind"] == "sql"] == ["SQL changed: dropped filter a > 0"]


def test_helpers():
    assert duration_text(timedelta(hours=3, minutes=10)) == "3 h 10 min"
    assert duration_text(timedelta(days=2, hours=4, minutes=5)) == "2 d 4 h"
    assert schema_diff([{"name": "a", "type": "int"}], [{"name": "a", "type": "INT"}]) == {
        "added": [], "removed": [], "retyped": []}  # type names compare case-insensitively


def test_cli(cli, sample):
    result = cli("--db", sample, "changes", "user_features", "--since", SINCE, "-f", "json")
    assert result.exit_code == 0 and len(json.loads(result.stdout)["changes"]) == 2
    assert cli("--db", sample, "changes", "nope").exit_code == 2
    bad = cli("--db", sample, "changes", "user_features", "--since", "yesterday-ish")
    assert bad.exit_code == 2 and "--since" in bad.stderr
    with pytest.raises(InputError):
        changes("user_features", sample, depth=-1)


@pytest.mark.parametrize("before, after, added", [
    ("SELECT a FROM t", "SELECT a FROM t WHERE b > 1", {"b > 1"}),
    ("SELECT a, count(*) AS n FROM t GROUP BY a", "SELECT a, count(*) AS n FROM t GROUP BY a HAVING count(*) > 5",
     {"COUNT(*) > 5"}),
    ("SELECT a FROM t", "SELECT a FROM t QUALIFY row_number() OVER (PARTITION BY a ORDER BY b) = 1 AND a > 0",
     {"ROW_NUMBER() OVER (PARTITION BY a ORDER BY b) = 1", "a > 0"}),
])
def test_having_and_qualify_conditions_are_filters(before, after, added):
    from lineagectl.operations.changes import sql_clauses

    old, new = sql_clauses(before, "snowflake"), sql_clauses(after, "snowflake")
    assert new[0] - old[0] == added and old[0] - new[0] == set()


def test_a_dialect_alias_reads_the_sql_as_its_engine():
    from lineagectl.operations.changes import sql_clauses

    # "sqlserver" is a producer's name for T-SQL; [brackets] only parse as T-SQL identifiers.
    assert sql_clauses("SELECT [a] FROM [t] WHERE [b] = 1", "sqlserver") == ({"[b] = 1"}, set())


def test_a_schema_that_comes_back_is_a_change_too(tmp_path):
    # a, b -> a, b, c -> a, b: the third schema's payload was stored at its first sight, so the
    # history read by payload saw only the first change and never that c was removed again.
    def load(day: int, *columns: str) -> dict:
        schema = {"schema": {"fields": [{"name": c, "type": "int"} for c in columns]}}
        return run_event(f"00000000-0000-4000-8000-00000000000{day}", job="load", time=f"2026-11-2{day}T00:00:00Z",
                         outputs=[("pg", "t", schema)])

    db = str(tmp_path / "store.duckdb")
    ingest([write_ndjson(tmp_path / "e.ndjson", [load(1, "a", "b"), load(2, "a", "b", "c"), load(3, "a", "b")])], db)
    found = changes("t", db, since="2026-11-01").payload["changes"]
    assert [(c["time"], c["summary"]) for c in found] == [
        ("2026-11-23T00:00:00Z", "schema: removed c"), ("2026-11-22T00:00:00Z", "schema: added c int")]
