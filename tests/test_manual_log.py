"""A hand-written lineage log (one ETL step per line, as teams without an OpenLineage
integration write them) ingests into runs of jobs with table lineage, and column lineage
when the step's SQL is given."""

from __future__ import annotations

import json

from lineagectl import api

STEPS = [
    {"timestamp": "2026-11-20T02:00:00Z", "source": "postgres://db:5432/shop.orders", "job": "daily_sales",
     "destination": "warehouse.daily_sales", "transformation": "SQL", "query_hash": "9f1c",
     "sql": "INSERT INTO warehouse.daily_sales SELECT order_date, sum(amount) AS revenue "
            "FROM shop.orders GROUP BY order_date"},
    {"timestamp": "2026-11-20T03:00:00Z", "sources": ["warehouse.daily_sales", "manual_uploads/targets.xlsx"],
     "destination": ["s3://reports/daily.csv"], "transformation": "Python"},
]


def write(tmp_path, lines) -> str:
    path = tmp_path / "etl_lineage.ndjson"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return str(path)


def test_steps_become_runs_with_table_and_column_lineage(tmp_path, db):
    report = api.ingest([write(tmp_path, STEPS)], db)
    assert (report.events_new, report.events_rejected) == (2, 0)
    down = api.impact("shop.orders", db).payload
    assert [(d["namespace"], d["name"]) for d in down["datasets"]] == [
        ("manual", "warehouse.daily_sales"), ("s3://reports", "daily.csv")]
    assert {j["name"] for j in down["jobs"]} == {"daily_sales", "daily.csv"}
    columns = api.trace("warehouse.daily_sales", db, column="revenue").payload["columns"]
    # The GROUP BY key is dataset-wide influence on every column (INDIRECT GROUP_BY), even without a schema.
    assert [(c["name"], c["column"], c["transformations"][0]["subtype"]) for c in columns] == [
        ("shop.orders", "amount", "AGGREGATION"), ("shop.orders", "order_date", "GROUP_BY")]
    up = api.trace("daily.csv", db).payload
    assert {d["name"] for d in up["datasets"]} == {"warehouse.daily_sales", "manual_uploads/targets.xlsx",
                                                   "shop.orders"}


def test_the_same_step_twice_is_one_run(tmp_path, db):
    api.ingest([write(tmp_path, STEPS)], db)
    again = api.ingest([write(tmp_path, STEPS + STEPS[:1])], db)
    assert (again.events_new, again.events_duplicate) == (0, 3)
    assert api.stats(db).payload["runs"] == 2


def test_a_step_that_says_too_little_is_rejected_with_its_line(tmp_path, db):
    bad = [{"source": "a", "destination": "b"}, {"timestamp": "2026-11-20T00:00:00Z", "source": 3, "destination": "b"},
           {"timestamp": "2026-11-20T00:00:00Z", "source": "a", "destination": "b", "sql": ["x"]}]
    seen: list[str] = []
    path = write(tmp_path, [*bad, STEPS[1]])
    report = api.ingest([path], db, on_reject=seen.append)
    assert (report.events_new, report.events_rejected) == (1, 3)
    assert seen[0] == f"{path}:1: manual lineage line: 'timestamp' is missing (an ISO 8601 time)"
    assert seen[1].startswith(f"{path}:2: manual lineage line: 'source' must be")
    assert seen[2].startswith(f"{path}:3: manual lineage line: 'sql' must be text")
