"""Conformance over the real OpenLineage corpus in ../shared/corpus (never copied here).

Each folder of concrete events ingests with zero rejects; the spec's invalid
examples are rejected with a reason; a folder's NDJSON plus its single-event
files store each event once; and the store's counts equal what an independent
reading of the events implies.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from lineagectl.api import ingest, stats
from lineagectl.sources.ingest.reader import expand_sources

CONCRETE = {"concrete-event", "concrete-event-array", "DERIVED ndjson"}
FOLDERS = ["compat-airflow", "compat-spark-cll", "compat-spark-dataproc", "datahub-ol-events",
           "marquez-seed", "marquez-tests", "spec-examples"]


def manifest(corpus: Path) -> dict[str, str]:
    with open(corpus / "openlineage" / "MANIFEST.tsv", encoding="utf-8") as f:
        return {row["dest"]: row["kind"] for row in csv.DictReader(f, delimiter="\t")}


def events_of(path: Path) -> list:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ndjson":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    value = json.loads(text)
    return value if isinstance(value, list) else [value]


def is_event(value) -> bool:
    return isinstance(value, dict) and any(k in value for k in ("run", "job", "dataset"))


def concrete_files(corpus: Path, folder: str) -> list[Path]:
    kinds = manifest(corpus)
    base = corpus / "openlineage"
    return sorted(base / dest for dest, kind in kinds.items()
                  if dest.startswith(folder + "/") and kind in CONCRETE)


def column_lineage_inputs(event) -> set:
    """Datasets the outputs' column lineage reads that the event does not name: inputs too."""
    named = {(d["namespace"], d["name"]) for d in (event.get("inputs") or []) + (event.get("outputs") or [])}
    found = set()
    for d in event.get("outputs") or []:
        facet = (d.get("facets") or {}).get("columnLineage") or {}
        if facet.get("_deleted"):
            continue
        fields = [i for f in (facet.get("fields") or {}).values() for i in (f or {}).get("inputFields") or []]
        found.update((i["namespace"], i["name"]) for i in fields + (facet.get("dataset") or [])
                     if i.get("namespace") is not None and i.get("name") is not None)
    return found - named


def expected_counts(events: list[dict]) -> dict:
    """What the events imply, computed independently of lineagectl's code."""
    runs, jobs, datasets, aliases, edges, distinct = set(), set(), set(), set(), set(), set()
    for e in events:
        distinct.add(json.dumps(e, sort_keys=True))
        if "job" in e and isinstance(e["job"], dict):
            jobs.add((e["job"]["namespace"], e["job"]["name"]))
        if "run" in e:
            runs.add(e["run"]["runId"])
        items = [("in", d) for d in e.get("inputs") or []] + [("out", d) for d in e.get("outputs") or []]
        if "dataset" in e and "run" not in e:  # a RunEvent's stray "dataset" key is not a dataset
            items.append((None, e["dataset"]))
        for direction, d in items:
            key = (d["namespace"], d["name"])
            datasets.add(key)
            if direction:
                edges.add((key, (e["job"]["namespace"], e["job"]["name"]), direction))
            facets = d.get("facets") or {}
            for ident in (facets.get("symlinks") or {}).get("identifiers") or []:
                if (ident["namespace"], ident["name"]) != key:
                    aliases.add((ident["namespace"], ident["name"]))
            for spec in ((facets.get("columnLineage") or {}).get("fields") or {}).values():
                datasets.update((f["namespace"], f["name"]) for f in spec.get("inputFields") or [])
            datasets.update((f["namespace"], f["name"])
                            for f in (facets.get("columnLineage") or {}).get("dataset") or [])
        if "job" in e and isinstance(e["job"], dict):
            # What the outputs' column lineage reads is an input of the job too.
            edges.update((key, (e["job"]["namespace"], e["job"]["name"]), "in") for key in column_lineage_inputs(e))
    return {"runs": len(runs), "jobs": len(jobs), "datasets": len(datasets - aliases),
            "events": len(distinct), "dataset_edges": len(edges)}


@pytest.mark.parametrize("folder", FOLDERS)
def test_concrete_events_ingest_without_rejects_and_counts_match(corpus, tmp_path, folder):
    files = concrete_files(corpus, folder)
    assert files, f"no concrete files listed for {folder}"
    events, not_events = [], []
    for path in files:
        for value in events_of(path):
            (events if is_event(value) else not_events).append((path, value))
    rejects = []
    db = str(tmp_path / "c.duckdb")
    event_files = sorted({str(p) for p, _ in events})
    report = ingest(event_files, db, on_reject=rejects.append)
    assert rejects == [] and report.file_errors == []
    assert stats(db).payload | expected_counts([v for _, v in events]) == stats(db).payload
    # Re-ingest changes no count.
    before = {k: v for k, v in stats(db).payload.items() if k != "db_bytes"}
    assert ingest(event_files, db).events_new == 0
    assert {k: v for k, v in stats(db).payload.items() if k != "db_bytes"} == before
    # A file MANIFEST calls an event but that is a facet fragment is rejected as such.
    for path, _ in not_events:
        seen = []
        ingest([str(path)], str(tmp_path / "x.duckdb"), on_reject=seen.append)
        assert seen and "not an OpenLineage event" in seen[0]


def test_ndjson_with_its_single_event_files_stores_each_event_once(corpus, tmp_path):
    folder = corpus / "openlineage" / "compat-airflow"
    db = str(tmp_path / "a.duckdb")
    report = ingest([str(folder)], db)  # events.ndjson + line_01..32.json
    assert report.events_read == 64 and report.events_new == 32 and report.events_duplicate == 32


def test_invalid_spec_examples_are_rejected_with_a_reason_under_strict(corpus, tmp_path):
    kinds = manifest(corpus)
    invalid = sorted(corpus / "openlineage" / d for d, k in kinds.items() if k.startswith("invalid-event"))
    assert len(invalid) == 6
    seen = []
    report = ingest([str(p) for p in invalid], str(tmp_path / "i.duckdb"), strict=True, on_reject=seen.append)
    assert report.events_rejected == 6 and report.events_new == 0 and report.rolled_back
    for path, message in zip(invalid, seen, strict=True):
        assert message.startswith(f"{path}:1: ")
        assert len(message) > len(f"{path}:1: ") + 10  # a real reason follows


def test_invalid_spec_examples_lose_only_their_broken_facet(corpus, tmp_path):
    # Five of the spec's invalid events break one facet: each is stored without it, with a warning
    # naming the file, the line and the facet; the one without a runId is rejected.
    invalid = sorted((corpus / "openlineage" / "spec-examples").glob("fluentd_event_*invalid*.json")) + [
        corpus / "openlineage" / "spec-examples" / "fluentd_event_no_run_id.json"]
    seen = []
    db = str(tmp_path / "i.duckdb")
    report = ingest([str(p) for p in invalid], db, on_reject=seen.append)
    assert (report.events_new, report.events_rejected) == (5, 1)
    assert seen == [f"{invalid[-1]}:1: RunEvent without run.runId"]
    facets = {"dataset_facet": "outputs[0].facets.ownership", "input_dataset_facet":
              "inputs[0].inputFacets.dataQualityMetrics", "job_facet": "job.facets.ownership",
              "output_dataset_facet": "outputs[0].outputFacets.outputStatistics", "run_facet": "run.facets.parent"}
    for path in invalid[:-1]:
        facet = facets[path.stem.removeprefix("fluentd_event_invalid_")]
        assert sum(w.startswith(f"{path}:1: {facet}") and w.endswith(": facet ignored")
                   for w in report.warnings) == 1, report.warnings
    counts = stats(db).payload
    assert (counts["runs"], counts["jobs"], counts["events"]) == (1, 1, 5)


def test_every_concrete_folder_together(corpus, tmp_path):
    files = [p for folder in FOLDERS for p in concrete_files(corpus, folder)
             if all(is_event(v) for v in events_of(p))]
    rejects = []
    db = str(tmp_path / "all.duckdb")
    ingest([str(p) for p in files], db, on_reject=rejects.append)
    assert rejects == []
    all_events = [v for p in files for v in events_of(p)]
    assert stats(db).payload | expected_counts(all_events) == stats(db).payload


def test_directory_expansion_skips_non_event_files(corpus):
    sources = expand_sources([str(corpus / "openlineage" / "compat-airflow")])
    assert len(sources) == 33 and all(s.path.endswith((".json", ".ndjson")) for s in sources)
