"""``lineagectl serve`` over real HTTP (http.client on loopback): every status code, the spool,
the ingester, gzip bombs, slow and concurrent clients. Each test runs its own server."""

from __future__ import annotations

import gzip
import shutil
import socket
import threading

import orjson
import pytest

from conftest import SAMPLE, run_event, table_counts
from lineagectl import api
from serving import Running, event_lines, health, post, wait_for

SAMPLE_LOG = SAMPLE / "ecommerce.ndjson"


@pytest.fixture
def server(db):
    running = Running(db)
    yield running
    if running._thread.is_alive():
        running.stop()


def _counts(db: str) -> dict:
    """What ``stats`` says the store holds, without the file's size (which depends on how it was written)."""
    return {key: value for key, value in api.stats(db).payload.items() if key != "db_bytes"}


def _reference_stats(tmp_path) -> dict:
    reference = str(tmp_path / "reference.duckdb")
    api.ingest([str(SAMPLE_LOG)], reference)
    return _counts(reference)


def test_every_sample_event_posted_one_per_request_is_stored_as_ingest_stores_it(server, tmp_path):
    conn = server.connection()
    for line in event_lines(SAMPLE_LOG):
        status, headers, body = post(conn, line)
        assert (status, body, headers["content-length"]) == (201, b"", "0")
    conn.close()
    counts = server.stop()
    assert counts["events_spooled"] == len(event_lines(SAMPLE_LOG))
    assert _counts(server.db) == _reference_stats(tmp_path)
    spool = tmp_path / "lineage.duckdb.spool"
    assert not list(spool.glob("*.ndjson")) and not list((spool / "rejected").iterdir())


def test_gzip_bodies_and_json_arrays_are_accepted(server, tmp_path):
    lines = event_lines(SAMPLE_LOG)
    conn = server.connection()
    status, _, _ = post(conn, gzip.compress(lines[0]), headers={"Content-Encoding": "gzip"})
    assert status == 201
    array = b"[" + b",".join(lines[1:]) + b"]"
    assert post(conn, gzip.compress(array), headers={"Content-Encoding": "gzip"})[0] == 201
    server.stop()
    assert _counts(server.db) == _reference_stats(tmp_path)


def test_a_gzip_bomb_hits_the_cap_without_being_expanded(db, tmp_path):
    running = Running(db, max_body="1MiB")
    bomb = gzip.compress(b"[" + b" " * (64 << 20) + b"]", 9)  # 64 MiB of JSON in ~64 KiB
    assert len(bomb) < 1 << 20
    status, headers, body = post(running.connection(), bomb, headers={"Content-Encoding": "gzip"})
    assert status == 413 and "retry-after" not in headers
    assert "decompressed body is over 1048576 bytes" in orjson.loads(body)["error"]
    assert running.stop()["events_spooled"] == 0


def test_a_body_over_the_cap_is_refused_before_it_is_read(db):
    running = Running(db, max_body="4KiB")
    event = run_event("r1", outputs=[("s3://bucket", "x" * 5000)])
    status, headers, body = post(running.connection(), orjson.dumps(event))
    assert status == 413 and "retry-after" not in headers and headers.get("connection") == "close"
    assert orjson.loads(body) == {"error": "body is over 4096 bytes"}
    assert running.stop()["events_spooled"] == 0


@pytest.mark.parametrize("headers, why", [
    ({"Content-Type": "text/plain"}, "Content-Type must be application/json, not text/plain"),
    ({"Content-Type": "application/x-www-form-urlencoded"}, "not application/x-www-form-urlencoded"),
    ({"Content-Encoding": "br"}, "Content-Encoding br is not supported"),
])
def test_other_content_types_and_encodings_are_415(server, headers, why):
    status, _, body = post(server.connection(), orjson.dumps(run_event("r1")), headers=headers)
    assert status == 415 and why in orjson.loads(body)["error"]


@pytest.mark.parametrize("body, reason", [
    (b'{"eventTime": "2026-11-20T02:00:00Z", "run": {"runId"', "invalid JSON"),
    (orjson.dumps({"eventTime": "2026-11-20T02:00:00Z", "run": {}, "job": {"namespace": "a", "name": "b"}}),
     "RunEvent without run.runId"),
    (orjson.dumps({**run_event("r1"), "job": {"namespace": "a"}}), "job.name is missing or not a string"),
    (orjson.dumps({**run_event("r1"), "eventTime": "2999-01-01T00:00:00Z"}), "beyond the accepted future"),
    (b'{"hello": "world"}', "not an OpenLineage event: no run, job or dataset"),
])
def test_unparsable_or_unidentified_events_are_400_with_ingests_reason(server, body, reason):
    status, _, answer = post(server.connection(), body)
    assert status == 400 and reason in orjson.loads(answer)["error"]
    assert server.stop()["events_spooled"] == 0


def test_an_event_with_a_broken_facet_is_accepted_and_stored_without_it(server):
    event = run_event("r1", outputs=[("pg", "mart.a", {"columnLineage": {"fields": None}})])
    assert post(server.connection(), orjson.dumps(event))[0] == 201
    server.stop()
    assert api.stats(server.db).payload["runs"] == 1
    assert list(api.export(server.db)) == [orjson.dumps(event).decode()]
    assert any("outputs[0].facets.columnLineage: 'fields' must be an object: facet ignored" in line
               for line in server.lines), server.lines


def test_an_array_with_one_bad_event_is_refused_whole_on_the_lineage_endpoint(server):
    events = [run_event("r1"), {"eventTime": "2026-11-20T02:00:00Z"}, run_event("r2")]
    status, _, body = post(server.connection(), orjson.dumps(events))
    assert status == 400 and orjson.loads(body)["error"].startswith("event #2: ")
    assert server.stop()["events_spooled"] == 0


def test_the_batch_endpoint_stores_what_it_can_and_says_what_it_could_not(server):
    events = [run_event("r1", outputs=[("pg", "a")]), {"run": {"runId": "x"}}, run_event("r2"), "text"]
    status, _, body = post(server.connection(), orjson.dumps(events), path="/api/v1/lineage/batch")
    assert status == 200
    assert orjson.loads(body) == {
        "status": "partial_success",
        "summary": {"received": 4, "successful": 2, "failed": 2, "retriable": 0, "non_retriable": 2},
        "failed_events": [{"index": 1, "reason": "missing eventTime", "retriable": False},
                          {"index": 3, "reason": "not a JSON object but str", "retriable": False}]}
    server.stop()
    assert table_counts(server.db)["events"] == 2


def test_a_missing_or_wrong_token_is_401_and_the_right_one_is_accepted(db):
    running = Running(db, token="s3cret-token")
    event = orjson.dumps(run_event("r1"))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret-token"}):
        status, answer_headers, _ = post(running.connection(), event, headers=headers)
        assert status == 401 and answer_headers["www-authenticate"].startswith("Bearer")
    assert post(running.connection(), event, headers={"Authorization": "Bearer s3cret-token"})[0] == 201
    assert running.stop() == {"events_spooled": 1, "events_stored": 1}


def test_an_unwritable_spool_is_503_with_retry_after(server, tmp_path):
    shutil.rmtree(tmp_path / "lineage.duckdb.spool")
    status, headers, body = post(server.connection(), orjson.dumps(run_event("r1")))
    assert status == 503 and headers["retry-after"] == "5"
    assert "the spool cannot be written" in orjson.loads(body)["error"]
    (tmp_path / "lineage.duckdb.spool").mkdir()  # the disk is back: the next request is stored
    assert post(server.connection(), orjson.dumps(run_event("r2")))[0] == 201
    assert server.stop()["events_stored"] == 1


def test_unknown_paths_are_404_and_health_answers(server):
    conn = server.connection()
    assert post(conn, b"{}", path="/api/v2/lineage")[0] == 404
    assert health(server)["status"] == "ok"


def test_concurrent_producers_lose_nothing(server):
    def produce(worker: int) -> None:
        conn = server.connection()
        for i in range(25):
            assert post(conn, orjson.dumps(run_event(f"w{worker}-r{i}")))[0] == 201
        conn.close()

    threads = [threading.Thread(target=produce, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert server.stop() == {"events_spooled": 200, "events_stored": 200}
    assert table_counts(server.db)["runs"] == 200


def test_a_slow_client_is_cut_off_while_others_are_served(db):
    running = Running(db, socket_timeout=0.5)
    slow = socket.create_connection(("127.0.0.1", running.port), timeout=10)
    slow.sendall(b"POST /api/v1/lineage HTTP/1.1\r\nContent-Length: 100\r\n")  # and then nothing
    assert post(running.connection(), orjson.dumps(run_event("r1")))[0] == 201
    assert slow.recv(1024) == b""  # the server closed it after its socket timeout
    slow.close()
    running.stop()


def test_queries_answer_between_ingests_while_the_server_runs(db):
    running = Running(db, ingest_every="1s")
    event = run_event("r1", inputs=[("pg", "raw.orders")], outputs=[("pg", "mart.orders")])
    assert post(running.connection(), orjson.dumps(event))[0] == 201
    assert wait_for(lambda: health(running)["events_stored"] == 1)
    answer = api.impact("raw.orders", db).payload  # read while the server is up and receiving
    assert [d["name"] for d in answer["datasets"]] == ["mart.orders"]
    assert post(running.connection(), orjson.dumps(run_event("r2")))[0] == 201
    running.stop()
    assert table_counts(db)["events"] == 2


def test_a_spool_left_by_a_crash_is_stored_at_start_and_a_replay_duplicates_nothing(db, tmp_path):
    api.ingest([str(SAMPLE_LOG)], db)
    before = table_counts(db)
    spool = tmp_path / "lineage.duckdb.spool"
    spool.mkdir()
    # As a server killed after its ingest committed but before it deleted the file leaves it.
    (spool / "active.ndjson").write_bytes(SAMPLE_LOG.read_bytes())
    running = Running(db)
    assert running.stop()["events_stored"] == 0
    assert table_counts(db) == before
    assert not (spool / "active.ndjson").exists() and not list(spool.glob("ready-*"))


def test_a_line_torn_by_a_crash_is_kept_aside_and_the_rest_stored(db, tmp_path):
    spool = tmp_path / "lineage.duckdb.spool"
    spool.mkdir()
    torn = orjson.dumps(run_event("r2"))[:40]  # never acknowledged: the write was cut
    (spool / "active.ndjson").write_bytes(orjson.dumps(run_event("r1")) + b"\n" + torn)
    running = Running(db)
    running.stop()
    assert table_counts(db)["events"] == 1
    kept = list((spool / "rejected").iterdir())
    assert len(kept) == 1 and kept[0].read_bytes().endswith(torn)
    assert any("spool line rejected" in line and ":2: invalid JSON" in line for line in running.lines)


def test_fsync_always_answers_after_the_disk_has_the_event(db):
    running = Running(db, fsync="always")
    assert post(running.connection(), orjson.dumps(run_event("r1")))[0] == 201
    assert running.stop() == {"events_spooled": 1, "events_stored": 1}


def test_a_kept_alive_connection_is_refused_with_503_once_stopping_began(server):
    conn = server.connection()
    assert post(conn, orjson.dumps(run_event("r1")))[0] == 201
    server.stop_event.set()
    assert wait_for(lambda: server.counts is not None)
    status, headers, _ = post(conn, orjson.dumps(run_event("r2")))
    assert status == 503 and headers["retry-after"] == "5"
    assert server.stop() == {"events_spooled": 1, "events_stored": 1}


def _get(server: Running, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    conn = server.connection(timeout=60)
    conn.request("GET", path, headers=headers or {})
    answer = conn.getresponse()
    return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()


def test_the_explorer_page_is_served_at_the_root_behind_the_token(db):
    running = Running(db, token="page-token")
    status, _, body = _get(running, "/", {"Authorization": "Bearer page-token"})
    assert status == 200 and b"No events are stored yet" in body  # before the first ingest
    conn = running.connection()
    for line in event_lines(SAMPLE_LOG):
        assert post(conn, line, headers={"Authorization": "Bearer page-token"})[0] == 201
    running.stop()
    running = Running(db, token="page-token")
    assert _get(running, "/")[0] == 401
    assert _get(running, "/api/v1/health")[0] == 200  # probes need no token: counts only
    status, headers, body = _get(running, "/", {"Authorization": "Bearer page-token"})
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert body.lower().startswith(b"<!doctype html") and b"user_master" in body
    assert headers["x-content-type-options"] == "nosniff"
    running.stop()


def test_lineage_answers_in_marquezs_shape(db):
    api.ingest([str(SAMPLE_LOG)], db)
    running = Running(db)
    node = "dataset:postgres://db.eu.acme.internal:5432:shop.public.user_master"  # a namespace with colons
    status, _, body = _get(running, f"/api/v1/lineage?nodeId={node}&depth=1")
    assert status == 200
    graph = {n["id"]: n for n in orjson.loads(body)["graph"]}
    root = graph[node]
    assert root["type"] == "DATASET" and root["data"] == {"namespace": "postgres://db.eu.acme.internal:5432",
                                                          "name": "shop.public.user_master"}
    assert root["outEdges"] and all(e["origin"] == node and graph[e["destination"]]["type"] == "JOB"
                                    for e in root["outEdges"])
    for edge in (e for n in graph.values() for e in n["outEdges"]):
        assert edge in graph[edge["destination"]]["inEdges"]
    assert _get(running, "/api/v1/lineage?nodeId=dataset:nowhere:nothing")[0] == 404
    assert _get(running, "/api/v1/lineage?nodeId=table:x:y")[0] == 400
    running.stop()
