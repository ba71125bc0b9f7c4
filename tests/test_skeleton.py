"""Skeleton events (issue 20, item 1): every event splits into a skeleton, references and facet
blobs, and rebuilds to its canonical form byte for byte."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import duckdb
import orjson
import pytest

from conftest import events_as_in_version_5, require_corpus, run_event, write_ndjson
from lineagectl import api
from lineagectl.errors import DatabaseError
from lineagectl.sources.ingest.identity import event_hash
from lineagectl.store import Store
from lineagectl.store import skeleton as skeleton_module
from lineagectl.store.schema import SCHEMA_VERSION
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
    # orjson's own bytes (up to 3.11.6 it wrote 1.2345678901234568e29, below the floor now: test_dedup pins the form)
    assert blob == orjson.dumps(orjson.loads(EDGE_CASES[3])["run"]["facets"]["big"])
    assert blob.startswith(b'{"v":1.2345678901234568e') and blob.endswith(b'29,"w":1e-7,"x":-0.0}')
    assert refs == facet_hash(blob)


def test_the_hasher_forgets_past_its_bound_and_stays_right():
    hasher = FacetHasher(remembered_bytes=16)
    blobs = [orjson.dumps({"k": i}) for i in range(10)]
    assert [hasher(b) for b in blobs + blobs] == [facet_hash(b) for b in blobs + blobs]
    assert hasher._bytes <= 16


# ---- in a store: ingest, migration from schema 5, prune ----

def _facets(value):
    return {"stats": {"_producer": "t", "_schemaURL": "t", "rows": value}}


def _exported(db):
    return [line.encode() for line in api.export(db)]


@pytest.mark.parametrize(("chunk", "size"), [(skeleton_module.MIGRATION_CHUNK, skeleton_module.MIGRATION_BYTES),
                                             (3, skeleton_module.MIGRATION_BYTES), (1000, 1000)])
def test_a_schema_5_store_migrates_and_exports_the_same_bytes(tmp_path, db, monkeypatch, chunk, size):
    # In one part; in parts of 3 events and 1; in parts of 2 cut by bytes (the events are ~500 bytes).
    monkeypatch.setattr(skeleton_module, "MIGRATION_CHUNK", chunk)
    monkeypatch.setattr(skeleton_module, "MIGRATION_BYTES", size)
    events = [run_event(f"r{i}", time=f"2026-11-20T0{i}:00:00Z", run_facets=_facets(1.5e20 if i == 2 else i),
                        job_facets={"sql": {"query": "SELECT é", "_deleted": True}},
                        outputs=[("pg", f"t{i % 2}", _facets(7))]) for i in range(4)]
    canonical = [orjson.dumps(e) for e in events]
    api.ingest([write_ndjson(tmp_path / "e.ndjson", events)], db)
    # Version 5 kept each canonical payload whole; its blobs were keyed by DuckDB's MD5 alone,
    # which differs for the 1.5e+20 facet (DuckDB renders the float otherwise).
    events_as_in_version_5(db, {event_hash(p): p.decode() for p in canonical})
    big = facet_hash(orjson.dumps(_facets(1.5e20)["stats"]))
    with duckdb.connect(db) as con:
        # ... and its facet tables named the facet by DuckDB's MD5 of DuckDB's rendering.
        (rendered, duckdb_hash), = con.execute(
            """SELECT m['stats']::VARCHAR, md5(m['stats']) FROM
               (SELECT json_transform(?, '"MAP(VARCHAR, JSON)"') AS m)""",
            [orjson.dumps(_facets(1.5e20)).decode()]).fetchall()
        assert duckdb_hash != big
        con.execute("UPDATE run_facets SET facet_hash = ? WHERE facet_hash = ?", [duckdb_hash, big])
        con.execute("UPDATE facet_blobs SET facet_hash = ?, payload = ? WHERE facet_hash = ?",
                    [duckdb_hash, rendered, big])
        facet_tables = con.execute("SELECT count(*) FROM run_facets WHERE facet_hash = ?", [big]).fetchall()
    assert facet_tables == [(0,)]  # nothing but the event needs the blob under Python's hash
    assert api.migrate(db).version == SCHEMA_VERSION
    assert _exported(db) == canonical
    with duckdb.connect(db, read_only=True) as con:
        refs = [r[0] for r in con.execute("SELECT facet_refs FROM events ORDER BY event_time").fetchall()]
        assert con.execute("SELECT count(*) FROM facet_blobs WHERE facet_hash = ?", [big]).fetchall() == [(1,)]
    assert big in refs[2].split(",")
    # Re-ingest of the same log after the migration: every event is a duplicate, nothing changes.
    again = api.ingest([write_ndjson(tmp_path / "again.ndjson", events)], db)
    assert (again.events_new, again.events_duplicate) == (0, 4)
    assert _exported(db) == canonical


def test_a_payload_not_in_canonical_form_is_kept_verbatim_by_the_migration(tmp_path, db):
    event = run_event("r1", run_facets=_facets(1))
    api.ingest([write_ndjson(tmp_path / "e.ndjson", [event])], db)
    spaced = json.dumps(event)  # as no lineagectl wrote it, but a store could hold
    events_as_in_version_5(db, {event_hash(orjson.dumps(event)): spaced})
    api.migrate(db)
    assert _exported(db) == [spaced.encode()]


def test_prune_keeps_the_blobs_stored_events_refer_to(tmp_path, db):
    old, new = "2024-01-01T00:00:00Z", "2026-11-20T00:00:00Z"
    events = [run_event("old", time=old, run_facets=_facets(2.5e20)),
              run_event("new", time=new, run_facets=_facets(3.5e20))]  # the job's latest run stays
    api.ingest([write_ndjson(tmp_path / "e.ndjson", events)], db)
    api.prune(db, now=datetime(2026, 11, 21, tzinfo=UTC), detailed_days=30, summary_days=365)
    assert _exported(db) == [orjson.dumps(events[1])]
    with duckdb.connect(db, read_only=True) as con:
        kept = {r[0] for r in con.execute("SELECT facet_hash FROM facet_blobs").fetchall()}
    assert facet_hash(orjson.dumps(_facets(3.5e20)["stats"])) in kept  # only the event refers to it
    assert facet_hash(orjson.dumps(_facets(2.5e20)["stats"])) not in kept  # its event was pruned


def test_python_is_the_one_hasher_of_facets(tmp_path, db):
    # DuckDB renders 1.5e+20 otherwise than orjson: were the facet tables hashed by DuckDB, the
    # facet would be stored twice, under two keys, and its table rows would not name the blob
    # the event refers to.
    facet = _facets(1.5e20)["stats"]
    event = run_event("r1", run_facets={"stats": facet}, outputs=[("pg", "t", {"stats": facet})])
    api.ingest([write_ndjson(tmp_path / "e.ndjson", [event])], db)
    digest = facet_hash(orjson.dumps(facet))
    with duckdb.connect(db, read_only=True) as con:
        assert con.execute("SELECT facet_hash, payload FROM facet_blobs").fetchall() == [
            (digest, orjson.dumps(facet).decode())]
        assert con.execute("SELECT DISTINCT facet_hash FROM run_facets").fetchall() == [(digest,)]
        assert con.execute("SELECT DISTINCT facet_hash FROM dataset_facets").fetchall() == [(digest,)]


def test_a_migration_holds_one_part_of_payloads_at_a_time(tmp_path, db, monkeypatch):
    # ~100 MB of payloads migrated under a 64 MB DuckDB limit: the parts are cut from the payloads'
    # sizes alone (a window over the payloads themselves ran out of memory) and read one at a time.
    monkeypatch.setattr(skeleton_module, "MIGRATION_BYTES", 4 << 20)
    notes = "x" * 8_000
    events = [run_event(f"r{i}", time=f"2026-11-20T{i // 3600:02}:{i // 60 % 60:02}:{i % 60:02}Z",
                        run_facets={"notes": {"_producer": "t", "_schemaURL": "t", "text": f"{i}{notes}"}})
              for i in range(12_000)]
    api.ingest([write_ndjson(tmp_path / "e.ndjson", events)], db)
    events_as_in_version_5(db)
    assert api.migrate(Store(db, write=True, memory_limit="64MB")).version == SCHEMA_VERSION
    assert sorted(_exported(db)) == sorted(orjson.dumps(e) for e in events)


def test_a_migration_out_of_memory_is_a_clear_error_and_leaves_the_store_as_it_was(tmp_path, db):
    events = [run_event(f"r{i}", run_facets={"notes": {"_producer": "t", "_schemaURL": "t", "text": "x" * 4_000}})
              for i in range(2_000)]
    api.ingest([write_ndjson(tmp_path / "e.ndjson", events)], db)
    events_as_in_version_5(db)
    with pytest.raises(DatabaseError, match="ran out of memory; it is unchanged") as info:
        api.migrate(Store(db, write=True, memory_limit="2MB"))
    assert "LINEAGECTL_MEMORY_LIMIT" in info.value.hint
    with duckdb.connect(db, read_only=True) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [("5",)]
        assert con.execute("SELECT count(*) FROM events WHERE payload IS NOT NULL").fetchall() == [(2_000,)]
    assert api.migrate(db).version == SCHEMA_VERSION  # with the default limit
    assert sorted(_exported(db)) == sorted(orjson.dumps(e) for e in events)
