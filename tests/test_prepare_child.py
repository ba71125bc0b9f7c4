"""A large file's events are prepared by a child process (``prepare_child.py``): its answers must be
``prepare``'s own, in order, for any line; a child that dies or cannot start changes nothing but
where the preparing happens; it stays light (no DuckDB, no Arrow); and an ingest stores, rejects
and warns alike with or without it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import datetime

import orjson
import pytest

from conftest import living_children, require_corpus, run_event
from lineagectl.api import export, ingest, stats
from lineagectl.sources.ingest import pipeline, prepare_child
from lineagectl.sources.ingest.identity import line_hash
from lineagectl.sources.ingest.prepare import Rules, prepare
from lineagectl.sources.ingest.prepare_child import PreparingChild
from lineagectl.store.skeleton import FacetHasher


def _corpus_lines() -> list[bytes]:
    """The corpus's NDJSON lines as they are, and its JSON documents' values one per line."""
    root = require_corpus() / "openlineage"
    lines = [line + b"\n" for path in sorted(root.glob("**/*.ndjson"))
             for line in path.read_bytes().splitlines() if line.strip()]
    for path in sorted(root.glob("**/*.json")):
        try:
            value = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError:
            continue
        lines += [orjson.dumps(item) + b"\n" for item in (value if isinstance(value, list) else [value])]
    assert len(lines) >= 700
    return lines


def _hostile_lines() -> list[bytes]:
    event = run_event("r1", outputs=[("pg", "t", {"schema": {"fields": [{"name": "a", "type": "int"}]}})])
    pretty = orjson.dumps(event, option=orjson.OPT_INDENT_2).replace(b"\n", b" ")
    deep = b'{"eventTime":"2026-01-01T00:00:00Z","run":{"runId":"r","facets":{"x":' + b"[" * 300 + b"]" * 300 + b"}}}"
    return [
        orjson.dumps(event) + b"\n", orjson.dumps(event), orjson.dumps(event) + b"\r\n", pretty + b"\n",
        b"not json\n", b"[1, 2]\n", b"{}\n", b'"text"\n', deep + b"\n", b"\xff\xfe\n", b"\n",
        orjson.dumps(run_event("future", time="2999-01-01T00:00:00Z")) + b"\n",
        # A malformed facet: ignored (with a warning) unless strict, then the event is rejected.
        orjson.dumps(run_event("broken", outputs=[("pg", "t", {"schema": {"fields": "not a list"}})])) + b"\n",
        b'{"source": "pg://h/db.a", "destination": "pg://h/db.b"}\n',  # a hand-written line
        "{\"eventTime\":\"2026-01-01T00:00:00Z\",\"job\":{\"namespace\":\"n\",\"name\":\"caf\u00e9\"}}\n".encode(),
    ]


RULES = [Rules(), Rules(strict=True), Rules(horizon=datetime(2030, 1, 1))]


def _log(tmp_path, lines: list[bytes]):
    log = tmp_path / "log.ndjson"
    log.write_bytes(b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines))
    return log


def _in_process(lines: list[bytes], rules: Rules) -> list:
    hasher = FacetHasher()
    return [prepare(line, None, line_hash(line), rules, hasher) for line in lines]


def _local(rules: Rules):
    hasher = FacetHasher()
    return lambda line, digest: prepare(line, None, digest, rules, hasher)


def _through(child: PreparingChild, pieces: list[list[bytes]]) -> list:
    """Send ``pieces`` as the pipeline does (one ahead of the one received); all answers in order."""
    answers: list = []
    for number, piece in enumerate(pieces):
        child.send(piece, [line_hash(line) for line in piece])
        if number:
            answers += child.receive()
    if pieces:
        answers += child.receive()
    return answers


@pytest.mark.parametrize("rules", RULES, ids=["lenient", "strict", "horizon"])
def test_the_child_answers_as_prepare_does_for_every_line(rules):
    lines = _corpus_lines() + _hostile_lines()
    expected = _in_process(lines, rules)
    assert any(isinstance(answer, str) for answer in expected)  # rejects are among them
    assert any(not isinstance(answer, str) and answer.ignored for answer in expected) or rules.strict
    child = PreparingChild(rules, _local(rules))
    try:
        pieces = [lines[at:at + 97] for at in range(0, len(lines), 97)] + [[], lines[:3]]
        answers = _through(child, pieces)
        assert child._child is not None, "the child did not start, or gave up"
    finally:
        child.close()
    assert answers == expected + expected[:3]
    assert child._child is None


def test_a_child_that_dies_is_replaced_by_preparing_here():
    lines = _corpus_lines()[:300]
    expected = _in_process(lines, Rules())
    child = PreparingChild(Rules(), _local(Rules()))
    try:
        child.send(lines[:100], [line_hash(line) for line in lines[:100]])
        child.send(lines[100:200], [line_hash(line) for line in lines[100:200]])
        process = child._child
        assert process is not None
        process.kill()  # with two pieces in flight
        process.wait()
        answers = child.receive()
        child.send(lines[200:], [line_hash(line) for line in lines[200:]])
        answers += child.receive() + child.receive()
        assert child._child is None
    finally:
        child.close()
    assert answers == expected


@pytest.mark.parametrize("executable", ["/nonexistent/python", "/bin/true", "/bin/echo"])
def test_a_child_that_cannot_start_or_answer_changes_nothing(monkeypatch, executable):
    # No such file; a program that exits at once; one that writes something else than answers.
    monkeypatch.setattr(prepare_child.sys, "executable", executable)
    lines = _hostile_lines()
    child = PreparingChild(Rules(), _local(Rules()))
    assert _through(child, [lines, lines[::-1]]) == _in_process(lines + lines[::-1], Rules())
    assert child._child is None
    child.close()


def test_more_than_two_pieces_in_flight_is_refused():
    child = PreparingChild(Rules(), _local(Rules()))
    try:
        child.send([b"{}\n"], [line_hash(b"{}\n")])
        child.send([b"{}\n"], [line_hash(b"{}\n")])
        with pytest.raises(RuntimeError):
            child.send([b"{}\n"], [line_hash(b"{}\n")])
    finally:
        child.close()


def test_the_child_loads_neither_duckdb_nor_arrow():
    # The packages' __init__ would load both (~50 MB per child); preparing needs neither.
    lines = _hostile_lines()
    child = PreparingChild(Rules(), _local(Rules()))
    try:
        child.send(lines, [line_hash(line) for line in lines])
        assert child.receive() == _in_process(lines, Rules())
        assert child._child is not None
        with open(f"/proc/{child._child.pid}/maps") as maps:
            mapped = {os.path.basename(line.split(maxsplit=5)[5].strip()) for line in maps if line.count(" ") >= 5
                      and "/" in line}
    finally:
        child.close()
    assert any(name.startswith("orjson") for name in mapped)  # the reading is right: its libraries are listed
    assert not [name for name in mapped if "duckdb" in name or "arrow" in name]


def test_closing_with_pieces_in_flight_ends_the_child_at_once():
    lines = _corpus_lines()
    child = PreparingChild(Rules(), _local(Rules()))
    child.send(lines * 4, [line_hash(line) for line in lines * 4])
    child.send(lines * 4, [line_hash(line) for line in lines * 4])
    process = child._child
    assert process is not None
    started = time.monotonic()
    child.close()
    assert time.monotonic() - started < 1.5
    assert process.poll() is not None


@pytest.mark.parametrize("strict", [False, True])
def test_an_ingest_stores_rejects_and_warns_alike_with_or_without_the_child(tmp_path, monkeypatch, strict):
    lines = _corpus_lines() + _hostile_lines()
    page = orjson.dumps({"totalCount": 2, "events": [run_event("p1"), run_event("p2")]}) + b"\n"
    log = tmp_path / "log.ndjson"
    log.write_bytes(b"".join(lines[:100] + [page] + lines[100:]))
    monkeypatch.setattr(pipeline, "PIECE_LINES", 37)  # many pieces, a page among them
    received: list[bool] = []  # whether the child was alive to answer, at each piece
    original = PreparingChild.receive

    def receive(self):
        received.append(self._child is not None)
        return original(self)

    monkeypatch.setattr(PreparingChild, "receive", receive)
    reports, stored = [], []
    for child in (False, True):
        monkeypatch.setattr(pipeline, "CHILD_MIN_BYTES", 0 if child else 1 << 62)
        db = str(tmp_path / f"child-{child}.duckdb")
        report = ingest([str(log)], db, strict=strict)
        # The accepted future is counted from each ingest's own clock.
        rejects = [re.sub(r"accepted future \(.*?\)", "accepted future", str(reject)) for reject in report.rejects]
        reports.append((report.events_read, report.events_new, report.events_rejected, rejects, report.warnings))
        stored.append(list(export(db)) if not strict else [])
    assert len(received) > len(lines) // 37 and all(received)
    assert reports[0] == reports[1]
    assert stored[0] == stored[1]
    read, new, rejected = reports[0][:3]
    # Two lines fewer (a blank line; one without its newline joins the next), the page's two events more.
    assert rejected > 0 and read == len(lines) - 2 + 2
    assert new == (0 if strict else len(stored[0]))


def test_a_killed_ingest_leaves_no_child_behind(tmp_path):
    # A log as large as the size from which an ingest prepares events in a child.
    from lineagectl.sources.ingest.line_hashes import CHILD_MIN_BYTES

    log = tmp_path / "log.ndjson"
    padding = {"note": {"text": "x" * 1500}}
    with open(log, "wb") as out:
        number = 0
        while out.tell() < CHILD_MIN_BYTES + (1 << 20):
            out.write(orjson.dumps(run_event(f"r{number}", run_facets={**padding, "n": {"v": number}})) + b"\n")
            number += 1
    db = str(tmp_path / "s.duckdb")
    ingest_process = subprocess.Popen([sys.executable, "-m", "lineagectl", "--db", db, "-q", "ingest", str(log)])
    try:
        deadline = time.monotonic() + 60
        while not (children := living_children(ingest_process.pid)):
            assert ingest_process.poll() is None, "the ingest ended before its child started"
            assert time.monotonic() < deadline, "no child started"
            time.sleep(0.01)
    finally:
        ingest_process.kill()
        ingest_process.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children):
        assert time.monotonic() < deadline, "the child outlived its killed parent"
        time.sleep(0.05)
    assert stats(db).payload["events"] == 0  # and the store is as before the file


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie left for an init that does not reap counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def test_children_taking_turns_answer_in_the_order_pieces_were_sent():
    lines = _corpus_lines()
    expected = _in_process(lines, Rules())
    pool = prepare_child.Preparing(Rules(), _local(Rules()), 2)
    answers: list = []
    try:
        pieces = [lines[at:at + 41] for at in range(0, len(lines), 41)]
        for number, piece in enumerate(pieces):
            pool.send(piece, [line_hash(line) for line in piece])
            if number >= pool.ahead:  # as the pipeline does: `ahead` pieces sent before the first answer
                answers += pool.receive()
        for _ in range(min(pool.ahead, len(pieces))):
            answers += pool.receive()
        assert all(child._child is not None for child in pool._children), "a child did not start, or gave up"
    finally:
        pool.close()
    assert answers == expected


def test_one_core_gets_no_child(tmp_path, monkeypatch):
    for cores, children in ((1, 0), (2, 1), (3, 2), (64, 2)):
        monkeypatch.setattr(prepare_child.os, "sched_getaffinity", lambda pid, cores=cores: set(range(cores)))
        assert prepare_child.helpers() == children
    monkeypatch.setattr(prepare_child.os, "sched_getaffinity", lambda pid: {0})
    monkeypatch.setattr(pipeline, "CHILD_MIN_BYTES", 0)
    started: list[object] = []
    monkeypatch.setattr(PreparingChild, "_start", lambda self: started.append(self))
    report = ingest([str(_log(tmp_path, _hostile_lines()))], str(tmp_path / "s.duckdb"))
    assert report.events_new > 0 and not started
