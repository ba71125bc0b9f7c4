"""Spool segments rotated by size: a segment that reaches ``--spool-max-bytes`` is closed and stored
at once (before ``--ingest-every``), every line whole, in exactly one segment."""

from __future__ import annotations

import threading

import orjson
import pytest

from conftest import run_event, table_counts
from lineagectl import api
from lineagectl.errors import InputError
from lineagectl.serve.spool import Spool
from serving import Running, health, post, wait_for


def test_concurrent_appends_rotate_by_size_with_every_line_whole_in_one_segment(tmp_path):
    full: list[int] = []
    spool = Spool(tmp_path / "spool", max_bytes=2048, on_full=lambda: full.append(1))
    spool.open()

    def append(worker: int) -> None:
        for i in range(60):
            spool.append([orjson.dumps(run_event(f"w{worker}-r{i}"))])

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    segments = spool.ready()
    spool.close()
    active = tmp_path / "spool" / "active.ndjson"
    assert len(segments) == len(full) >= 30  # ~74 KB in 2 KiB segments; each rotation woke the ingester once
    run_ids = []
    for segment in segments:
        data = segment.read_bytes()
        assert 2048 <= len(data) < 2048 + 400  # closed by the append that reached the size
        run_ids += [orjson.loads(line)["run"]["runId"] for line in data.splitlines()]
    run_ids += [orjson.loads(line)["run"]["runId"] for line in active.read_bytes().splitlines()]
    assert sorted(run_ids) == sorted(f"w{w}-r{i}" for w in range(4) for i in range(60))
    assert segments == sorted(segments, key=lambda p: p.stat().st_mtime_ns)  # names sort in rotation order


def test_a_full_segment_is_stored_before_the_ingest_interval(db):
    running = Running(db, ingest_every="1h", spool_max_bytes="2KiB")
    conn = running.connection()
    for i in range(3):  # well under 2 KiB: waits for the interval
        assert post(conn, orjson.dumps(run_event(f"r{i}")))[0] == 201
    assert not wait_for(lambda: health(running)["events_stored"] > 0, seconds=1.5)
    for i in range(3, 12):  # past 2 KiB: that segment is stored now
        assert post(conn, orjson.dumps(run_event(f"r{i}")))[0] == 201
    assert wait_for(lambda: health(running)["events_stored"] >= 5)
    assert running.stop() == {"events_spooled": 12, "events_stored": 12}
    assert table_counts(db)["events"] == 12


def test_spool_max_bytes_below_one_kib_is_refused(db):
    with pytest.raises(InputError, match="--spool-max-bytes must be at least 1 KiB"):
        api.serve(db, spool_max_bytes="100")
