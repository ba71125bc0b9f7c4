"""An event pretty-printed over several lines in the middle of an NDJSON log (someone appended
``jq . event.json`` or ``json.dumps(event, indent=2)`` to it) is read as one event; a broken one is
one reject at the line it starts on, never one reject per line."""

from __future__ import annotations

import json

import pytest

from conftest import run_event


def _event(i: int) -> dict:
    return run_event(f"0190a3a0-0000-7000-8000-{i:012d}", job=f"job{i}", time=f"2024-05-01T10:0{i}:00Z",
                     inputs=[("pg", "raw.src")], outputs=[("pg", f"mart.t{i}", {"schema": {"fields": [
                         {"name": "id", "type": "INT"}, {"name": "nested", "type": "STRUCT", "fields": [
                             {"name": "a", "type": "INT"}]}]}})])


def _ingest(cli, tmp_path, text: str):
    path = tmp_path / "log.ndjson"
    path.write_text(text)
    db = str(tmp_path / "s.duckdb")
    result = cli("--db", db, "ingest", str(path), "-f", "json")
    return path, db, result, json.loads(result.stdout)


@pytest.mark.parametrize("indent", [2, 4, "\t"])
def test_a_pretty_event_among_compact_lines_is_read(cli, tmp_path, indent):
    events = [_event(i) for i in range(1, 6)]
    text = "".join([json.dumps(events[0]) + "\n", json.dumps(events[1]) + "\n",
                    json.dumps(events[2], indent=indent) + "\n",
                    json.dumps(events[3]) + "\n", json.dumps(events[4], indent=indent) + "\n"])
    _, db, result, report = _ingest(cli, tmp_path, text)
    assert result.exit_code == 0, result.stderr
    assert (report["events_read"], report["events_new"], report["events_rejected"]) == (5, 5, 0)
    runs = json.loads(cli("--db", db, "ls", "runs", "-f", "json").stdout)
    assert sorted(r["job"] for r in runs) == ["job1", "job2", "job3", "job4", "job5"]
    exported = cli("export", "--db", db).stdout.splitlines()
    assert sorted(map(json.loads, exported), key=lambda e: e["eventTime"]) == events


def test_a_truncated_pretty_event_is_one_reject_and_the_log_goes_on(cli, tmp_path):
    pretty = json.dumps(_event(2), indent=2).splitlines()
    cut = pretty[: len(pretty) // 2]  # a crash mid-write, then the producer went on
    lines = [json.dumps(_event(1)), *cut, json.dumps(_event(3)), json.dumps(_event(4))]
    path, _, result, report = _ingest(cli, tmp_path, "\n".join(lines) + "\n")
    assert result.exit_code == 1
    assert (report["events_new"], report["events_rejected"]) == (3, 1)
    [reject] = report["rejects"]
    assert reject["line"] == 2
    assert reject["reason"].startswith(f"invalid JSON: an object spread over lines 2-{1 + len(cut)} is not complete")
    assert "one event per line" in reject["reason"]  # the hint
    assert result.stderr.count(f"{path}:") == 1


def test_a_pretty_event_cut_at_the_end_of_the_file_is_one_reject(cli, tmp_path):
    pretty = json.dumps(_event(2), indent=2).splitlines()
    lines = [json.dumps(_event(1)), *pretty[:-3]]
    _, _, _, report = _ingest(cli, tmp_path, "\n".join(lines) + "\n")
    assert (report["events_new"], report["events_rejected"]) == (1, 1)
    assert report["rejects"][0]["line"] == 2 and "is not complete" in report["rejects"][0]["reason"]


def test_a_broken_pretty_event_is_one_reject_naming_its_lines(cli, tmp_path):
    pretty = json.dumps(_event(2), indent=2).splitlines()
    assert pretty[1].endswith(",")
    pretty[1] = pretty[1].rstrip(",")  # a missing comma inside
    lines = [json.dumps(_event(1)), *pretty, json.dumps(_event(3))]
    _, _, _, report = _ingest(cli, tmp_path, "\n".join(lines) + "\n")
    assert (report["events_new"], report["events_rejected"]) == (2, 1)
    [reject] = report["rejects"]
    assert reject["line"] == 4  # where the comma is missing, as a pretty-printed file's errors are placed
    assert reject["reason"].startswith("invalid JSON: unexpected character")
    assert f"the object spread over lines 2-{1 + len(pretty)}" in reject["reason"]


def test_a_torn_compact_line_is_still_one_bad_line(cli, tmp_path):
    # Only an object opened on a line of its own is read over several lines: a line torn
    # mid-write keeps costing only itself, whatever follows it.
    good = [json.dumps(_event(i)) for i in range(1, 4)]
    for torn in (good[1][:40], "{"):
        _, _, _, report = _ingest(cli, tmp_path, "\n".join([good[0], torn, good[1], good[2]]) + "\n")
        assert (report["events_read"], report["events_rejected"]) == (4, 1), torn
        assert report["rejects"][0]["line"] == 2
        (tmp_path / "s.duckdb").unlink()
