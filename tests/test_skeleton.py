"""Skeleton events (issue 20, item 1): every event splits into a skeleton, references and facet
blobs, and rebuilds to its canonical form byte for byte."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from conftest import require_corpus
from lineagectl.store.skeleton import FacetHasher, facet_hash, rebuild, references, split


def _corpus_events():
    root = require_corpus() / "openlineage"
    for path in sorted(root.glob("**/*.ndjson")):
        for number, line in enumerate(path.read_bytes().splitlines(), 1):
            if line.strip():
                yield f"{path.relative_to(root)}:{number}", orjson.loads(line)
    for path in sorted(root.glob("**/*.json")):
        try:
            value = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError:
            continue
        for index, item in enumerate(value if isinstance(value, list) else [value]):
            yield f"{path.relative_to(root)}#{index}", item


def _round_trip(event, hasher=None):
    canonical = orjson.dumps(event)
    before = orjson.dumps(event)
    skeleton, refs, blobs = split(event, hasher)
    assert orjson.dumps(event) == before  # the parsed event is left as it was
    texts = {digest: blob.decode() for digest, blob in blobs.items()}
    return canonical, skeleton, refs, blobs, rebuild(skeleton, refs, texts)


def test_every_corpus_event_rebuilds_byte_for_byte():
    hasher = FacetHasher()
    seen = 0
    shrunk = 0
    for where, event in _corpus_events():
        if not (isinstance(event, dict) and "eventTime" in event):
            continue  # a schema, an expectation, another document
        seen += 1
        canonical, skeleton, refs, blobs, rebuilt = _round_trip(event, hasher)
        assert rebuilt == canonical, where
        assert set(references(refs)) == set(blobs), where
        for digest, blob in blobs.items():
            assert digest == hashlib.md5(blob).hexdigest(), where
            assert blob in canonical, where  # a blob is its facet's canonical text
        shrunk += len(skeleton) < len(canonical)
    assert seen >= 700  # 705 events on 2026-12-02
    assert shrunk > seen // 2  # most events carry facets the skeleton leaves out


# Texts a producer could send that the corpus does not hold (docs/performance.md lists them).
EDGE_CASES = [
    b'{"eventTime":"2024-01-01T00:00:00Z","run":{"runId":"r","facets":{"a":null,"b":"text","c":1.5e3,'
    b'"d":[1,{"x":1}],"e":{},"f":{"_deleted":true}}},"job":{"namespace":"n","name":"j","facets":{}}}',
    b'{"eventTime":"t","job":{"facets":{"sql":{"query":"\\u00e9 \\ud83d\\ude00","q":1,"q":2}}},'
    b'"inputs":"not a list","outputs":[1,null,{"name":"o","facets":{"s":{"n":18446744073709551615}},'
    b'"outputFacets":{"x":{"y":-0.0}}}],"dataset":{"facets":{"a":{"b":{"c":{"d":[]}}}}}}',
    b'{"eventTime":"t","run":{"facets":{"same":{"v":1},"again":{"v":1}}},"job":"not an object"}',
    b'{"eventTime":"t","run":{"facets":{"big":{"v":1.2345678901234567e+29,"w":1e-7,"x":-0.0}}}}',
    b'{"eventTime":"t","inputs":[{"facets":{"a":{"k":1}},"inputFacets":{"b":{"k":2},"c":3}}],'
    b'"outputs":[{"facets":null,"outputFacets":{"a":{"k":1}}}],"run":{"facets":[]}}',
    b'{"eventTime":"t"}',
]


@pytest.mark.parametrize("text", EDGE_CASES)
def test_edge_cases_rebuild_byte_for_byte(text):
    canonical, skeleton, _, _, rebuilt = _round_trip(orjson.loads(text))
    assert rebuilt == canonical
    assert len(skeleton) <= len(canonical)


def test_the_skeleton_holds_no_object_facet_and_inline_values_stay():
    event = orjson.loads(EDGE_CASES[0])
    skeleton, refs, blobs = split(event)
    facets = orjson.loads(skeleton)["run"]["facets"]
    assert facets == {"a": None, "b": "text", "c": 1500.0, "d": [1, {"x": 1}], "e": 0, "f": 0}
    assert refs.split(",")[:4] == ["-", "-", "-", "-"]
    assert refs.split(",")[4:] == [facet_hash(b"{}"), facet_hash(b'{"_deleted":true}')]
    assert blobs == {facet_hash(b"{}"): b"{}", facet_hash(b'{"_deleted":true}'): b'{"_deleted":true}'}


def test_a_facet_repeated_is_one_blob_referenced_twice():
    _, refs, blobs = split(orjson.loads(EDGE_CASES[2]))
    first, second = refs.split(",")
    assert first == second == facet_hash(b'{"v":1}')
    assert len(blobs) == 1


def test_a_large_exponent_is_hashed_over_orjsons_bytes():
    _, refs, blobs = split(orjson.loads(EDGE_CASES[3]))
    (blob,) = blobs.values()
    assert blob == b'{"v":1.2345678901234568e+29,"w":1e-7,"x":-0.0}'
    assert refs == facet_hash(blob)


def test_the_hasher_forgets_past_its_bound_and_stays_right():
    hasher = FacetHasher(remembered_bytes=16)
    blobs = [orjson.dumps({"k": i}) for i in range(10)]
    assert [hasher(b) for b in blobs + blobs] == [facet_hash(b) for b in blobs + blobs]
    assert hasher._bytes <= 16
