"""``lineagectl serve``'s read endpoints over real HTTP (http.client on loopback) against a real store
of the bundled sample: Marquez's shapes, percent-encoded names, 400/404, and ``/lineagectl/v1``
answering byte for byte what the command prints with ``-f json``."""

from __future__ import annotations

import threading
import time
from urllib.parse import urlencode

import orjson
import pytest

from conftest import SAMPLE, run_event
from lineagectl import api
from serving import Running, health, post, wait_for

POLICY = str(SAMPLE / "lineagectl.yaml")
PG_EU = "postgres://db.eu.acme.internal:5432"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    db = str(tmp_path_factory.mktemp("reads") / "lineage.duckdb")
    api.ingest([str(SAMPLE / "ecommerce.ndjson")], db)
    return db


@pytest.fixture(scope="module")
def server(store):
    running = Running(store, policy=POLICY)
    yield running
    running.stop()


def get(server: Running, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    conn = server.connection(timeout=60)
    conn.request("GET", path, headers=headers or {})
    answer = conn.getresponse()
    return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()


def get_json(server: Running, path: str, status: int = 200):
    got, headers, body = get(server, path)
    assert got == status, body
    assert headers["content-type"] == "application/json"
    return orjson.loads(body)


# --- lineagectl's own answers: exactly the command's -f json ---------------------------------------

@pytest.mark.parametrize(("endpoint", "params", "argv"), [
    ("impact", {"name": "user_master"}, ["impact", "user_master"]),
    ("impact", {"name": "user_master", "column": "email", "direct-only": "true", "depth": "3"},
     ["impact", "user_master", "--column", "email", "--direct-only", "--depth", "3"]),
    ("impact", {"name": "orders_enriched", "include-jobs": "1", "select": "type:model"},
     ["impact", "orders_enriched", "--include-jobs", "-s", "type:model"]),
    ("trace", {"name": "churn_model", "kind": "model"}, ["trace", "churn_model", "--kind", "model"]),
    ("trace", {"name": "audience.csv", "column": "email"}, ["trace", "audience.csv", "--column", "email"]),
    ("trace", {"name": "churn_model", "version": "2"}, ["trace", "churn_model", "--version", "2"]),
    ("erase", {"column": "user_id", "value": "42"}, ["erase", "--column", "user_id", "--value", "42"]),
    ("erase", {"tag": "pii"}, ["erase", "--tag", "pii"]),
    ("residency-check", {}, ["residency-check"]),
])
def test_lineagectl_answers_are_the_commands_json_byte_for_byte(server, store, cli, endpoint, params, argv):
    status, headers, body = get(server, f"/lineagectl/v1/{endpoint}?{urlencode(params)}")
    printed = cli("--db", store, "--policy", POLICY, *argv, "-f", "json")
    assert printed.exit_code in (0, 1), printed.output  # residency-check exits 1: the sample has a violation
    assert status == 200 and headers["content-type"] == "application/json"
    assert body.decode() == printed.stdout
    assert orjson.loads(body)  # and it is one JSON document


@pytest.mark.parametrize(("path", "status", "reason"), [
    ("/lineagectl/v1/impact?name=user_master&depth=0", 400, "--depth must be 1 or more"),
    ("/lineagectl/v1/impact?name=user_master&depth=two", 400, "--depth: 'two' is not a valid integer"),
    ("/lineagectl/v1/impact?name=user_master&kind=table", 400, "--kind: 'table' is not one of"),
    ("/lineagectl/v1/impact?name=user_master&direct-only=true", 400, "--direct-only applies to column lineage"),
    ("/lineagectl/v1/impact?name=user_master&colum=email", 400, "unknown parameter 'colum'"),
    ("/lineagectl/v1/impact?name=a&name=b", 400, "name is given 2 times"),
    ("/lineagectl/v1/impact", 400, "missing name="),
    ("/lineagectl/v1/trace", 400, "trace needs a NAME"),
    ("/lineagectl/v1/impact?name=no_such_table", 404, "no_such_table"),
    ("/lineagectl/v1/impact?name=user_master&column=nope", 404, "has no column 'nope'"),
    ("/lineagectl/v1/impact?name=user_master&as-of=yesterday-ish", 400, "--as-of"),
    ("/lineagectl/v1/frobnicate", 404, "no such endpoint"),
])
def test_bad_parameters_are_400_and_unknown_names_404_with_the_commands_reason(server, path, status, reason):
    answer = get_json(server, path, status)
    assert reason in answer["error"], answer


def test_the_cli_gives_the_same_reasons(store, cli):
    printed = cli("--db", store, "impact", "user_master", "--depth", "0", "-f", "json")
    assert printed.exit_code == 2 and "--depth must be 1 or more" in printed.stderr
    printed = cli("--db", store, "impact", "user_master", "--column", "nope", "-f", "json")
    assert printed.exit_code == 2 and "has no column 'nope'" in printed.stderr


def test_reads_are_behind_the_token(store):
    running = Running(store, token="read-token")
    try:
        assert get(running, "/lineagectl/v1/impact?name=user_master")[0] == 401
        assert get(running, "/api/v1/namespaces")[0] == 401
        status, _, _ = get(running, "/lineagectl/v1/impact?name=user_master",
                           {"Authorization": "Bearer read-token"})
        assert status == 200
    finally:
        running.stop()


def test_reads_answer_while_the_ingester_writes(db):
    """Reads and the ingester take turns in one process (DuckDB refuses a read-only connection beside
    a read-write one there): every read during steady ingests is answered 200, every event stored."""
    api.ingest([str(SAMPLE / "ecommerce.ndjson")], db)
    running = Running(db, ingest_every="1s")
    statuses: list[int] = []
    done = threading.Event()

    def producer() -> None:
        conn = running.connection()
        for i in range(200):  # over ~4 s: several ingests while the reads go on
            event = run_event(f"r{i}", inputs=[("pg", "raw.x")], outputs=[("pg", f"mart.x{i % 7}")])
            assert post(conn, orjson.dumps(event))[0] == 201
            time.sleep(0.02)
        done.set()

    thread = threading.Thread(target=producer)
    thread.start()
    while not done.is_set() or len(statuses) < 20:
        statuses.append(get(running, "/lineagectl/v1/impact?name=user_master")[0])
    thread.join()
    assert wait_for(lambda: health(running)["events_stored"] == 200)
    assert health(running)["last_ingest"] is not None
    running.stop()
    assert set(statuses) == {200}, statuses
    assert not any("postponed" in line for line in running.lines), running.lines
