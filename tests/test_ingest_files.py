"""Ingest inputs: NDJSON, JSON documents, gzip, directories, stdin; rejects and atomicity."""

from __future__ import annotations

import gzip
import json

import duckdb
import pytest

from conftest import run_event, write_ndjson, write_spool
from lineagectl.api import ingest, stats
from lineagectl.errors import InputError


def count(db, table="events"):
    con = duckdb.connect(db, read_only=True)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    finally:
        con.close()


def test_json_array_pretty_object_gzip_and_directories(tmp_path, db):
    folder = tmp_path / "logs" / "nested"
    folder.mkdir(parents=True)
    (tmp_path / "logs" / "array.json").write_text(
        json.dumps([run_event("a1"), run_event("a2")], indent=2), encoding="utf-8")
    (folder / "single.json").write_text(json.dumps(run_event("s1"), indent=2), encoding="utf-8")
    with gzip.open(folder / "more.ndjson.gz", "wt", encoding="utf-8") as out:
        out.write(json.dumps(run_event("g1")) + "\n" + json.dumps(run_event("g2")) + "\n")
    (folder / "notes.txt").write_text("not events", encoding="utf-8")
    report = ingest([str(tmp_path / "logs")], db)
    assert (report.files, report.events_new, report.events_rejected) == (3, 5, 0)
    assert stats(db).payload["runs"] == 5


def test_stdin(monkeypatch, db):
    import io
    import sys

    data = (json.dumps(run_event("in1")) + "\n").encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert ingest(["-"], db).events_new == 1


def test_bad_lines_are_reported_with_file_and_line_and_the_rest_is_stored(tmp_path, db):
    path = write_ndjson(tmp_path / "mixed.ndjson", [
        run_event("ok1"),
        "{not json",
        "[1, 2]",
        "",
        json.dumps({"eventTime": "2026-11-20T00:00:00Z", "run": {"runId": "x"}, "job": {"namespace": "n"}}),
        run_event("ok2"),
    ])
    seen = []
    report = ingest([path], db, on_reject=seen.append)
    assert report.events_new == 2 and report.events_rejected == 3
    assert seen[0].startswith(f"{path}:2: invalid JSON")
    assert seen[1] == f"{path}:3: not a JSON object but list"
    assert seen[2] == f"{path}:5: job.name is missing or not a string"


def test_strict_stores_nothing_when_anything_is_rejected(tmp_path, db):
    good = write_ndjson(tmp_path / "good.ndjson", [run_event("ok1")])
    bad = write_ndjson(tmp_path / "bad.ndjson", [run_event("ok2"), "{oops"])
    report = ingest([good, bad], db, strict=True)
    assert report.rolled_back and count(db) == 0
    assert ingest([good, bad], db).events_new == 2  # without --strict the good events land


def test_an_unreadable_file_leaves_the_store_as_before_that_file(tmp_path, db):
    good = write_ndjson(tmp_path / "a.ndjson", [run_event("ok1")])
    payload = gzip.compress(("\n".join(json.dumps(run_event(f"t{i}")) for i in range(2000)) + "\n").encode())
    truncated = tmp_path / "b.ndjson.gz"
    truncated.write_bytes(payload[: len(payload) // 2])
    report = ingest([good, str(truncated)], db, batch_size=100)  # batches written before the error
    assert report.file_errors and "gzip stream is truncated" in report.file_errors[0]
    assert count(db) == 1 and count(db, "runs") == 1  # nothing of the truncated file
    assert (report.events_read, report.events_new, report.events_duplicate) == (1, 1, 0)


def test_missing_paths_are_input_errors(tmp_path, db):
    with pytest.raises(InputError, match="no such file"):
        ingest([str(tmp_path / "nope.ndjson")], db)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no event files"):
        ingest([str(tmp_path / "empty")], db)


def test_invalid_utf8_and_deep_nesting_are_rejected_cleanly(tmp_path, db):
    path = tmp_path / "weird.ndjson"
    deep = "[" * 5000 + "]" * 5000
    path.write_bytes(b'{"eventTime": "\xff\xfe"}\n' + deep.encode() + b"\n"
                     + json.dumps(run_event("fine")).encode() + b"\n")
    seen = []
    report = ingest([str(path)], db, on_reject=seen.append)
    assert report.events_rejected == 2 and report.events_new == 1
    assert all("invalid JSON" in s for s in seen)


def test_an_event_nested_deeper_than_can_be_stored_is_rejected_with_its_line(tmp_path, db):
    nested = "x"
    for _ in range(300):
        nested = [nested]
    event = run_event("deep", outputs=[("ns", "t")])
    event["run"]["facets"] = {"custom": {"_producer": "p", "value": nested}}
    path = write_ndjson(tmp_path / "deep.ndjson", [json.dumps(run_event("fine")), json.dumps(event)])
    seen = []
    report = ingest([path], db, on_reject=seen.append)
    assert (report.events_new, report.events_rejected) == (1, 1)
    assert seen == [f"{path}:2: nested more than 255 levels deep"]


def test_unicode_names_round_trip(tmp_path, db):
    ingest([write_ndjson(tmp_path / "u.ndjson", [run_event("u1", job="ジョブ", outputs=[("ns", "tåble_ü")])])], db)
    con = duckdb.connect(db, read_only=True)
    assert con.execute("SELECT name FROM datasets").fetchall() == [("tåble_ü",)]
    con.close()


def test_compact_array_on_one_line_and_broken_pretty_document(tmp_path, db):
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps([run_event("c1"), run_event("c2")]), encoding="utf-8")
    assert ingest([str(compact)], db).events_new == 2
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "eventTime": "2026-11-20T00:00:00Z",\n  "run": oops\n}\n', encoding="utf-8")
    seen = []
    report = ingest([str(broken)], db, on_reject=seen.append)
    assert report.events_rejected == 1
    assert seen[0].startswith(f"{broken}:3: invalid JSON")


def test_a_rejected_event_changes_nothing_in_the_store(tmp_path, db):
    schema = {"schema": {"fields": [{"name": "a"}]}}
    bad = run_event("r1", outputs=[("ns", "t", schema)])
    bad["inputs"] = [{"namespace": "ns"}]  # no name: rejected after its facets were seen
    ingest([write_ndjson(tmp_path / "bad.ndjson", [bad])], db)
    con = duckdb.connect(db, read_only=True)
    try:
        for table in ("events", "facet_blobs", "schema_fields", "dataset_names", "datasets"):
            assert con.execute(f"SELECT count(*) FROM {table}").fetchall() == [(0,)], table
    finally:
        con.close()


def test_a_spool_of_one_event_files_stores_what_one_log_of_them_stores(tmp_path):
    events = [run_event(f"r{i}", job=f"job{i % 7}", event_type=("START", "COMPLETE")[i % 2],
                        time=f"2026-11-{1 + i % 20:02d}T02:00:00Z",
                        inputs=[("pg", f"src{i % 5}")], outputs=[("bq", f"dst{i % 7}")])
              for i in range(120)]
    spool, log = str(tmp_path / "spool.duckdb"), str(tmp_path / "log.duckdb")
    report = ingest([write_spool(tmp_path / "spool", events)], spool)
    ingest([write_ndjson(tmp_path / "all.ndjson", events)], log)
    assert (report.files, report.events_read, report.events_new) == (120, 120, 120)
    assert stats(spool).payload | {"db_bytes": 0} == stats(log).payload | {"db_bytes": 0}
    again = ingest([str(tmp_path / "spool")], spool)  # unchanged: not read at all
    assert (again.files, again.files_skipped, again.events_read) == (0, 120, 0)
    forced = ingest([str(tmp_path / "spool")], spool, force=True)
    assert (forced.files, forced.events_new, forced.events_duplicate) == (120, 0, 120)
    assert stats(spool).payload | {"db_bytes": 0} == stats(log).payload | {"db_bytes": 0}


def test_small_files_are_committed_together_and_large_ones_alone(tmp_path, monkeypatch):
    from lineagectl.sources.ingest import pipeline
    from lineagectl.sources.ingest.reader import Source

    monkeypatch.setattr(pipeline, "SMALL_FILE", 100)
    monkeypatch.setattr(pipeline, "GROUP_BYTES", 250)

    def file(name, size, gz=False):
        path = tmp_path / name
        path.write_bytes((b"\x1f\x8b" if gz else b"{") + b" " * (size - 1))
        return Source(str(path))

    a, b, c, big, d, zipped, e = (file("a", 90), file("b", 90), file("c", 90), file("big", 101), file("d", 10),
                                  file("z", 10, gz=True), file("e", 10))
    manifest = file("m", 10)
    units = [[s.path.split("/")[-1] for s in unit]
             for unit in pipeline.units([a, b, c, big, d, zipped, manifest, e, Source("-")], {manifest.path: []})]
    # a+b fit in 250 bytes, c starts a new group; large, gzip, manifests and stdin go alone.
    assert units == [["a", "b"], ["c"], ["big"], ["d"], ["z"], ["m"], ["e"], ["-"]]


def test_a_small_file_that_cannot_be_read_is_left_out_and_its_group_is_stored(tmp_path, db):
    spool = write_spool(tmp_path / "spool", [run_event(f"r{i}") for i in range(3)])
    doomed = tmp_path / "spool" / "event-00001.json"

    def progress(done, total):
        # A spooler's clean-up removing a file while the ingest runs.
        doomed.unlink(missing_ok=True)

    report = ingest([spool], db, progress=progress)
    assert len(report.file_errors) == 1 and "event-00001.json: cannot read: No such file" in report.file_errors[0]
    assert (report.files, report.events_read, report.events_new) == (3, 2, 2)
    assert count(db) == 2 and count(db, "runs") == 2


def test_a_directorys_unchanged_files_are_skipped_and_a_grown_one_read_again(tmp_path, db):
    spool = tmp_path / "spool"
    spool.mkdir()
    path = write_ndjson(spool / "daily.ndjson", [run_event("r1", event_type="START"), run_event("r1")])
    first = ingest([str(spool)], db)
    again = ingest([str(spool)], db)
    assert (first.files, first.events_new) == (1, 2)
    assert (again.files, again.files_skipped, again.events_read, again.events_new) == (0, 1, 0, 0)
    named = ingest([path], db)  # named on the command line: always read
    assert (named.files, named.files_skipped, named.events_duplicate) == (1, 0, 2)
    with open(path, "a", encoding="utf-8") as log:  # the producer appends
        log.write(json.dumps(run_event("r2")) + "\n")
    grown = ingest([str(spool)], db)
    assert (grown.files, grown.files_skipped, grown.events_read, grown.events_new, grown.events_duplicate) == (
        1, 0, 3, 1, 2)
    assert count(db) == 3 and count(db, "runs") == 2
    con = duckdb.connect(db, read_only=True)
    assert con.execute("SELECT count(*), max(events) FROM ingested_files").fetchall() == [(1, 3)]
    con.close()


@pytest.mark.parametrize("how", ["in place", "replaced"])
def test_a_file_rewritten_with_its_size_and_mtime_kept_is_read_again(tmp_path, db, how):
    import os
    import shutil

    spool = tmp_path / "spool"
    spool.mkdir()
    path = write_ndjson(spool / "hour.ndjson", [run_event("aaaa1")])
    assert ingest([str(spool)], db).events_new == 1
    before = os.stat(path)
    other = write_ndjson(tmp_path / "other.ndjson", [run_event("bbbb2")])  # same length, other event
    assert os.path.getsize(other) == before.st_size
    if how == "in place":
        shutil.copyfile(other, path)  # cp over the file: same inode, new contents
    else:
        os.replace(other, path)  # rsync's temp file renamed over it: a new inode
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # cp -p / rsync -t keep the mtime
    again = ingest([str(spool)], db)
    assert (again.files, again.files_skipped, again.events_new) == (1, 0, 1)
    assert count(db, "runs") == 2


def test_a_file_with_rejected_lines_is_read_again_so_its_rejects_are_reported_again(tmp_path, db):
    (tmp_path / "spool").mkdir()
    path = write_ndjson(tmp_path / "spool" / "sloppy.ndjson", [run_event("r1"), "not json"])
    seen = []
    for _ in range(2):
        report = ingest([str(tmp_path / "spool")], db, on_reject=seen.append)
        assert (report.files_skipped, report.events_rejected) == (0, 1)
    assert len(seen) == 2 and all(s.startswith(f"{path}:2: invalid JSON") for s in seen)
    assert count(db) == 1


def test_files_are_recorded_only_with_their_events(tmp_path, db):
    spool = tmp_path / "spool"
    spool.mkdir()
    write_ndjson(spool / "good.ndjson", [run_event("r1")])
    bad = write_ndjson(tmp_path / "bad.ndjson", ["nope"])
    strict = ingest([str(spool), bad], db, strict=True)
    assert strict.rolled_back and count(db) == 0
    after = ingest([str(spool)], db)  # the rolled-back invocation recorded nothing: read, not skipped
    assert (after.files, after.files_skipped, after.events_new) == (1, 0, 1)


def test_a_spool_file_being_written_is_not_read_until_renamed(tmp_path, db):
    spool = tmp_path / "spool"
    spool.mkdir()
    event = json.dumps(run_event("r1"))
    (spool / ".e1.json").write_text(event[:40])  # producers write under a hidden or .tmp name…
    (spool / "e2.json.tmp").write_text(event[:40])
    write_ndjson(spool / "e0.json", [run_event("r0")])
    report = ingest([str(spool)], db)
    assert (report.files, report.events_rejected, count(db)) == (1, 0, 1)
    (spool / ".e1.json").write_text(event)
    (spool / ".e1.json").rename(spool / "e1.json")  # …and rename it when complete
    report = ingest([str(spool)], db)
    assert (report.files, report.files_skipped, report.events_new) == (1, 1, 1)


def test_a_facet_sent_as_null_is_absent_not_a_reject(tmp_path, db):
    """openlineage-python writes unset facets as null: the event is stored, the facet is absent."""
    from lineagectl.api import show

    event = run_event("11111111-1111-1111-1111-111111111119", job="nulls",
                      run_facets={"nominalTime": None, "parent": None},
                      job_facets={"sql": None, "ownership": None},
                      inputs=[("s3://x", "in", {"schema": None})],
                      outputs=[("s3://x", "out", {"schema": {"_producer": "p", "_schemaURL": "s",
                                                             "fields": [{"name": "a", "type": "int"}]},
                                                  "columnLineage": None, "ownership": None})])
    event["outputs"][0]["outputFacets"] = None
    event["inputs"][0]["inputFacets"] = {"dataQualityMetrics": None}
    report = ingest([write_ndjson(tmp_path / "nulls.ndjson", [event])], db)
    assert (report.events_new, report.events_rejected) == (1, 0)
    out = show("out", db).payload
    assert [c["column"] for c in out["columns"]] == ["a"] and out["owners"] == []
    assert show("nulls", db).payload["sql"] is None
