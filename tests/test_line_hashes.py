"""A large file's lines are hashed by a child process (``line_hashes.py``): the hashes must be
``line_hash``'s, in order, whatever the lines; a child that dies or cannot start changes nothing
but where the hashing happens; and the store an ingest builds is the same either way."""

from __future__ import annotations

import os

import orjson
import pytest

from conftest import living_children, run_event, write_ndjson
from lineagectl.api import ingest, stats
from lineagectl.sources.ingest import line_hashes, ndjson, pipeline
from lineagectl.sources.ingest.identity import line_hash
from lineagectl.sources.ingest.line_hashes import LineHashes

LINES = [b'{"a":1}\n', b'{"a":1}\r\n', b'{"a":1}', b"\n", b"\r\n", b"", b"\r", b"x" * 5000 + b"\n",
         "{\"name\":\"caf\u00e9\"}\n".encode(), b'{"b":2}\n\n']


def test_the_child_gives_line_hash_of_each_line_in_order():
    hashes = LineHashes()
    try:
        assert hashes._child is None, "started before it was needed"
        for chunk in (LINES, LINES[::-1], [], LINES[:1]):
            hashes.send(chunk)
            assert hashes._child is not None, "the child did not start, or gave up"
            assert hashes.receive() == [line_hash(line) for line in chunk]
    finally:
        hashes.close()
    assert hashes._child is None


def test_a_child_that_dies_is_replaced_by_hashing_here():
    hashes = LineHashes()
    try:
        hashes.send(LINES)
        assert hashes.receive() == [line_hash(line) for line in LINES]
        child = hashes._child
        assert child is not None
        child.kill()
        child.wait()
        hashes.send(LINES)  # the write may or may not notice; the answer must be right either way
        assert hashes.receive() == [line_hash(line) for line in LINES]
        assert hashes._child is None
    finally:
        hashes.close()


def test_a_child_that_cannot_start_changes_nothing(monkeypatch):
    monkeypatch.setattr(line_hashes.sys, "executable", "/nonexistent/python")
    hashes = LineHashes()
    assert hashes._child is None
    hashes.send(LINES)
    assert hashes.receive() == [line_hash(line) for line in LINES]
    hashes.close()


@pytest.mark.parametrize("child", [False, True])
def test_an_ingest_stores_the_same_with_or_without_the_child(tmp_path, monkeypatch, child):
    monkeypatch.setattr(pipeline, "CHILD_MIN_BYTES", 0 if child else 1 << 62)
    monkeypatch.setattr(ndjson, "CHUNK_LINES", 500)  # several chunks: the child takes over after one
    made: list[LineHashes] = []
    original = LineHashes.__init__

    def counted(self):
        original(self)
        made.append(self)

    monkeypatch.setattr(LineHashes, "__init__", counted)
    events = [run_event(f"r{n}", time=f"2026-11-{10 + n % 9}T00:00:00Z", outputs=[("pg", f"t{n % 7}", {})])
              for n in range(3000)]
    # Compact lines, as producers write them: a stored line is then known by its raw bytes.
    path = write_ndjson(tmp_path / "log.ndjson", [orjson.dumps(event).decode() for event in events])
    with open(path, "ab") as log:  # one bad line, one line in another layout
        log.write(b"not json\n" + orjson.dumps(events[5], option=orjson.OPT_INDENT_2).replace(b"\n", b" ") + b"\n")
    db = str(tmp_path / "s.duckdb")
    first = ingest([path], db)
    assert (first.events_read, first.events_new, first.events_rejected) == (3002, 3000, 1)
    # A first ingest does not start the child: it is paced by preparing events, not hashing.
    assert [hashes._started for hashes in made] == ([False] if child else [])
    again = ingest([path], db)
    assert (again.events_read, again.events_new, again.events_duplicate, again.events_rejected) == (3002, 0, 3001, 1)
    assert stats(db).payload["events"] == 3000
    # A re-ingest does, after its first chunk, and it ends with the file.
    assert [hashes._started for hashes in made] == ([False, True] if child else [])
    assert all(hashes._child is None for hashes in made)
    # A log that grew: its known lines first, new ones after (the child hashes both).
    grown = tmp_path / "grown.ndjson"
    more = [run_event(f"n{n}", time="2026-11-20T00:00:00Z") for n in range(1200)]
    with open(path, "rb") as log:
        grown.write_bytes(log.read() + b"".join(orjson.dumps(event) + b"\n" for event in more))
    third = ingest([str(grown)], db)
    assert (third.events_read, third.events_new, third.events_duplicate) == (4202, 1200, 3001)
    assert stats(db).payload["events"] == 4200


def test_no_child_is_left_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "CHILD_MIN_BYTES", 0)
    path = write_ndjson(tmp_path / "log.ndjson", [run_event(f"r{n}") for n in range(50)])
    before = living_children(os.getpid())
    ingest([path], str(tmp_path / "s.duckdb"))
    assert living_children(os.getpid()) == before


def test_closing_with_a_chunk_in_flight_ends_the_child_at_once():
    # An interrupted ingest closes the hasher between send and receive: the child may be blocked
    # writing hashes nobody reads; it is killed rather than waited for.
    import time

    hashes = LineHashes()
    hashes.send([b"x" * 3000 + b"\n"] * 20_000)  # 320 KB of hashes: more than a pipe holds
    child = hashes._child
    assert child is not None
    started = time.monotonic()
    hashes.close()
    assert time.monotonic() - started < 1.5
    assert child.poll() is not None
