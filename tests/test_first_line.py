"""A damaged first line, a byte-order mark or an oversized line loses only that line.

Producers crash mid-write and restart, logs are cut mid-line by rotation, tools
prepend headers and byte-order marks: each of these used to make the whole file
look like one broken JSON document. Every line keeps its own number.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import pytest

from conftest import run_event
from lineagectl.api import ingest, stats

LONG = os.environ.get("LINEAGECTL_FUZZ") == "long"
GOOD = [json.dumps(run_event(f"r{i}", outputs=[("pg", f"t{i}")])) for i in range(3)]


def ingest_text(tmp_path, db, text: bytes, name: str = "log.ndjson"):
    path = tmp_path / name
    path.write_bytes(text)
    seen: list[str] = []
    report = ingest([str(path)], db, on_reject=seen.append)
    return path, report, seen


@pytest.mark.parametrize("first", [
    GOOD[0][: len(GOOD[0]) // 2],          # torn: the producer crashed mid-write
    GOOD[0][len(GOOD[0]) // 2:],           # cut: the file starts mid-line (rotation)
    "# events exported 2026-12-01",        # a header
    "eventType,eventTime",                 # not JSON at all
])
def test_a_bad_first_line_loses_only_that_line(tmp_path, db, first):
    text = "\n".join([first, *GOOD]) + "\n"
    path, report, seen = ingest_text(tmp_path, db, text.encode())
    assert (report.events_read, report.events_new, report.events_rejected) == (4, 3, 1)
    assert len(seen) == 1 and seen[0].startswith(f"{path}:1: ")


def test_blank_lines_before_a_bad_first_line_keep_the_numbers_right(tmp_path, db):
    text = "\n\n" + GOOD[1][:20] + "\n\n" + GOOD[0] + "\nnot json\n" + GOOD[2] + "\n"
    path, report, seen = ingest_text(tmp_path, db, text.encode())
    assert report.events_new == 2
    assert [s.split(": ")[0] for s in seen] == [f"{path}:3", f"{path}:6"]


@pytest.mark.parametrize("layout", ["ndjson", "pretty", "array"])
def test_a_byte_order_mark_is_skipped(tmp_path, db, layout):
    events = [run_event(f"b{i}") for i in range(2)]
    body = {"ndjson": "\n".join(json.dumps(e) for e in events) + "\n",
            "pretty": json.dumps(events[0], indent=2),
            "array": json.dumps(events, indent=2)}[layout]
    _, report, seen = ingest_text(tmp_path, db, b"\xef\xbb\xbf" + body.encode("utf-8"), "bom.json")
    assert seen == [] and report.events_new == (1 if layout == "pretty" else 2)


def test_a_pretty_document_is_still_one_document(tmp_path, db):
    event = run_event("p1", outputs=[("pg", "pretty.t")])
    _, report, seen = ingest_text(tmp_path, db, json.dumps(event, indent=2).encode(), "one.json")
    assert seen == [] and report.events_new == 1


def test_an_array_is_read_element_by_element_with_each_elements_line(tmp_path, db):
    events = [run_event(f"a{i}") for i in range(3)]
    events[1] = {"eventTime": "not a time"}
    path, report, seen = ingest_text(tmp_path, db, json.dumps(events, indent=2).encode(), "a.json")
    assert (report.events_new, report.events_rejected) == (2, 1)
    second = json.dumps(events, indent=2).splitlines().index("  {", 2) + 1
    assert seen[0].startswith(f"{path}:{second}: event #2")


def test_a_truncated_array_keeps_its_complete_elements(tmp_path, db):
    text = json.dumps([run_event(f"t{i}") for i in range(3)], indent=2)
    path, report, seen = ingest_text(tmp_path, db, text[: len(text) - 40].encode(), "cut.json")
    assert report.events_new == 2 and report.events_rejected == 1
    assert seen[0].startswith(f"{path}:") and "invalid JSON" in seen[0] and "event #3" in seen[0]


def test_an_oversized_line_is_skipped_and_the_next_lines_keep_their_numbers(tmp_path, db):
    huge = '{"eventType": "START", "job": {"name": "' + "x" * 5000 + '"}}'
    text = "\n".join([GOOD[0], huge, GOOD[1], GOOD[2]]) + "\n"
    path = tmp_path / "big.ndjson"
    path.write_text(text, encoding="utf-8")
    seen: list[str] = []
    report = ingest([str(path)], db, on_reject=seen.append, max_record_bytes=1000)
    assert (report.events_read, report.events_new) == (4, 3)
    assert seen == [f"{path}:2: line longer than 1000 bytes (the record size cap); skipped"]
    assert stats(db).payload["runs"] == 3


MEASURE = """
import sys
from lineagectl.api import ingest
seen = []
report = ingest([sys.argv[1]], sys.argv[2], on_reject=seen.append)
print(report.events_new, report.events_rejected, seen[0] if seen else "", flush=True)
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child of a large pytest
# process would report its parent's size; the high-water mark of its own memory map restarts.
print(next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")) // 1024)
"""


def test_a_gigantic_line_is_rejected_in_bounded_memory(tmp_path, db):
    size = (3 << 30) if LONG else (400 << 20)
    path = tmp_path / "bomb.ndjson.gz"
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write((GOOD[0] + "\n").encode())
        out.write(b'{"job": "')
        block = b"a" * (1 << 20)
        for _ in range(size >> 20):
            out.write(block)
        out.write(b'"}\n' + (GOOD[1] + "\n").encode())
    done = subprocess.run([sys.executable, "-c", MEASURE, str(path), db], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    counts, peak_mb = done.stdout.splitlines()
    assert counts.startswith("2 1 ") and f"{path}:2: line longer than 64 MiB" in counts
    assert int(peak_mb) < 300, f"peak RSS {peak_mb} MB"


@pytest.mark.parametrize("layout", ["ndjson", "pretty"])
def test_an_event_log_that_mentions_a_dbt_schema_is_not_taken_for_a_manifest(tmp_path, db, layout):
    facet = {"dbt": {"_producer": "p", "_schemaURL": "s", "metadata": {
        "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"}}}
    events = [run_event(f"m{i}", outputs=[("pg", f"t{i}")], run_facets=facet) for i in range(2)]
    body = ("\n".join(json.dumps(e) for e in events) + "\n" if layout == "ndjson"
            else json.dumps(events[0], indent=2))
    _, report, seen = ingest_text(tmp_path, db, body.encode(), "log.json")
    assert seen == [] and report.events_new == (2 if layout == "ndjson" else 1)
    assert stats(db).payload["runs"] == report.events_new


def test_an_event_from_the_far_future_is_rejected_and_cannot_pin_current_state(cli, tmp_path):
    db = tmp_path / "f.duckdb"
    schema = {"schema": {"_producer": "t", "_schemaURL": "t", "fields": [{"name": "id", "type": "INT"}]}}
    future = run_event("f1", time="9999-01-01T00:00:00Z", outputs=[("pg", "orders", schema)])
    today = run_event("t1", time="2026-11-20T00:00:00Z", outputs=[("pg", "orders")])
    path = write_ndjson_text(tmp_path / "f.ndjson", [future, today])
    result = cli("--db", db, "ingest", path)
    assert result.exit_code == 1
    assert f"{path}:1: eventTime 9999-01-01T00:00:00Z is beyond the accepted future" in result.stderr
    shown = json.loads(cli("--db", db, "show", "orders", "-f", "json").stdout)
    assert not str(shown.get("last_seen", "")).startswith("9999")
    accepted = cli("--db", tmp_path / "g.duckdb", "ingest", "--max-future", "none", path)
    assert accepted.exit_code == 0, accepted.stderr
    bad = cli("--db", tmp_path / "h.duckdb", "ingest", "--max-future", "soon", path)
    assert bad.exit_code == 2 and "--max-future" in bad.stderr


def write_ndjson_text(path, events) -> str:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return str(path)


# -- the property, in both profiles (LINEAGECTL_FUZZ=long: 300 files) -----------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

DAMAGE = settings(max_examples=300 if LONG else 8, deadline=None, derandomize=not LONG,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def damaged_logs(draw):
    """A log of good events whose first line is damaged (torn, cut, a header, garbage), maybe after
    a BOM and blank lines: (bytes, number of good events, line number of the damage)."""
    good = [json.dumps(run_event(f"g{i}-{draw(st.integers(0, 10**6))}", outputs=[("pg", f"t{i}")]))
            for i in range(draw(st.integers(1, 5)))]
    torn = draw(st.sampled_from(["torn", "cut", "header", "garbage"]))
    sample = good[0]
    cut = draw(st.integers(1, len(sample) - 2))
    first = {"torn": sample[:cut], "cut": sample[cut:], "header": "# " + draw(st.text(max_size=30)),
             "garbage": draw(st.text(min_size=1, max_size=40))}[torn]
    first = first.replace("\n", " ").replace("\r", " ")
    blank = draw(st.integers(0, 2))
    bom = draw(st.booleans())
    text = ("\ufeff" if bom else "") + "\n" * blank + first + "\n" + "\n".join(good) + "\n"
    return text.encode("utf-8", "surrogatepass"), len(good), blank + 1, first


@DAMAGE
@given(damaged_logs())
def test_a_damaged_first_line_never_costs_the_good_lines(tmp_path_factory, log):
    data, good, line, first = log
    tmp = tmp_path_factory.mktemp("damage")
    path = tmp / "log.ndjson"
    path.write_bytes(data)
    seen: list[str] = []
    report = ingest([str(path)], str(tmp / "d.duckdb"), on_reject=seen.append)
    stripped = first.encode("utf-8", "surrogatepass").strip()  # blank as a byte reader sees it
    if stripped.startswith(b"{") and stripped.endswith(b"}"):
        return  # the "damage" happens to be a whole JSON object: a line like any other
    if not stripped:
        assert (report.events_new, seen) == (good, [])
        return
    assert report.events_new == good
    assert [s.split(": ")[0] for s in seen] == [f"{path}:{line}"]
