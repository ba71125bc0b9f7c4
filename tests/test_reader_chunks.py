"""The reader hands records on in chunks, a block of lines at a time: what it reads must not
depend on where a block ends (a spread object, a byte-order mark, an oversized line or a
blank line on either side of a boundary)."""

from __future__ import annotations

import orjson
import pytest

from lineagectl.sources.ingest import ndjson
from lineagectl.sources.ingest.documents import BadDocument, Parsed
from lineagectl.sources.ingest.reader import Source, read_chunks

LIMIT = 400


def _event(n: int) -> bytes:
    return orjson.dumps({"eventType": "COMPLETE", "eventTime": f"2026-01-0{n}T00:00:00Z",
                         "run": {"runId": f"r{n}"}, "job": {"namespace": "ns", "name": f"job{n}"}})


LOG = b"".join([
    _event(1) + b"\n",                                          # 1
    b"\n",                                                      # 2: blank
    ndjson.BOM + _event(2) + b"\n",                             # 3: a byte-order mark (concatenated files)
    b"{\n", b'  "eventType": "START",\n', b'  "eventTime": "2026-01-03T00:00:00Z"\n', b"}\n",  # 4-7: spread
    b'{"big": "' + b"x" * LIMIT + b'"}\n',                      # 8: over the cap
    b"{}\n",                                                    # 9: short
    b'{"totalCount": 1, "events": [' + _event(4) + b"]}\n",     # 10: a Marquez page on one line
    _event(5) + b"\r\n",                                        # 11: CRLF
    b"{\n", b'  "a":\n',                                        # 12-13: spread, cut off by...
    b'{"x": 1}\n',                                              # 14: ...the next record
    _event(6),                                                  # 15: no newline at the end
])


def _flat(path) -> list[tuple[int, object]]:
    records = []
    for chunk in read_chunks(Source(str(path)), limit=LIMIT):
        assert chunk, "no empty chunks"
        for line, raw, other in chunk:
            assert (raw is None) != (other is None)
            if raw is not None:
                records.append((line, raw))
            elif isinstance(other, Parsed):
                records.append((line, other.value))
            else:
                assert isinstance(other, BadDocument)
                records.append((line, "bad: " + other.value.split(";")[0]))
    return records


EXPECTED = [
    (1, _event(1) + b"\n"),
    (3, _event(2) + b"\n"),
    (4, {"eventType": "START", "eventTime": "2026-01-03T00:00:00Z"}),
    (8, "bad: line longer than 400 bytes (the record size cap)"),
    (9, b"{}\n"),
    (10, b'{"totalCount": 1, "events": [' + _event(4) + b"]}\n"),
    (11, _event(5) + b"\r\n"),
    (12, "bad: invalid JSON: an object spread over lines 12-13 is not complete (cut off by a crash?)"),
    (14, b'{"x": 1}\n'),
    (15, _event(6)),
]


@pytest.mark.parametrize("block_lines", [1, 2, 3, 5, 7, 4096])
def test_records_do_not_depend_on_where_blocks_end(tmp_path, monkeypatch, block_lines):
    monkeypatch.setattr(ndjson, "CHUNK_LINES", block_lines)
    path = tmp_path / "mixed.ndjson"
    path.write_bytes(LOG)
    assert _flat(path) == EXPECTED


def test_chunks_stay_within_their_line_count(tmp_path, monkeypatch):
    monkeypatch.setattr(ndjson, "CHUNK_LINES", 3)
    path = tmp_path / "plain.ndjson"
    path.write_bytes(b"".join(_event(n % 9 + 1) + b"\n" for n in range(10)))
    chunks = list(read_chunks(Source(str(path))))
    assert [len(chunk) for chunk in chunks] == [3, 3, 3, 1]
    assert [line for chunk in chunks for line, _, _ in chunk] == list(range(1, 11))


def test_a_document_after_blank_lines_is_read_from_where_its_lines_begin(tmp_path, monkeypatch):
    # The first lines are read one at a time: a block read ahead would take lines from the document.
    monkeypatch.setattr(ndjson, "CHUNK_LINES", 2)
    path = tmp_path / "pretty.json"
    events = [orjson.loads(_event(n)) for n in (1, 2, 3)]
    path.write_bytes(b"\n\n" + orjson.dumps(events, option=orjson.OPT_INDENT_2) + b"\n")
    records = [(line, other.value) for chunk in read_chunks(Source(str(path)))
               for line, raw, other in chunk if isinstance(other, Parsed)]
    assert [value for _, value in records] == events
    assert records[0][0] == 4  # "[" on line 3, the first element's "{" on line 4
