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


def test_a_page_larger_than_the_record_cap_streams_pretty_or_on_one_line(tmp_path):
    """Elements are read one by one: the page may be any size, only an element is capped."""
    events = _sample_events()
    page = {"events": events, "totalCount": len(events)}
    expected = _stats(_ingested(tmp_path / "log.duckdb", str(SAMPLE / "ecommerce.ndjson")))
    largest = max(len(json.dumps(event, indent=2)) for event in events)
    for name, text in (("pretty.json", json.dumps(page, indent=2)), ("line.json", json.dumps(page))):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        assert len(text) > 20 * (largest + 100)  # the whole page is far over the cap set below
        db = str(tmp_path / f"{name}.duckdb")
        report = api.ingest([str(path)], db, max_record_bytes=largest + 100)
        assert (report.events_read, report.events_rejected) == (len(events), 0), report.rejects
        assert _stats(db) == expected


def test_a_bad_element_of_a_pretty_page_is_named_by_its_line_and_number(tmp_path):
    events = _sample_events()[:4]
    bad = {"eventTime": "2026-11-20T00:00:00Z", "note": "no run, no job"}
    text = json.dumps({"events": [events[0], events[1], bad, events[3]], "totalCount": 4}, indent=2)
    path = tmp_path / "page.json"
    path.write_text(text, encoding="utf-8")
    report = api.ingest([str(path)], str(tmp_path / "p.duckdb"))
    assert (report.events_read, report.events_rejected) == (4, 1)
    lines = text.splitlines()
    starts = [number for number, line in enumerate(lines, 1) if line == "    {"]
    assert len(starts) == 4
    line_of_bad = starts[2]
    assert report.rejects[0]["line"] == line_of_bad and report.rejects[0]["reason"].startswith("event #3: ")


def test_pages_one_after_another_a_page_without_total_and_a_truncated_page(tmp_path):
    events = _sample_events()[:6]
    two = tmp_path / "two.json"  # curl >> pages.json: two one-line pages
    two.write_text(json.dumps({"events": events[:3], "totalCount": 6}) + "\n"
                   + json.dumps({"events": events[3:], "totalCount": 6}) + "\n", encoding="utf-8")
    report = api.ingest([str(two)], str(tmp_path / "two.duckdb"))
    assert (report.events_read, report.events_new, report.events_rejected) == (6, 6, 0)

    bare = tmp_path / "bare.json"  # the events array alone, without totalCount
    bare.write_text(json.dumps({"events": events}, indent=1), encoding="utf-8")
    assert api.ingest([str(bare)], str(tmp_path / "bare.duckdb")).events_new == 6

    cut = tmp_path / "cut.json"  # a download cut off inside the fourth event
    whole = json.dumps({"events": events, "totalCount": 6})
    cut.write_text(whole[:whole.index(json.dumps(events[3])) + 40], encoding="utf-8")
    report = api.ingest([str(cut)], str(tmp_path / "cut.duckdb"))
    assert (report.events_new, report.events_rejected) == (3, 1)
    assert report.rejects[0]["reason"].startswith("invalid JSON: ") and "(event #4)" in report.rejects[0]["reason"]


def test_a_page_on_one_line_further_down_a_log_counts_its_events(tmp_path):
    events = _sample_events()[:5]
    bad = {"eventTime": "2026-11-20T00:00:00Z"}
    page = {"totalCount": 4, "events": [events[2], bad, events[3], events[4]]}
    path = tmp_path / "mixed.ndjson"
    path.write_text("".join(json.dumps(e) + "\n" for e in events[:2]) + json.dumps(page) + "\n", encoding="utf-8")
    db = str(tmp_path / "m.duckdb")
    report = api.ingest([str(path)], db)
    assert (report.events_read, report.events_new, report.events_duplicate, report.events_rejected) == (6, 5, 0, 1)
    assert report.rejects[0]["line"] == 3 and report.rejects[0]["reason"].startswith("event #2: ")
    again = api.ingest([str(path)], db)
    assert (again.events_read, again.events_new, again.events_duplicate, again.events_rejected) == (6, 0, 5, 1)
