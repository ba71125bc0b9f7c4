"""Event identity: the same event in any layout is stored once, and stored lines are recognised unparsed.

An event's hash is the hash of its compact JSON (``sources/ingest/known.py``). A line
already in that form is looked up by the hash of its raw bytes before it is parsed;
any other layout (pretty-printed, one line with spaces, CRLF endings) is parsed,
re-encoded and recognised by the writer's check.
"""

from __future__ import annotations

import json

import orjson

from conftest import run_event, stored_events
from lineagectl.api import ingest
from lineagectl.sources.ingest.identity import event_hash, line_hash
from lineagectl.sources.ingest.known import KnownLines
from lineagectl.store import open_store

SCHEMA = {"schema": {"fields": [{"name": "id", "type": "BIGINT"}, {"name": "note", "type": "VARCHAR"}]}}


def _events():
    return [run_event("r1", event_type="START", inputs=[("pg", "a")]),
            run_event("r1", time="2026-11-20T03:00:00Z", inputs=[("pg", "a")], outputs=[("bq", "x", SCHEMA)],
                      job_facets={"sql": {"query": "SELECT id, note FROM a -- é, \"quoted\""}})]


def _stored(db):
    return stored_events(db)


def test_every_layout_of_an_event_is_stored_once(tmp_path, db):
    events = _events()
    compact = tmp_path / "compact.ndjson"
    compact.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    first = ingest([str(compact)], db)
    assert (first.events_new, first.events_duplicate) == (2, 0)
    stored = _stored(db)
    # The stored payload is the compact line itself, and the hash is that of its bytes.
    assert [p for _, p in stored] == [orjson.dumps(e).decode() for e in events]
    assert [h for h, _ in stored] == [event_hash(orjson.dumps(e)) for e in events]

    layouts = {
        "pretty.json": json.dumps(events, indent=2).encode(),
        "spaced.ndjson": "".join(json.dumps(e) + "\n" for e in events).encode(),  # ", " and ": "
        "ascii.ndjson": "".join(json.dumps(e, ensure_ascii=True, separators=(",", ":")) + "\n"
                                for e in events).encode(),  # \u00e9 for é
        "crlf.ndjson": b"".join(orjson.dumps(e) + b"\r\n" for e in events),
    }
    for name, data in layouts.items():
        (tmp_path / name).write_bytes(data)
        report = ingest([str(tmp_path / name)], db)
        assert (report.events_read, report.events_new, report.events_duplicate) == (2, 0, 2), name
    assert _stored(db) == stored


def test_stored_lines_are_known_by_their_raw_bytes_and_other_layouts_are_not(tmp_path, db):
    events = _events()
    lines = [orjson.dumps(e) + b"\n" for e in events]
    (tmp_path / "a.ndjson").write_bytes(b"".join(lines))
    ingest([str(tmp_path / "a.ndjson")], db)
    spaced = [json.dumps(e).encode() + b"\n" for e in events]
    with open_store(db) as con:
        known = KnownLines(con)
        try:
            compact_hashes = [line_hash(line) for line in lines]
            assert known.known(compact_hashes) == set(compact_hashes)
            crlf = [line_hash(line[:-1] + b"\r\n") for line in lines]
            assert known.known(crlf) == set(compact_hashes)
            # Another layout is not recognised unparsed (it takes the full road).
            assert known.known([line_hash(line) for line in spaced]) == set()
        finally:
            known.close()


def test_a_duplicate_within_one_file_and_across_batches_is_stored_once(tmp_path, db):
    events = _events()
    lines = [orjson.dumps(e) for e in events]
    pretty_one_line = json.dumps(events[1]).encode()
    path = tmp_path / "mixed.ndjson"
    path.write_bytes(b"\n".join([lines[0], lines[1], pretty_one_line, lines[1], lines[0]]) + b"\n")
    report = ingest([str(path)], db, batch_size=1)
    assert (report.events_read, report.events_new, report.events_duplicate) == (5, 2, 3)
    assert len(_stored(db)) == 2


# The canonical form an event's hash is taken of, for values whose JSON has several spellings.
# Written out here on purpose: it is the store's key, so a JSON library that renders one of these
# otherwise (an orjson upgrade, the dependency is not pinned) would store every event already held
# a second time on re-ingest. This test fails first, in CI, instead.
_SPELLINGS = (b'{ "big" : 1e20, "numbers": [1.5e-7, 0.1, -0.0, 1.0, 100, -5, 12345678901234567890,'
              b' 18446744073709551616, 5e-324, 2.5E+3, 1e16, 123456789.125],\n "text": "\\u00e9 \\u2028'
              b' \\u0001 \\/ \\" \\ud83d\\ude00 \\t \\u007f", "dup": 1, "dup": 2, "none": null,'
              b' "yes": true, "empty": {}, "nothing": [] }')
_CANONICAL = ('{"big":1e+20,"numbers":[1.5e-7,0.1,-0.0,1.0,100,-5,12345678901234567890,1.8446744073709552e+19,'
              '5e-324,2500.0,1e+16,123456789.125],"text":"\u00e9 \u2028 \\u0001 / \\" \U0001F600 \\t \x7f",'
              '"dup":2,"none":null,"yes":true,"empty":{},"nothing":[]}').encode()


def test_the_canonical_form_of_numbers_and_strings_is_fixed(tmp_path, db):
    assert orjson.dumps(orjson.loads(_SPELLINGS)) == _CANONICAL
    # Through ingest: the event with a facet spelled the long way (a JSON document over two lines)
    # and in canonical form (one NDJSON line) is one stored event, exported as the canonical bytes.
    event = orjson.dumps(run_event("r1", run_facets={"spellings": {"_producer": "t", "_schemaURL": "t"}}))
    spelled = event.replace(b'"_schemaURL":"t"}', b'"_schemaURL":"t","values":' + _SPELLINGS + b"}")
    canonical = event.replace(b'"_schemaURL":"t"}', b'"_schemaURL":"t","values":' + _CANONICAL + b"}")
    assert spelled != canonical and b"\n" in spelled
    (tmp_path / "spelled.json").write_bytes(spelled)
    (tmp_path / "line.ndjson").write_bytes(canonical + b"\n")
    first = ingest([str(tmp_path / "spelled.json")], db)
    again = ingest([str(tmp_path / "line.ndjson")], db)
    assert (first.events_new, again.events_new, again.events_duplicate) == (1, 0, 1)
    assert [payload.encode() for _, payload in stored_events(db)] == [canonical]
    assert stored_events(db)[0][0] == event_hash(canonical)
