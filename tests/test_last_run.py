"""Which run of a job is its last: runs that end (or start) at the same instant rank by how far
they got, then by run id, and every answer that shows a last run agrees (queries/run_order.py)."""

from __future__ import annotations

from conftest import run_event, write_ndjson
from lineagectl import api
from lineagectl.explore.facts import last_states
from lineagectl.queries.objects import jobs as marquez_jobs
from lineagectl.store import open_store

STARTED_ONLY = "ffffffff-0000-0000-0000-000000000001"  # the larger id: a tie on id alone picks it
COMPLETED = "00000000-0000-0000-0000-000000000002"


def last_state(db: str, name: str, namespace: str) -> str:
    return next(j["last_state"] for j in api.ls("jobs", db).payload
                if (j["namespace"], j["name"]) == (namespace, name))


def test_marquez_tests_mytask_completed(corpus, tmp_path):
    """marquez-tests' myjob.mytask: a run that only STARTed and one that COMPLETEd, all events
    at 19:51:01.641. Its last state is COMPLETE in ls jobs, show and the Marquez API."""
    db = str(tmp_path / "s.duckdb")
    folder = corpus / "openlineage" / "marquez-tests"
    api.ingest([str(folder)], db)  # the whole folder, as the audit did (two files are not events)
    namespace = "my-scheduler-namespace"
    assert last_state(db, "myjob.mytask", namespace) == "COMPLETE"
    runs = api.show("myjob.mytask", db, namespace=namespace, kind="job").payload["runs"]
    assert [r["state"] for r in runs] == ["COMPLETE", "START"]
    _, found = marquez_jobs(db, namespace, name="myjob.mytask")
    assert found[0]["runs"][0]["state"] == "COMPLETE"


def test_ties_go_to_the_run_that_got_furthest(tmp_path):
    """Two runs whose events all share one instant: the COMPLETE run is the last whatever the ids
    or the order of the events; a START beats nothing but an unknown event type."""
    at = "2026-11-20T02:00:00Z"
    for order in (1, -1):
        db = str(tmp_path / f"s{order}.duckdb")
        events = [run_event(STARTED_ONLY, job="load", event_type="START", time=at),
                  run_event(COMPLETED, job="load", event_type="START", time=at),
                  run_event(COMPLETED, job="load", event_type="COMPLETE", time=at)][::order]
        api.ingest([write_ndjson(tmp_path / f"e{order}.ndjson", events)], db)
        assert last_state(db, "load", "airflow://acme") == "COMPLETE"
        with open_store(db) as con:
            job_id = con.execute("SELECT job_id FROM jobs WHERE name = 'load'").fetchall()[0][0]
            assert last_states(con, [], [job_id]) == {f"j{job_id}": "COMPLETE"}
        shown = api.show("load", db, kind="job").payload["runs"]
        assert [r["run_id"] for r in shown] == [COMPLETED, STARTED_ONLY]
