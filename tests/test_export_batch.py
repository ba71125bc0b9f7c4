"""``export --to URL`` in batches (the spec's ``POST /api/v1/lineage/batch``) with a resume checkpoint:
into a real ``lineagectl serve`` (batches, per-event refusals from its summary), and into scripted
receivers where a behaviour cannot be had from serve (no batch endpoint, retriable elements, a
backend failing mid-way)."""

from __future__ import annotations

import http.server
import json
import threading

import orjson
import pytest

from conftest import SAMPLE, run_event, write_ndjson
from lineagectl import api
from lineagectl.operations import replay as module
from test_export import _answers
from test_serve_cli import Process

SAMPLE_LOG = str(SAMPLE / "ecommerce.ndjson")


class Receiver:
    """A scripted OpenLineage receiver on 127.0.0.1: records every event it accepted, in order."""

    def __init__(self, batch: bool = True, fail_from: int | None = None,
                 batch_answers: list[dict] | None = None) -> None:
        self.batch, self.fail_from = batch, fail_from
        self.batch_answers = batch_answers or []
        self.received: list[dict] = []
        self.requests: list[str] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(self.path)
                status, answer = receiver.answer(self.path, orjson.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str, value: object) -> tuple[int, bytes]:
        if self.fail_from is not None and len(self.requests) >= self.fail_from:
            return 503, b""
        if path == "/api/v1/lineage":
            self.received.append(value)  # type: ignore[arg-type]
            return 201, b""
        if path != "/api/v1/lineage/batch" or not self.batch:
            return 404, b'{"code":404}'
        assert isinstance(value, list)
        scripted = self.batch_answers.pop(0) if self.batch_answers else {"failed_events": []}
        failed = {f["index"] for f in scripted["failed_events"]}
        self.received += [event for index, event in enumerate(value) if index not in failed]
        return 200, orjson.dumps({"status": "partial_success" if failed else "success", **scripted})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _stored(db: str) -> list[dict]:
    return [json.loads(line) for line in api.export(db)]


def test_batches_into_lineagectl_serve_rebuild_the_same_store(cli, tmp_path):
    source, target = str(tmp_path / "source.duckdb"), str(tmp_path / "target.duckdb")
    api.ingest([SAMPLE_LOG], source)
    server = Process(target)
    try:
        sent = cli("export", "--db", source, "--to", f"http://127.0.0.1:{server.port}", "--batch-size", "50")
    finally:
        status, log = server.end()
    assert sent.exit_code == 0 and status == 0, sent.stderr + log
    stats, impacts = _answers(source)
    assert f"sent {stats['events']:,} events to http://127.0.0.1:{server.port} in batches, 0 rejected " \
           f"({-(-stats['events'] // 50)} requests)" in sent.stderr
    assert log.count("POST /api/v1/lineage/batch 200") == -(-stats["events"] // 50)
    assert _answers(target) == (stats, impacts)


def test_elements_serve_refuses_are_reported_by_number_and_the_rest_stored(cli, tmp_path):
    source, target = str(tmp_path / "source.duckdb"), str(tmp_path / "target.duckdb")
    events = [run_event(f"r{i}", time=f"2026-11-20T0{i}:00:00Z") for i in range(5)]
    events.insert(2, run_event("future", time="2099-01-01T00:00:00Z"))  # stored with --max-future none
    api.ingest([write_ndjson(tmp_path / "in.ndjson", events)], source, max_future=None)
    server = Process(target)
    try:
        sent = cli("export", "--db", source, "--to", f"http://127.0.0.1:{server.port}", "--batch-size", "4")
    finally:
        server.end()
    assert sent.exit_code == 1
    # Oldest first: the 2099 event is the last of six, refused by serve's check of the future.
    assert "event #6: refused in its batch: eventTime 2099-01-01T00:00:00Z is beyond the accepted future" in sent.stderr
    assert "sent 5 events" in sent.stderr and "1 rejected" in sent.stderr
    assert sorted(e["run"]["runId"] for e in _stored(target)) == [f"r{i}" for i in range(5)]


def test_a_receiver_without_the_batch_endpoint_gets_one_event_per_request(cli, sample_db):
    receiver = Receiver(batch=False)
    try:
        sent = cli("export", "--db", sample_db, "--to", receiver.url)
    finally:
        receiver.close()
    assert sent.exit_code == 0, sent.stderr
    assert "one per request (the receiver has no /api/v1/lineage/batch)" in sent.stderr
    assert receiver.requests[0] == "/api/v1/lineage/batch"  # tried once, then never again
    assert receiver.requests[1:] == ["/api/v1/lineage"] * len(receiver.received)
    assert receiver.received == _stored(sample_db)


def test_retriable_elements_are_sent_again_and_only_they(sample_db):
    refusal = {"failed_events": [{"index": 1, "reason": "busy", "retriable": True},
                                 {"index": 3, "reason": "bad facet", "retriable": False}]}
    receiver = Receiver(batch_answers=[refusal])
    slept: list[float] = []
    events = list(api.export(sample_db))[:6]
    try:
        summary = module.replay([(None, e) for e in events], receiver.url, batch_size=6, sleep=slept.append)
    finally:
        receiver.close()
    assert receiver.requests == ["/api/v1/lineage/batch"] * 2 and slept == [0.5]
    expected = [json.loads(events[i]) for i in (0, 2, 4, 5, 1)]  # the retriable one came again, alone
    assert receiver.received == expected
    assert (summary["sent"], summary["rejected"]) == (5, 1)
    assert summary["rejects"] == [{"event": 4, "status": None, "reason": "bad facet"}]


def test_resume_continues_after_the_last_acknowledged_event(cli, sample_db, tmp_path):
    checkpoint = tmp_path / "replay.checkpoint"
    receiver = Receiver(fail_from=3)  # two batches of 20 are taken, then 503 for ever
    try:
        stopped = cli("export", "--db", sample_db, "--to", receiver.url, "--batch-size", "20",
                      "--retries", "0", "--resume", checkpoint)
        assert stopped.exit_code == 2 and "gave up after 1 attempts (HTTP 503); 40 events were sent" in stopped.stderr
        assert f"rerun with --resume {checkpoint} to continue" in stopped.stderr
        saved = json.loads(checkpoint.read_text())
        assert saved["sent"] == 40 and saved["replay"]["to"] == receiver.url
        receiver.fail_from = None
        resumed = cli("export", "--db", sample_db, "--to", receiver.url, "--batch-size", "20", "--resume", checkpoint)
        assert resumed.exit_code == 0, resumed.stderr
        everything = _stored(sample_db)
        assert f"sent {len(everything) - 40:,} events" in resumed.stderr
        assert f"{len(everything):,} sent and 0 rejected over every run" in resumed.stderr
        assert receiver.received == everything  # each event once, in order, across both runs
        again = cli("export", "--db", sample_db, "--to", receiver.url, "--resume", checkpoint)
        assert again.exit_code == 0 and "sent 0 events" in again.stderr  # nothing left to send
        other = cli("export", "--db", sample_db, "--to", receiver.url, "--job", "x", "--resume", checkpoint)
        assert other.exit_code == 2 and "made for another replay (a different job)" in other.stderr
    finally:
        receiver.close()
    alone = cli("export", "--db", sample_db, "--resume", checkpoint)
    assert alone.exit_code == 2 and "--resume is a checkpoint of --to" in alone.stderr


@pytest.mark.parametrize("text", ["not json", '{"version": 1}'])
def test_a_file_that_is_no_checkpoint_is_refused(cli, sample_db, tmp_path, text):
    checkpoint = tmp_path / "other.json"
    checkpoint.write_text(text)
    refused = cli("export", "--db", sample_db, "--to", "http://127.0.0.1:9", "--resume", checkpoint)
    assert refused.exit_code == 2 and "not a checkpoint of export --to" in refused.stderr
    assert checkpoint.read_text() == text  # left as it was
