"""``ingest`` reads a page of Marquez's event export (``{"totalCount": N, "events": [...]}``, what
``GET /api/v1/events/lineage`` answers), pretty-printed or on one line as ``curl`` saves it: the
same store as the events' NDJSON log; a bad element is rejected as ``event #N`` like an array's."""

from __future__ import annotations

import json

from conftest import SAMPLE
from lineagectl import api


def _sample_events() -> list[dict]:
    with open(SAMPLE / "ecommerce.ndjson", encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


def _stats(db: str) -> dict:
    return {k: v for k, v in api.stats(db).payload.items() if k != "db_bytes"}


def test_a_page_pretty_or_on_one_line_ingests_like_the_log(tmp_path):
    events = _sample_events()
    page = {"totalCount": len(events), "events": list(reversed(events))}  # Marquez pages newest first
    pretty, one_line = tmp_path / "page.json", tmp_path / "page-curl.json"
    pretty.write_text(json.dumps(page, indent=2), encoding="utf-8")
    one_line.write_text(json.dumps(page, separators=(",", ":")), encoding="utf-8")

    expected = _stats(_ingested(tmp_path / "log.duckdb", str(SAMPLE / "ecommerce.ndjson")))
    assert expected["events"] > 100
    for source in (pretty, one_line):
        db = tmp_path / f"{source.stem}.duckdb"
        report = api.ingest([str(source)], str(db))
        assert report.events_read == len(events) and report.events_rejected == 0, report.rejects
        assert _stats(str(db)) == expected


def test_a_bad_element_is_rejected_by_its_number(tmp_path):
    events = _sample_events()[:3]
    page = {"totalCount": 3, "events": [events[0], {"eventTime": "2026-11-20T00:00:00Z"}, events[2]]}
    for name, text in (("pretty.json", json.dumps(page, indent=2)), ("line.json", json.dumps(page))):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        report = api.ingest([str(path)], str(tmp_path / f"{name}.duckdb"))
        assert (report.events_read, report.events_rejected) == (3, 1)
        reject = report.rejects[0]
        assert reject["file"] == str(path) and reject["reason"].startswith("event #2: "), reject


def test_an_object_that_is_no_page_is_still_one_bad_event(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"totalCount": 1, "items": []}), encoding="utf-8")
    report = api.ingest([str(path)], str(tmp_path / "o.duckdb"))
    assert (report.events_read, report.events_rejected) == (1, 1)


def _ingested(db, source: str) -> str:
    api.ingest([source], str(db))
    return str(db)
