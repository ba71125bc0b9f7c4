"""Answers on real producers' events (../shared/corpus/openlineage, never copied here) checked
against what the events themselves say: each test reads the JSON it checks against."""

from __future__ import annotations

import json
from pathlib import Path

from lineagectl.api import impact, ingest, trace


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


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
    db = str(tmp_path / "airflow.duckdb")
    ingest([str(log)], db)
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
