"""``export``: the stored events as NDJSON; ``export`` then ``ingest`` into a fresh store rebuilds
the same store (same ``stats``, same ``impact`` answer for every dataset), on the sample and on a
real OpenLineage log of the corpus (Marquez's demo seed)."""

from __future__ import annotations

import json

import duckdb
import pytest

from conftest import SAMPLE, require_corpus, run_event, stored_events, write_ndjson
from lineagectl import api
from lineagectl.errors import InputError


def _answers(db: str) -> tuple[dict, dict]:
    """The store's stats (without its file size) and the downstream impact of every dataset."""
    stats = {k: v for k, v in api.stats(db).payload.items() if k != "db_bytes"}
    with duckdb.connect(db, read_only=True) as con:
        datasets = con.execute("SELECT namespace, name FROM datasets ORDER BY ALL").fetchall()
    impacts = {f"{ns}/{name}": json.dumps(api.impact(name, db, namespace=ns).payload, default=str, sort_keys=True)
               for ns, name in datasets}
    return stats, impacts


def _round_trip(cli, sources: list[str], tmp_path) -> tuple[str, str, str]:
    first, second, log = (str(tmp_path / name) for name in ("first.duckdb", "second.duckdb", "export.ndjson"))
    api.ingest(sources, first)
    exported = cli("export", "--db", first, "-o", log)
    assert exported.exit_code == 0 and exported.stdout == "", exported.stderr
    api.ingest([log], second)
    return first, second, log


def test_export_then_ingest_rebuilds_the_sample(cli, tmp_path):
    first, second, log = _round_trip(cli, [str(SAMPLE / "ecommerce.ndjson")], tmp_path)
    stats, impacts = _answers(first)
    assert stats["events"] > 100 and len(impacts) > 10
    assert _answers(second) == (stats, impacts)
    with open(log, encoding="utf-8") as stream:
        lines = stream.read().splitlines()
    assert len(lines) == stats["events"]
    times = [json.loads(line)["eventTime"] for line in lines]
    assert times == sorted(times)  # same-format UTC stamps: text order is time order


def test_export_then_ingest_rebuilds_a_real_corpus_log(cli, tmp_path):
    log = require_corpus() / "openlineage" / "marquez-seed" / "metadata.ndjson"
    first, second, _ = _round_trip(cli, [str(log)], tmp_path)
    stats, impacts = _answers(first)
    assert stats["events"] == 26 and impacts
    assert _answers(second) == (stats, impacts)
    # Each event exactly as stored: the same set of minified payloads in both stores.
    assert sorted(stored_events(first)) == sorted(stored_events(second))


def test_filters_and_stdout(cli, db, tmp_path):
    events = [
        run_event("r1", job="etl.a", time="2026-11-20T02:00:00Z", outputs=[("pg", "t1")]),
        run_event("r2", job="etl.b", time="2026-11-19T02:00:00Z", outputs=[("pg", "t2")]),
        run_event("r3", job="etl.a", time="2026-11-21T02:00:00Z", job_ns="spark", outputs=[("pg", "t3")]),
    ]
    api.ingest([write_ndjson(tmp_path / "in.ndjson", events)], db)

    def jobs(*args: str) -> list[tuple[str, str]]:
        result = cli("export", "--db", db, *args)
        assert result.exit_code == 0, result.stderr
        return [(e["job"]["namespace"], e["eventTime"][:10])
                for e in map(json.loads, result.stdout.splitlines())]

    assert jobs() == [("airflow://acme", "2026-11-19"), ("airflow://acme", "2026-11-20"), ("spark", "2026-11-21")]
    assert jobs("--job", "etl.a") == [("airflow://acme", "2026-11-20"), ("spark", "2026-11-21")]
    assert jobs("--job", "etl.a", "--namespace", "spark") == [("spark", "2026-11-21")]
    assert jobs("--since", "2026-11-20T00:00:00Z") == [("airflow://acme", "2026-11-20"), ("spark", "2026-11-21")]
    assert jobs("--job", "nothing") == []


def test_the_library_streams_and_a_bad_since_is_a_usage_error(cli, sample_db):
    events = api.export(sample_db)
    assert not isinstance(events, list | tuple)
    assert json.loads(next(iter(events)))["eventType"]
    events.close()
    with pytest.raises(InputError, match="--since"):
        api.export(sample_db, since="yesterdayish")
    bad = cli("export", "--db", sample_db, "--since", "yesterdayish")
    assert bad.exit_code == 2 and "--since" in bad.stderr and "Traceback" not in bad.stderr


def test_to_replays_every_event_into_lineagectl_serve(cli, tmp_path):
    """``export --to`` against a real ``lineagectl serve`` on 127.0.0.1 (port 0) with a token:
    the receiving store ends with the same stats and impact answers."""
    from test_serve_cli import Process

    source, target = str(tmp_path / "source.duckdb"), str(tmp_path / "target.duckdb")
    api.ingest([str(SAMPLE / "ecommerce.ndjson")], source)
    token = tmp_path / "token"
    token.write_text("s3cret-token\n", encoding="utf-8")
    server = Process(target, "--token-file", str(token))
    try:
        assert server.port, server.stderr
        url = f"http://127.0.0.1:{server.port}"
        bad = tmp_path / "bad-token"
        bad.write_text("wrong\n", encoding="utf-8")
        wrong = cli("export", "--db", source, "--to", url, "--token-file", str(bad), "--job", "analytics")
        assert wrong.exit_code == 1 and "HTTP 401" in wrong.stderr, wrong.stderr
        sent = cli("export", "--db", source, "--to", url, env={"LINEAGECTL_TOKEN": "s3cret-token"})
        assert sent.exit_code == 0, sent.stderr
    finally:
        status, log = server.end()
    assert status == 0, log
    stats, impacts = _answers(source)
    assert f"sent {stats['events']:,} events" in sent.stderr
    assert _answers(target) == (stats, impacts)


def test_to_retries_5xx_and_gives_up_bounded(monkeypatch):
    """A backend answering 503 then 201 gets the event; one that always fails ends in a usage
    error after the bounded retries (no real waiting: the sleep is recorded)."""
    import http.server
    import threading

    from lineagectl.operations import replay as module

    answers = [503, 429, 201, 500, 500, 500, 500, 500, 500]
    bodies: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(answers.pop(0))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    slept: list[float] = []
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        sent = module.replay([(None, '{"a":1}')], url, sleep=slept.append)
        assert (sent["sent"], sent["rejected"], sent["rejects"]) == (1, 0, [])
        assert bodies == [b'{"a":1}'] * 3 and slept == [0.5, 1.0]
        with pytest.raises(InputError, match="gave up after 6 attempts"):
            module.replay([(None, '{"b":2}')], url, sleep=slept.append)
        assert len(slept) == 2 + 5 and answers == []
    finally:
        server.shutdown()
        server.server_close()
