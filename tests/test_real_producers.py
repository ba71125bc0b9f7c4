"""Answers on real producers' events (../shared/corpus/openlineage, never copied here) checked
against what the events themselves say: each test reads the JSON it checks against."""

from __future__ import annotations

import json
from pathlib import Path

from lineagectl.api import graph, graph_page, impact, ingest, show, trace


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _stored(log: Path, tmp_path: Path) -> str:
    """A new store holding the events of ``log`` (a store per log folder)."""
    db = str(tmp_path / f"{log.parent.name}.duckdb")
    ingest([str(log)], db)
    return db


def _job_owners(events: list[dict]) -> dict[str, set[str]]:
    """Each job's owners as its events' ``ownership`` job facets name them."""
    owners: dict[str, set[str]] = {}
    for event in events:
        facet = ((event.get("job") or {}).get("facets") or {}).get("ownership") or {}
        owners.setdefault(event["job"]["name"], set()).update(o["name"] for o in facet.get("owners") or [])
    return owners


def test_airflow_job_owners_are_warned_by_impact_and_named_by_trace(corpus, tmp_path):
    # Airflow sends ownership on the job (OwnershipJobFacet), never on a dataset: the owners of the
    # tasks that read a dataset are whom its change breaks.
    log = corpus / "openlineage" / "compat-airflow" / "events.ndjson"
    db = _stored(log, tmp_path)
    owners = _job_owners(_events(log))
    assert owners["gcs_hook.delete"]  # the producer named an owner

    down = impact("to_be_deleted.txt", db).payload  # read only by gcs_hook.delete, which writes nothing
    assert down["datasets"] == []
    assert [(j["name"], set(j["owners"])) for j in down["jobs"]] == [("gcs_hook.delete", owners["gcs_hook.delete"])]
    assert set(down["owners"]) == owners["gcs_hook.delete"]

    up = trace("result.csv", db).payload  # BQ.download <- BQ.copy <- BQ.upload
    assert {j["name"]: set(j["owners"]) for j in up["jobs"]} == {
        name: owners[name] for name in ("BQ.download", "BQ.copy", "BQ.upload")}
    assert set(up["owners"]) == set().union(*(owners[n] for n in ("BQ.download", "BQ.copy", "BQ.upload")))


def _readers_and_writers(events: list[dict], name: str) -> tuple[set[str], set[str]]:
    """The jobs whose events name dataset ``name`` as an input, and as an output."""
    readers, writers = set(), set()
    for event in events:
        for side, jobs in (("inputs", readers), ("outputs", writers)):
            if any(d["name"] == name for d in event.get(side) or []):
                jobs.add(event["job"]["name"])
    return readers, writers


def _graph_jobs(payload: dict, root_id: str) -> tuple[set[str], set[str]]:
    """The jobs a graph draws reading the root, and writing it."""
    names = {n["id"]: n["name"] for n in payload["nodes"] if n["kind"] == "job"}
    return ({names[e["target"]] for e in payload["edges"] if e["source"] == root_id and e["target"] in names},
            {names[e["source"]] for e in payload["edges"] if e["target"] == root_id and e["source"] in names})


def test_graph_draws_the_jobs_that_only_read_or_only_write_the_dataset(corpus, tmp_path):
    # Airflow's GCS delete task reads a file and writes nothing, the upload task writes it from
    # nothing the events name; Spark's DROP/CREATE TABLE and INSERT VALUES jobs write a Hive table
    # and read nothing. The graph drew neither: the dataset stood alone.
    cases = [(corpus / "openlineage" / "compat-airflow" / "events.ndjson", "to_be_deleted.txt"),
             (corpus / "openlineage" / "compat-spark-dataproc" / "hive-simple.ndjson", "/user/hive/warehouse/t1")]
    for log, name in cases:
        db = _stored(log, tmp_path)
        readers, writers = _readers_and_writers(_events(log), name)
        payload = graph(name, db, depth=1).payload
        root_id = next(n["id"] for n in payload["nodes"] if n["root"])
        assert writers and _graph_jobs(payload, root_id) == (readers, writers), log.parent.name
        # The HTML explorer's focus page draws them too.
        page = graph_page(name, db, depth=1).payload
        assert {n["name"] for n in page["nodes"] if n["id"].startswith("j")} == readers | writers, log.parent.name
    # Without the jobs, a job with one side only links nothing: no edge is invented.
    alone = graph("to_be_deleted.txt", str(tmp_path / "compat-airflow.duckdb"), depth=1, datasets_only=True)
    assert alone.payload["edges"] == [] and len(alone.payload["nodes"]) == 1


def test_airflow_task_and_dag_run_hierarchy_from_the_parent_run_facet(corpus, tmp_path):
    # Every Airflow task event names its DAG run in a parent run facet (task -> DAG run); Spark's
    # query jobs name their application run the same way.
    for log in (corpus / "openlineage" / "compat-airflow" / "events.ndjson",
                corpus / "openlineage" / "compat-spark-cll" / "events.ndjson"):
        db = _stored(log, tmp_path)
        parents: dict[str, tuple[str, str]] = {}
        for event in _events(log):
            facet = ((event.get("run") or {}).get("facets") or {}).get("parent")
            if facet:
                parents[event["job"]["name"]] = (facet["job"]["name"], facet["run"]["runId"])
        assert parents, log.parent.name
        for task, (dag, dag_run) in parents.items():
            job = show(task, db, kind="job").payload
            assert job["parent"]["name"] == dag and job["children"] == [], task
            assert {r["parent_run_id"] for r in job["runs"]} == {dag_run}, task
        for dag in {dag for dag, _ in parents.values()}:
            job = show(dag, db, kind="job").payload
            assert job["parent"] is None
            assert {c["name"] for c in job["children"]} == {t for t, (d, _) in parents.items() if d == dag}, dag


def _column_transformations(events: list[dict]) -> dict[tuple[str, str, str, str], set[tuple]]:
    """Every (input dataset, input field, output dataset, output column) pair of the events'
    columnLineage ``fields`` with the set of (type, subtype, masking) recorded for it."""
    pairs: dict[tuple[str, str, str, str], set[tuple]] = {}
    for event in events:
        for output in event.get("outputs") or []:
            facet = (output.get("facets") or {}).get("columnLineage") or {}
            for column, spec in (facet.get("fields") or {}).items():
                for source in spec.get("inputFields") or []:
                    found = pairs.setdefault((source["name"], source["field"], output["name"], column), set())
                    found.update((t["type"], t.get("subtype"), bool(t.get("masking")))
                                 for t in source.get("transformations") or [])
    return pairs


def test_a_column_hop_shows_every_transformation_spark_records_for_it(corpus, tmp_path):
    # Spark's integration sends several transformations for one input column (DIRECT/IDENTITY
    # with the INDIRECT GROUP_BY, JOIN and FILTER that shaped it); a path takes one edge per hop,
    # and the hop showed that edge's alone.
    log = corpus / "openlineage" / "compat-spark-cll" / "events.ndjson"
    db = _stored(log, tmp_path)
    pairs = _column_transformations(_events(log))
    assert any(len(found) > 1 for found in pairs.values())  # the case this test is about
    for source, field in {(s, f) for s, f, _, _ in pairs}:
        down = impact(source, db, column=field).payload
        hops = {(c["name"], c["column"]): c["transformations"][0] for c in down["columns"] if c["depth"] == 1}
        expected = {(o, c): found for (s, f, o, c), found in pairs.items() if (s, f) == (source, field)}
        assert set(hops) == set(expected), (source, field)
        for key, hop in hops.items():
            shown = [hop, *hop.get("also", [])]
            assert {(t["type"], t["subtype"], t["masking"]) for t in shown} == expected[key], key
            assert len(shown) == len(expected[key])  # each once
            # The one the path takes is a copy where there is one, not the filter.
            assert (hop["type"] == "DIRECT") == any(t[0] == "DIRECT" for t in expected[key]), key
        # The tree (what the terminal draws) names them all too.
        nodes = [n for n in impact(source, db, column=field).tree if n["transformation"]]
        assert nodes
        for node in nodes:
            shown = [node["transformation"], *node["transformation"].get("also", [])]
            assert {(t["type"], t["subtype"], t["masking"]) for t in shown} == expected[(node["name"], node["column"])]
